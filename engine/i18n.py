"""Marks the engine's Chinese names that people read (rule titles, feed names) for translation.

The engine never imports Django; `gettext_noop` is one of the keywords Django's `makemessages`
extracts, so a marked string reaches the catalogue and the operational app translates it where
it is shown (`gettext(rule.title)`). The engine itself keeps and compares the Chinese text.
"""

from __future__ import annotations


def gettext_noop(message: str) -> str:
    return message
