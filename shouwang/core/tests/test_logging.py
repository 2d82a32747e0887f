"""No raw ID number reaches a log: every handler masks, Django's own loggers included."""

import datetime as dt
import io
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.log import configure_logging

from engine.ids import make_id_number
from shouwang.core.logging import MaskIDNumbersFilter, mask_id_like

NUMBER = make_id_number("522630", dt.date(1990, 1, 1), 5, "M")
OLD_NUMBER = NUMBER[:6] + NUMBER[8:17]  # the same person's 15-digit first-generation number


def test_an_id_number_in_a_log_message_is_masked():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "member %s failed", (NUMBER,), None)
    MaskIDNumbersFilter().filter(record)
    assert NUMBER not in record.getMessage()
    assert record.getMessage().startswith("member 5226")


def test_a_15_digit_number_is_masked_too():
    assert OLD_NUMBER not in mask_id_like(f"q={OLD_NUMBER}")


def test_longer_digit_runs_and_short_numbers_are_left_alone():
    assert mask_id_like("batch 12345") == "batch 12345"
    assert mask_id_like("x" + "1" * 25) == "x" + "1" * 25


def test_an_id_number_in_a_traceback_is_masked():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(MaskIDNumbersFilter())
    log = logging.getLogger("shouwang.tests.traceback")
    log.addHandler(handler)
    try:
        try:
            raise ValueError(f"no member with {NUMBER}")
        except ValueError:
            log.exception("lookup failed")
    finally:
        log.removeHandler(handler)
    assert "ValueError" in out.getvalue()
    assert NUMBER not in out.getvalue()


@pytest.fixture
def demo_logging():
    """The logging of the demo and production (the base settings) in place of the tests' own."""
    from shouwang.settings import base

    configure_logging(settings.LOGGING_CONFIG, base.LOGGING)
    yield
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


def configured_handlers() -> dict[str, list[logging.Handler]]:
    """The handlers of the root logger, Django's loggers and every logger the settings name."""
    from shouwang.settings import base

    names = {"django", "django.server", "django.request", "django.security", *base.LOGGING["loggers"]}
    loggers = {"root": logging.getLogger(), **{n: logging.getLogger(n) for n in names}}
    return {name: lg.handlers for name, lg in loggers.items() if lg.handlers}


def test_every_handler_the_settings_configure_masks_id_numbers(demo_logging):
    handlers = configured_handlers()
    assert {"root", "django.server"} <= set(handlers)  # runserver's access log is among them
    unmasked = {
        name: [
            type(h).__name__
            for h in hs
            if not any(isinstance(f, MaskIDNumbersFilter) for f in h.filters)
            and not type(h).__module__.startswith("_pytest")  # pytest's own capture
        ]
        for name, hs in handlers.items()
    }
    unmasked = {name: hs for name, hs in unmasked.items() if hs}
    assert not unmasked, unmasked


def test_a_librarys_own_handler_writes_masked_messages_too():
    """A library that attaches a handler of its own after the settings were applied (PySpark
    does, for its SQL error context) is outside the handler filters: records are masked when
    they are made."""
    out = io.StringIO()
    log = logging.getLogger("some.library")
    handler = logging.StreamHandler(out)
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("cannot cast %s to INT", NUMBER)
    finally:
        log.removeHandler(handler)
    assert "cannot cast 5226" in out.getvalue()
    assert NUMBER not in out.getvalue()


def test_djangos_request_and_server_loggers_write_masked(capsys, demo_logging):
    logging.getLogger("django.request").warning("Not Found: /registry/members/%s/", NUMBER)
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /registry/members/?q={NUMBER} HTTP/1.1", "302", "0")
    err = capsys.readouterr().err
    assert "/registry/members/" in err
    assert NUMBER not in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_full_id_number_in_a_url_leaves_no_plaintext_in_the_demo_servers_logs(tmp_path):
    """The real thing: `shouwang runserver` with the demo settings, its console and log file."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env |= {"SHOUWANG_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "shouwang.settings.dev"}
    cli = [sys.executable, "-m", "shouwang.cli"]
    subprocess.run([*cli, "migrate", "-v0"], env=env, check=True, timeout=300)
    port = free_port()
    console = tmp_path / "console.txt"
    with console.open("wb") as out:
        server = subprocess.Popen(
            [*cli, "runserver", "--noreload", f"127.0.0.1:{port}"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            urls = [
                f"{base}/registry/members/?q={NUMBER}",  # not signed in: sent to the login page
                f"{base}/accounts/login/?next=/registry/members/%3Fq%3D{NUMBER}",
                f"{base}/registry/members/?q={OLD_NUMBER}",
                f"{base}/no/such/page/{NUMBER}/",  # 404: logged by django.request as well
            ]
            # Wait for the server (slow to start on a loaded machine) before the requests.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"{base}/accounts/login/", timeout=5)  # noqa: S310
                    break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.2)
            for url in urls:
                for _attempt in range(100):
                    try:
                        urllib.request.urlopen(url, timeout=5)  # noqa: S310 (a local test server)
                        break
                    except urllib.error.HTTPError:
                        break
                    except urllib.error.URLError:
                        time.sleep(0.1)  # still starting
        finally:
            server.terminate()
            server.wait(timeout=30)
    logs = [console, *Path(tmp_path / "logs").glob("*.log*")]
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)
    assert "/registry/members/" in text and "/no/such/page/" in text  # the requests were logged
    assert NUMBER not in text and OLD_NUMBER not in text
