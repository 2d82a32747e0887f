"""Chinese by default, English on request: the English catalogue is complete, and the switch works.

The source strings are Chinese and `shouwang/locale/en/LC_MESSAGES/django.po` gives the
English. A string added to a template or to Python without an English text fails here, named:
run `python manage.py makemessages -l en --no-obsolete`, translate what it adds (no fuzzy
guesses left), then `python manage.py compilemessages -l en` and commit the .po and the .mo.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from shouwang.registry.templatetags.registry_ui import short_region_name
from shouwang.testing.personas import PASSWORD, TOWNSHIP, first_village, make_household

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "shouwang" / "locale" / "en" / "LC_MESSAGES" / "django.po"
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff01-\uff5e]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


# -- reading a .po (polib is not a dependency; this is all the tests need) ------------------------


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (a list) and flags."""
    entries: list[dict] = []
    entry: dict = {}
    field: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry, field
        if "msgid" in entry and not entry.get("obsolete"):
            entries.append(entry)
        entry, field = {}, None

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            finish()
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert field is not None, line
            name, index = field
            if name == "msgstr":
                entry["msgstr"][index] += ast.literal_eval(line)
            else:
                entry[name] += ast.literal_eval(line)
        else:
            keyword, _, value = line.partition(" ")
            text = ast.literal_eval(value)
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if keyword == "msgstr" or match:
                index = int(match.group(1)) if match else 0
                entry.setdefault("msgstr", {})[index] = text
                field = ("msgstr", index)
            else:
                entry[keyword] = text
                field = (keyword, 0)
    finish()
    for e in entries:
        e["msgstr"] = [e["msgstr"][i] for i in sorted(e.get("msgstr", {}))]
        e.setdefault("flags", set())
    return [e for e in entries if e["msgid"]]  # the header has the empty msgid


def key(entry: dict) -> tuple[str | None, str, str | None]:
    return entry.get("msgctxt"), entry["msgid"], entry.get("msgid_plural")


def shown(entries: list[dict]) -> str:
    return "\n".join(
        f"  {e['msgid']!r}" + (f" (context {e['msgctxt']!r})" if e.get("msgctxt") else "") for e in entries
    )


# -- the committed catalogue ------------------------------------------------------------------------


def test_every_entry_of_the_english_catalogue_has_an_english_text():
    entries = read_po(CATALOGUE)
    assert len(entries) > 1000
    empty = [e for e in entries if not e["msgstr"] or not all(s.strip() for s in e["msgstr"])]
    assert not empty, f"{len(empty)} msgids have no English text in {CATALOGUE.name}:\n{shown(empty)}"


def test_no_entry_of_the_english_catalogue_is_a_fuzzy_guess():
    fuzzy = [e for e in read_po(CATALOGUE) if "fuzzy" in e["flags"]]
    assert not fuzzy, (
        f"{len(fuzzy)} entries are still marked fuzzy (check each guess, then drop the flag):\n{shown(fuzzy)}"
    )


def test_every_translation_keeps_the_placeholders_of_its_chinese():
    wrong = [
        e
        for e in read_po(CATALOGUE)
        for text in e["msgstr"]
        if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(e["msgid"]))
    ]
    assert not wrong, f"placeholders differ from the msgid:\n{shown(wrong)}"


def test_plural_entries_give_both_english_forms():
    plurals = [e for e in read_po(CATALOGUE) if e.get("msgid_plural") is not None]
    assert plurals
    assert all(len(e["msgstr"]) == 2 for e in plurals), shown([e for e in plurals if len(e["msgstr"]) != 2])


def test_the_compiled_catalogue_says_what_the_po_says():
    from gettext import GNUTranslations

    with CATALOGUE.with_suffix(".mo").open("rb") as f:
        compiled = GNUTranslations(f)

    def english(e: dict) -> list[str]:
        if e.get("msgid_plural") is not None:
            forms = [(1, 0), (2, 1)]
            if e.get("msgctxt"):
                return [compiled.npgettext(e["msgctxt"], e["msgid"], e["msgid_plural"], n) for n, _ in forms]
            return [compiled.ngettext(e["msgid"], e["msgid_plural"], n) for n, _ in forms]
        if e.get("msgctxt"):
            return [compiled.pgettext(e["msgctxt"], e["msgid"])]
        return [compiled.gettext(e["msgid"])]

    stale = [e for e in read_po(CATALOGUE) if english(e) != e["msgstr"]]
    assert not stale, (
        f"django.mo differs from django.po for {len(stale)} entries: run compilemessages -l en\n{shown(stale)}"
    )


