"""Login: Django's own view, plus the demo accounts hint when the demo is running."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.utils.decorators import method_decorator


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        hint = settings.DATA_DIR / "demo-accounts.txt"
        # Only the embedded demo writes this file; production never shows a hint.
        if getattr(settings, "SHOUWANG_SHOW_DEMO_HINT", False) and hint.exists():
            context["demo_accounts_hint"] = hint.read_text(encoding="utf-8")
        return context
