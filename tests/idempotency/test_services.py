"""The key store itself: one run per key, replays, other content, failures, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from idempotency.models import IdempotencyKey
from idempotency.selectors import stored_outcome
from idempotency.services import (
    IdempotencyKeyReused,
    Outcome,
    idempotency_keys_expire,
    idempotent_form_run,
    idempotent_run,
)

pytestmark = pytest.mark.django_db


def counting(outcome: Outcome):
    calls: list[int] = []

    def action() -> Outcome:
        calls.append(1)
        return outcome

    return action, calls


def test_a_key_runs_once_and_replays_the_first_outcome():
    action, calls = counting(Outcome(status=201, body={"id": 7}))
    first = idempotent_run(scope="s:1", key="k", fingerprint="f", action=action)
    again = idempotent_run(scope="s:1", key="k", fingerprint="f", action=action)
    assert (first.status, first.body, first.replayed) == (201, {"id": 7}, False)
    assert (again.status, again.body, again.replayed) == (201, {"id": 7}, True)
    assert len(calls) == 1
    row = IdempotencyKey.objects.get()
    assert (row.scope, row.key, row.status_code, row.body) == ("s:1", "k", 201, '{"id": 7}')


def test_the_same_key_in_another_scope_is_another_request():
    action, calls = counting(Outcome(status=302, location="/next/"))
    idempotent_run(scope="s:1", key="k", fingerprint="f", action=action)
    other = idempotent_run(scope="s:2", key="k", fingerprint="f", action=action)
    assert other.replayed is False
    assert len(calls) == 2
    assert IdempotencyKey.objects.count() == 2


def test_without_a_key_the_action_runs_every_time_and_nothing_is_stored():
    action, calls = counting(Outcome(status=201))
    idempotent_run(scope="s:1", key=None, fingerprint="f", action=action)
    idempotent_run(scope="s:1", key="", fingerprint="f", action=action)
    assert len(calls) == 2
    assert IdempotencyKey.objects.count() == 0


def test_other_content_under_the_same_key_is_refused_and_a_form_runs_it_anew():
    action, calls = counting(Outcome(status=201))
    idempotent_run(scope="s:1", key="k", fingerprint="f", action=action)
    with pytest.raises(IdempotencyKeyReused):
        idempotent_run(scope="s:1", key="k", fingerprint="other", action=action)
    assert len(calls) == 1
    fresh = idempotent_form_run(scope="s:1", key="k", fingerprint="other", action=action)
    assert fresh.replayed is False
    assert len(calls) == 2
    assert IdempotencyKey.objects.get().fingerprint == "f"


def test_a_failed_action_stores_nothing_and_a_retry_runs_again():
    def failing() -> Outcome:
        raise ValidationError({"item": ["Your lease on this item has expired."]})

    with pytest.raises(ValidationError):
        idempotent_run(scope="s:1", key="k", fingerprint="f", action=failing)
    assert IdempotencyKey.objects.count() == 0
    action, calls = counting(Outcome(status=201))
    assert idempotent_run(scope="s:1", key="k", fingerprint="f", action=action).replayed is False
    assert len(calls) == 1


def test_an_outcome_not_kept_leaves_no_key():
    action, calls = counting(Outcome(status=400, body={"errors": {}}, keep=False))
    idempotent_run(scope="s:1", key="k", fingerprint="f", action=action)
    idempotent_run(scope="s:1", key="k", fingerprint="f", action=action)
    assert len(calls) == 2
    assert IdempotencyKey.objects.count() == 0


def test_keys_expire(settings):
    settings.IDEMPOTENCY_KEY_HOURS = 24
    long_ago = timezone.now() - timedelta(hours=25)
    action, calls = counting(Outcome(status=201))
    idempotent_run(scope="s:1", key="old", fingerprint="f", action=action, now=long_ago)
    idempotent_run(scope="s:2", key="old", fingerprint="f", action=action, now=long_ago)
    idempotent_run(scope="s:3", key="new", fingerprint="f", action=action)
    # An expired key is not replayed: met again, it is replaced by the new request's.
    assert stored_outcome(scope="s:1", key="old", fingerprint="f") is None
    again = idempotent_run(scope="s:1", key="old", fingerprint="f", action=action)
    assert again.replayed is False
    assert len(calls) == 4
    # Housekeeping (celery beat) removes the rest.
    assert idempotency_keys_expire() == 1
    assert sorted(IdempotencyKey.objects.values_list("scope", "key")) == [
        ("s:1", "old"),
        ("s:3", "new"),
    ]
