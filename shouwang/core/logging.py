"""A logging filter that masks anything shaped like an ID number before it is written."""

from __future__ import annotations

import logging
import re

from engine.ids import mask

# 18-character numbers (last may be X) and 15-digit first-generation ones, not inside longer digit runs.
_ID_LIKE = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")


def mask_id_like(text: str) -> str:
    return _ID_LIKE.sub(lambda m: mask(m.group(0)), text)


class MaskIDNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_id_like(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_text:
            record.exc_text = mask_id_like(record.exc_text)
        return True
