"""Chinese first: the language is Chinese unless the user chose another one.

Django's LocaleMiddleware would follow the browser's Accept-Language; an official whose
browser happens to be set to English should still get the Chinese UI by default, and switch
to English explicitly (the choice is kept in the language cookie).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChosenLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
