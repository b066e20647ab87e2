"""Shared bits of the survey commands: errors as CommandError, objects by id."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


@contextmanager
def command_errors():
    """Turn a service's ValidationError into a readable CommandError (exit status 1)."""
    try:
        yield
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            lines = [f"{field}: {m}" for field, msgs in exc.message_dict.items() for m in msgs]
        else:
            lines = list(exc.messages)
        raise CommandError("\n".join(lines)) from None


def get(model, pk, what: str):
    try:
        return model.objects.get(pk=pk)
    except model.DoesNotExist:
        raise CommandError(f"No {what} with id {pk}.") from None
