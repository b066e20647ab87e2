"""Job messages: written in English by the work, shown in the language of whoever reads them.

A job's progress, failure and result messages are written by a worker, long before (and far
from) the page that shows them, so they cannot be translated when they are written. A message
is therefore kept twice on the job row:

- ``message``: the English text, as it always was: what the API's ``message``, the admin and
  the logs show, and what programs may match on;
- ``message_i18n``: the same message as its English message id (a string marked with
  ``gettext_noop`` where it is written) and its parameters, as JSON, for messages with
  parameters ("%(done)s of %(total)s items asked"); empty for a plain message.

``Job.get_message_display()`` translates the message with gettext in the active language when
a page (or the API's ``message_display``) shows it. A plain message (a literal such as
``progress(10, "Splitting")``, and every row written before ``message_i18n`` existed) is its
own message id: a catalogue that has it translates it, and otherwise it shows as it is. So a
literal needs nothing but its ``gettext_noop`` mark (for ``makemessages``) to be translated.

A parameter may itself be a message (a duration, "30 min"; a counted noun, "1 vote" or "3
votes"), translated the same way. Other parameters are shown as they are: numbers and names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_noop

# The language of the message ids. Work runs in it (``jobs.services.job_run``), so that a
# service's refusal, translated with gettext where it is raised, is stored as its message id
# whoever started the job.
SOURCE_LANGUAGE = "en"


@dataclass(frozen=True)
class JobMessage:
    """A message with parameters: ``JobMessage(gettext_noop("Step %(n)s"), {"n": 3})``.

    ``id`` is the English message id, %-formatted with ``params`` as gettext strings are.
    """

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def english(self) -> str:
        return self._render(lambda text: text)

    def translated(self) -> str:
        """In the active language; in English when the translation does not format (a
        catalogue whose placeholders do not match)."""
        try:
            return self._render(gettext)
        except (KeyError, ValueError, TypeError):
            return self.english()

    def _render(self, translate: Callable[[str], str]) -> str:
        text = translate(self.id) if self.id else ""
        if not self.params:
            return text
        values = {
            key: value._render(translate) if isinstance(value, JobMessage) else value
            for key, value in self.params.items()
        }
        return text % values

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "params": {k: _json_param(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobMessage:
        params = data.get("params") or {}
        return cls(
            id=str(data["id"]),
            params={
                str(k): cls.from_json(v) if isinstance(v, Mapping) else v for k, v in params.items()
            },
        )

    @classmethod
    def join(cls, messages: Iterable[JobMessage]) -> JobMessage:
        """Several messages as one, separated by spaces (each translated on its own)."""
        parts = list(messages)
        if len(parts) == 1:
            return parts[0]
        keys = [f"m{i}" for i in range(len(parts))]
        return cls(" ".join(f"%({k})s" for k in keys), dict(zip(keys, parts, strict=True)))


def _json_param(value: Any) -> Any:
    if isinstance(value, JobMessage):
        return value.as_json()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def duration(seconds: float) -> JobMessage:
    """A duration for people: 90 -> '90 s', 1800 -> '30 min', 7200 -> '2 h'."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return JobMessage(gettext_noop("%(n)s h"), {"n": f"{seconds / 3600:g}"})
    if seconds >= 120 and seconds % 60 == 0:
        return JobMessage(gettext_noop("%(n)s min"), {"n": f"{seconds / 60:g}"})
    return JobMessage(gettext_noop("%(n)s s"), {"n": f"{seconds:g}"})


def counted(n: int, one: str, many: str) -> JobMessage:
    """A counted noun: ``counted(3, gettext_noop("1 vote"), gettext_noop("%(n)s votes"))``
    is "3 votes" (the count with thousands separators)."""
    return JobMessage(one) if n == 1 else JobMessage(many, {"n": f"{n:,}"})


def from_validation_error(exc: ValidationError) -> JobMessage | None:
    """A service's refusal as a message: each of its messages by its message id and params.

    Its messages must have been made in ``SOURCE_LANGUAGE`` (as work is run) for the ids to be
    message ids. A message that was formatted before it was raised (``_("...") % params``) is
    kept as the text it became, which shows in English unless a catalogue happens to have it.
    None when a message cannot be read back (it is then stored as plain text).
    """
    if hasattr(exc, "error_dict"):
        errors = [error for field_errors in exc.error_dict.values() for error in field_errors]
    else:
        errors = exc.error_list
    try:
        parts = [JobMessage(str(error.message), dict(error.params or {})) for error in errors]
    except (KeyError, ValueError, TypeError):
        return None
    return JobMessage.join(parts) if parts else None


def message_columns(message: str | JobMessage) -> dict[str, Any]:
    """The values of a job row's ``message`` and ``message_i18n`` for ``message``."""
    if isinstance(message, JobMessage):
        if not message.params:
            return {"message": message.id[:500], "message_i18n": {}}
        return {"message": message.english()[:500], "message_i18n": message.as_json()}
    return {"message": message[:500], "message_i18n": {}}


def message_display(message: str, i18n: Any) -> str:
    """The message of a job row in the active language (see the module's docstring)."""
    if isinstance(i18n, Mapping) and i18n.get("id"):
        try:
            return JobMessage.from_json(i18n).translated()
        except (KeyError, ValueError, TypeError, AttributeError):
            pass  # not a message this module wrote: the English text is what there is
    return gettext(message) if message else ""
