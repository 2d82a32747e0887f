"""A logging filter that masks anything shaped like an ID number before it is written."""

from __future__ import annotations

import logging
import re

from engine.ids import mask

# 18-character numbers (last may be X) and 15-digit first-generation ones, not inside longer digit runs.
_ID_LIKE = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")

_formatter = logging.Formatter()


def mask_id_like(text: str) -> str:
    return _ID_LIKE.sub(lambda m: mask(m.group(0)), text)


class MaskIDNumbersFilter(logging.Filter):
    """Attach to handlers. Masks the message, the traceback and the stack of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_id_like(message)
        if masked != message:
            record.msg, record.args = masked, None
        # Formatters render the traceback only after the filters ran, and reuse `exc_text`
        # when it is set: render it here so that what they write is the masked text.
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_id_like(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_id_like(record.stack_info)
        return True
