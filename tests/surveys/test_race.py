"""40 participants start at once for a cell with 5 places left: exactly 5 get in."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from surveys.models import QuotaCell, QuotaReservation, Response, ResponseStatus
from tests.surveys.factories import make_survey

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 40


@pytest.mark.postgresql
def test_concurrent_starts_never_overfill_a_cell(study, design, colleague):
    survey = make_survey(study, design, open_link=True, reviewer=colleague)
    quota = QuotaCell.objects.get(design=design, cell__key="Seoul|F")
    assert quota.target == 8
    QuotaCell.objects.filter(pk=quota.pk).update(filled=3)  # 5 places left
    open_link = reverse("surveys:participant", args=[survey.open_token])
    barrier = threading.Barrier(PEOPLE)
    outcomes: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def participant() -> None:
        try:
            client = Client()
            start = client.post(open_link + "?lang=en", {"consent": "yes"})
            link = start["Location"]
            barrier.wait(timeout=60)
            client.post(link, {"region": "Seoul", "gender": "F"})
            page = client.get(link).content.decode()
            if "We already have enough participants like you" in page:
                outcome = "screened out"
            else:
                client.post(link, {"page": "1", "family": "3", "capital": "seoul"})
                client.post(link, {"page": "2", "media": "tv", "hours": "8", "attention": "4"})
                done = client.get(link).content.decode()
                outcome = "completed" if "Thank you!" in done else "stuck"
            with lock:
                outcomes.append(outcome)
        except BaseException as exc:  # reported below, in the test's own thread
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=participant) for _ in range(PEOPLE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    assert sorted(outcomes).count("completed") == 5
    assert sorted(outcomes).count("screened out") == PEOPLE - 5
    quota.refresh_from_db()
    assert (quota.target, quota.filled, quota.reserved) == (8, 8, 0)
    assert Response.objects.filter(status=ResponseStatus.COMPLETED, cell=quota.cell).count() == 5
    assert Response.objects.filter(status=ResponseStatus.SCREENED_OUT).count() == PEOPLE - 5
    assert QuotaReservation.objects.count() == 0


def test_simultaneous_screens_from_one_address_hold_no_more_than_the_limit(
    rate_limits, study, design, colleague
):
    """Eight participants from one address screen at the same moment with a limit of three
    places held per address: exactly three hold a place, the others are asked to wait."""
    if connection.vendor != "postgresql":
        pytest.skip("the holder lock is PostgreSQL's; SQLite serialises writes anyway")
    rate_limits.QUOTA_HOLDS_PER_ADDRESS = 3
    survey = make_survey(study, design, open_link=True, reviewer=colleague)
    open_link = reverse("surveys:participant", args=[survey.open_token])
    people = 8
    starts = []
    for _ in range(people):
        client = Client(REMOTE_ADDR="203.0.113.9")
        starts.append((client, client.post(open_link + "?lang=en", {"consent": "yes"})))
    assert [s.status_code for _c, s in starts] == [302] * people
    barrier = threading.Barrier(people)
    statuses: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def screen(client: Client, link: str) -> None:
        try:
            barrier.wait(timeout=60)
            answer = client.post(link, {"region": "Seoul", "gender": "F"})
            with lock:
                statuses.append(answer.status_code)
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=screen, args=(c, s["Location"])) for c, s in starts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    assert sorted(statuses) == [302] * 3 + [429] * (people - 3)
    assert QuotaReservation.objects.count() == 3
    quota = QuotaCell.objects.get(design=design, cell__key="Seoul|F")
    assert quota.reserved == 3
