"""The one shape of an error that reaches a user: a code and a reason in Chinese and English."""

from __future__ import annotations


class BilingualError(ValueError):
    """`code` for programs; `reason_zh` / `reason_en` for people. Never carries a raw ID number."""

    def __init__(self, code: str, reason_zh: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.code = code
        self.reason_zh = reason_zh
        self.reason_en = reason_en
