"""Masking anything shaped like an ID number before it is written to a log.

Two layers: `MaskIDNumbersFilter` on every handler the settings configure (it also masks
tracebacks), and a log-record factory (`install_record_masking`, from CoreConfig.ready) that
masks each record's message when it is made — for the handlers libraries attach to loggers of
their own, outside the settings (PySpark writes its SQL error context to stderr that way).
"""

from __future__ import annotations

import logging
import re

from engine.ids import mask

# 18-character numbers (last may be X) and 15-digit first-generation ones, not inside longer digit runs.
_ID_LIKE = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")

_formatter = logging.Formatter()


def mask_id_like(text: str) -> str:
    return _ID_LIKE.sub(lambda m: mask(m.group(0)), text)


def _mask_message(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return  # a malformed call: logging reports it when the record is written
    masked = mask_id_like(message)
    if masked != message:
        record.msg, record.args = masked, None


def install_record_masking() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_id_numbers", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _mask_message(record)
        return record

    factory.masks_id_numbers = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class MaskIDNumbersFilter(logging.Filter):
    """Attach to handlers. Masks the message, the traceback and the stack of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_message(record)
        # Formatters render the traceback only after the filters ran, and reuse `exc_text`
        # when it is set: render it here so that what they write is the masked text.
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_id_like(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_id_like(record.stack_info)
        return True
