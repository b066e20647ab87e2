"""The log-in page when django-axes refuses a log-in (``AXES_LOCKOUT_CALLABLE``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render


def login_locked_out(request, original_response=None, credentials=None):
    """The log-in form again, with 429 and a message saying why and for how long.

    The username stays filled in; the password is never checked while the lock lasts (the
    axes backend refuses before any backend looks at it), so guessing on gains nothing.
    """
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    context = {
        "form": form,
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "locked_out": True,
        "cooloff_minutes": minutes,
    }
    return render(request, "registration/login.html", context, status=429)
