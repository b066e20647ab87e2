"""Shared by the apps' HTML forms: a service's ValidationError shown on the form that caused it,
or as error messages on the page a form redirects to."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

# Keys under which a service's errors are about no field in particular.
_NO_FIELD = {"", NON_FIELD_ERRORS, "non_field_errors"}


def form_errors_from(
    form: forms.Form,
    exc: ValidationError,
    *,
    aliases: dict[str, str] | None = None,
    line_numbers: bool = False,
) -> None:
    """Put a service's errors on ``form``: each key on the field of that name (``aliases``
    renames service keys first), anything else on the form as a whole.

    Services name entries of a list field with dotted keys (``categories.2.key``); they go to
    the field (``categories``), and with ``line_numbers`` the message says which line of a
    one-entry-per-line text field it is about ("Line 3: ...").
    """
    aliases = aliases or {}
    pairs = exc.message_dict.items() if hasattr(exc, "error_dict") else [("", exc.messages)]
    for name, msgs in pairs:
        field, _dot, rest = aliases.get(name, name).partition(".")
        index = rest.partition(".")[0]
        for msg in msgs:
            text = msg
            if line_numbers and index.isdigit():
                text = _("Line %(n)d: %(msg)s") % {"n": int(index) + 1, "msg": msg}
            form.add_error(field if field in form.fields else None, text)


def flash_errors(request: HttpRequest, exc: ValidationError, *, field_names: bool = False) -> None:
    """Show a service's errors as error messages, one per message, on the next page shown.

    With ``field_names`` each message starts with the key it is about ("ratings.arousal:
    Must be between 1 and 7."), for pages whose forms do not show errors by their fields.
    """
    pairs = exc.message_dict.items() if hasattr(exc, "error_dict") else [("", exc.messages)]
    for name, msgs in pairs:
        label = f"{name}: " if field_names and name not in _NO_FIELD else ""
        for msg in msgs:
            messages.error(request, f"{label}{msg}")