def test_makemessages_finds_no_string_missing_from_the_committed_catalogue(tmp_path):
    """makemessages on a copy of the tree: every string it extracts is in the committed .po.

    Needs GNU gettext's xgettext: skipped without it on a developer's machine, never in CI
    (.ci/run installs gettext)."""
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("xgettext (GNU gettext) is missing in CI: .ci/run installs the gettext package")
        pytest.skip("xgettext (GNU gettext) is not installed: apt install gettext")
    for name in ("shouwang", "engine"):
        shutil.copytree(
            ROOT / name,
            tmp_path / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "*.po", "static", "tests"),
        )
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    (tmp_path / CATALOGUE.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shouwang.settings.test", "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "en", "--no-obsolete"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    extracted = {key(e): e for e in read_po(tmp_path / CATALOGUE.relative_to(ROOT))}
    committed = {key(e) for e in read_po(CATALOGUE)}
    missing = [e for k, e in sorted(extracted.items(), key=lambda kv: kv[0][1]) if k not in committed]
    assert not missing, (
        f"{len(missing)} strings marked for translation are not in {CATALOGUE.relative_to(ROOT)}; run "
        "`python manage.py makemessages -l en --no-obsolete`, translate them, then "
        f"`python manage.py compilemessages -l en`:\n{shown(missing)}"
    )


def test_the_engine_s_names_that_pages_show_have_an_english_text():
    """Rule titles, feed and import-template names and warning causes come from the engine, which
    keeps them in Chinese (and marks them with engine.i18n.gettext_noop); pages translate them."""
    from django.utils import translation

    from engine.schemas.feeds import FEED_SCHEMAS
    from engine.schemas.registry import REGISTRY_ACCOUNTS, REGISTRY_MEMBERS
    from engine.screening import ALL_RULES
    from engine.screening.rules import Cause

    names = [r.title for r in ALL_RULES] + [s.label for s in FEED_SCHEMAS.values()]
    names += [REGISTRY_MEMBERS.label, REGISTRY_ACCOUNTS.label, *(c.value for c in Cause)]
    with translation.override("en"):
        untranslated = [n for n in names if CJK.search(translation.gettext(n))]
    assert not untranslated, f"no English for: {untranslated} (mark them with gettext_noop, then makemessages)"


# -- switching the language -------------------------------------------------------------------------


def navigation(html: str, *data: str) -> str:
    """The page's navigation bar, less the language button offering 中文 and the user's own data
    (their region's name), which stay as they are in any language."""
    nav = re.search(r'<nav class="navbar.*?</nav>', html, re.S)
    assert nav is not None
    text = re.sub(r'<button[^>]*lang="zh-CN"[^>]*>.*?</button>', "", nav.group(0), flags=re.S)
    for value in data:
        text = text.replace(value, "")
    return text


def in_english(client, path: str):
    return client.post(reverse("set_language"), {"language": "en", "next": path}, follow=True)


@pytest.mark.django_db
def test_the_login_page_is_chinese_by_default_even_for_an_english_browser(client):
    html = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-CN">' in html
    assert "登录" in html


@pytest.mark.django_db
def test_the_login_page_switches_to_english_and_keeps_it(client):
    login_url = reverse("accounts:login")
    response = in_english(client, login_url)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == login_url
    assert '<html lang="en">' in html
    assert "Log in" in html and "Username" in html and "Password" in html
    assert not CJK.search(navigation(html)), navigation(html)
    footer = re.search(r"<footer.*?</footer>", html, re.S)
    assert footer is not None and not CJK.search(footer.group(0))
    # The choice is kept in the language cookie, for the next pages.
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Log in" in client.get(login_url).content.decode()


@pytest.mark.django_db
def test_a_village_cadre_reads_the_household_list_in_english_with_no_chinese_in_the_navigation(client, persona):
    village = first_village(TOWNSHIP)
    make_household(village)
    user = persona("village_cadre")
    assert client.login(username=user.username, password=PASSWORD)
    households = reverse("registry:household_list")
    assert "农户名册" in client.get(households).content.decode()  # Chinese first

    html = in_english(client, households).content.decode()
    assert '<html lang="en">' in html
    assert "Households" in html and "Village cadre" in html and "Log out" in html
    assert "农户名册" not in html
    nav = navigation(html, short_region_name(user.region.name))
    assert not CJK.search(nav), f"Chinese left in the English navigation: {CJK.findall(nav)}"
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None and not CJK.search(title.group(1)), title.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "core:home",
        "registry:member_search",
        "monitoring:inbox",
        "monitoring:case_list",
        "screening:warning_list",
        "exchange:review_list",
        "jobs:job_list",
    ],
)
def test_a_village_cadre_s_pages_have_an_english_navigation_and_title(client, persona, name):
    user = persona("village_cadre")
    assert client.login(username=user.username, password=PASSWORD)
    response = in_english(client, reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    nav = navigation(html, short_region_name(user.region.name))
    assert not CJK.search(nav), f"Chinese left in the English navigation: {CJK.findall(nav)}"
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None and not CJK.search(title.group(1)), title.group(1)


@pytest.mark.django_db
def test_switching_back_to_chinese_restores_the_chinese_page(client, persona):
    user = persona("village_cadre")
    assert client.login(username=user.username, password=PASSWORD)
    households = reverse("registry:household_list")
    in_english(client, households)
    html = client.post(reverse("set_language"), {"language": "zh-hans", "next": households}, follow=True)
    assert "农户名册" in html.content.decode()
    assert '<html lang="zh-CN">' in html.content.decode()
