"""Shared by the apps' HTML forms: a service's ValidationError shown on the form that caused it,
or as error messages on the page a form redirects to; a refused form shown again on its page
after a redirect (post/redirect/get)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.formsets import BaseFormSet
from django.forms.utils import ErrorDict, ErrorList
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
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


# --- post/redirect/get for refused forms -----------------------------------------------------
#
# A page that answered a refused POST with the form and its errors lives at an address that
# takes POST only (or would post again): reloading it asks to send the form again, and the
# language switch has nowhere to come back to. So a refused form is kept in the session and
# the browser is sent (303) to the page's GET address, with a token naming the kept form in
# the query string. That page shows the form again with the values typed and the errors, for
# as long as its address carries the token: after a reload, and after the language switch,
# which comes back to the same address. A form of a page that takes its own POST names the
# page's path as its action (``action="{{ request.path }}"``): posted to the address with the
# token and its fragment, the browser would carry the fragment on to the next page.

SESSION_KEY = "refused_forms"
QUERY_PARAMETER = "form"
# Refused forms a session keeps; the oldest goes first.
KEPT = 8
# A longer value is not kept (the session is no file store): the field comes back empty.
VALUE_MAX_CHARS = 100_000
# Nor more than this in all, per form: the largest values go first.
FORM_MAX_CHARS = 200_000
# Sent with each form and meaningless on the next page.
NOT_KEPT = frozenset({"csrfmiddlewaretoken", "idempotency_key"})

AnyForm = forms.BaseForm | BaseFormSet


def _forms_of(form: AnyForm) -> list[forms.BaseForm]:
    return list(form.forms) if isinstance(form, BaseFormSet) else [form]


def _messages(errors: ErrorDict | ErrorList) -> Any:
    if isinstance(errors, ErrorList):
        return [e["message"] for e in errors.get_json_data()]
    return {name: [e["message"] for e in msgs] for name, msgs in errors.get_json_data().items()}


def _values(form: AnyForm) -> dict[str, list[str]]:
    """What was sent to the form's own fields, less tokens, passwords and oversized values
    (files are never kept): anything else posted with it is not the form's to keep."""
    fields = _forms_of(form)
    if isinstance(form, BaseFormSet):
        fields = [*fields, form.management_form]
    owned: set[str] = set()
    secret: set[str] = set()
    for f in fields:
        for name, field in f.fields.items():
            (secret if isinstance(field.widget, forms.PasswordInput) else owned).add(
                f.add_prefix(name)
            )

    def own(name: str) -> bool:
        # A widget of several inputs (a MultiWidget) sends them as <name>_0, <name>_1...
        return name in owned or name.rpartition("_")[0] in owned

    data = form.data
    pairs = data.lists() if isinstance(data, QueryDict) else ((k, [v]) for k, v in data.items())
    kept = {
        name: [str(v) for v in values]
        for name, values in pairs
        if own(name) and name not in NOT_KEPT and name not in secret
    }
    size = {name: sum(len(v) for v in values) for name, values in kept.items()}
    total = 0
    for name in sorted(kept, key=size.__getitem__):
        total += size[name]
        if size[name] > VALUE_MAX_CHARS or total > FORM_MAX_CHARS:
            del kept[name]
    return kept


def form_refused(request: HttpRequest, form: AnyForm, *, key: str, to: str) -> HttpResponse:
    """Keep the refused ``form`` (a form or a formset, bound and with its errors) and send the
    browser to ``to`` (303 See Other), the GET page that shows it again through
    :func:`form_kept` with the same ``key``. ``to`` may carry a query and a fragment."""
    token = secrets.token_urlsafe(6)
    parts = urlsplit(to)
    entry: dict[str, Any] = {
        "key": key,
        "path": parts.path,
        "data": _values(form),
    }
    if isinstance(form, BaseFormSet):
        entry["errors"] = [_messages(f.errors) for f in form.forms]
        entry["non_form_errors"] = _messages(form.non_form_errors())
    else:
        entry["errors"] = _messages(form.errors)
    kept = dict(list(request.session.get(SESSION_KEY, {}).items())[-(KEPT - 1) :])
    kept[token] = entry
    request.session[SESSION_KEY] = kept
    query = "&".join(q for q in (parts.query, f"{QUERY_PARAMETER}={token}") if q)
    return HttpResponseRedirect(urlunsplit(("", "", parts.path, query, parts.fragment)), status=303)


def _put_back(form: forms.BaseForm, kept: dict[str, list[str]]) -> None:
    """Show the kept errors on ``form``, bound to the kept values. The form is checked again
    first, so that its own messages come in the language of this page; a service's message,
    and one about a value that was not kept (a file, a password), is shown as it was."""
    fresh = _messages(form.errors)
    form.errors.clear()
    for name, msgs in kept.items():
        field = form.fields.get(name)
        resent = name == NON_FIELD_ERRORS or form.add_prefix(name) in form.data
        again = fresh.get(name) if resent else None
        form.add_error(name if field is not None else None, again or msgs)


def form_kept[F: AnyForm](
    request: HttpRequest, key: str, form_class: Callable[..., F], **kwargs: Any
) -> F | None:
    """The form refused under ``key`` (:func:`form_refused`) when this page's address names
    it, bound to the values that were sent and with their errors; None otherwise. ``kwargs``
    go to ``form_class`` as for a new form (``prefix``, ``initial``...)."""
    token = request.GET.get(QUERY_PARAMETER, "")
    entry = request.session.get(SESSION_KEY, {}).get(token) if token else None
    if not entry or entry.get("key") != key or entry.get("path") != request.path:
        return None
    data = QueryDict(mutable=True)
    for name, values in entry["data"].items():
        data.setlist(name, values)
    form = form_class(data, **kwargs)
    if isinstance(form, BaseFormSet):
        form.is_valid()
        for i, each in enumerate(form.forms):
            _put_back(each, entry["errors"][i] if i < len(entry["errors"]) else {})
        non_form = form.non_form_errors()
        fresh = _messages(non_form)
        kept = entry.get("non_form_errors", [])
        non_form.clear()
        non_form.extend((fresh or kept) if kept else [])
    else:
        _put_back(form, entry["errors"])
    return form


def form_for_page[F: AnyForm](
    request: HttpRequest, key: str, form_class: Callable[..., F], **kwargs: Any
) -> F:
    """The refused form under ``key`` if this page's address names it, else a new one."""
    kept = form_kept(request, key, form_class, **kwargs)
    return kept if kept is not None else form_class(**kwargs)
