"""Job messages are stored in English and shown in the language of the page that shows them
(jobs/messages.py); rows written before that (plain strings) still show.

The message ids here are plain strings (no gettext markers, which makemessages would collect
from this file): they are those that the code marks and the catalogues translate.
"""

from __future__ import annotations

import html

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation

from jobs.messages import (
    JobMessage,
    counted,
    duration,
    from_validation_error,
    message_display,
)
from jobs.models import Job, JobStatus
from jobs.services import JobOutput, job_claim, job_create, job_progress, job_run, jobs_sweep
from jobs.tasks import job_selftest

UNAVAILABLE_KO = "지금은 백그라운드 작업을 쓸 수 없습니다. 몇 분 뒤 다시 시도하세요."


def in_korean(client, url: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    body = client.get(url).content.decode()
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]
    return body


def shown(body: str) -> str:
    """The text of the job's message on a progress fragment or job page."""
    start = body.index('<span class="job-message"')
    return html.unescape(body[body.index(">", start) + 1 : body.index("</span>", start)])


# --- the message itself ---------------------------------------------------------------------


def test_a_message_renders_in_english_and_in_the_active_language():
    message = JobMessage(
        "Stopped: it ran longer than its time limit of %(limit)s.",
        {"limit": duration(1800)},
    )
    assert message.english() == "Stopped: it ran longer than its time limit of 30 min."
    with translation.override("ko"):
        assert message.translated() == "중지됨: 제한 시간(30분)보다 오래 실행되었습니다."
    # Stored as JSON and read back, it is the same message.
    again = JobMessage.from_json(message.as_json())
    assert again == message
    assert message.as_json() == {
        "id": "Stopped: it ran longer than its time limit of %(limit)s.",
        "params": {"limit": {"id": "%(n)s min", "params": {"n": "30"}}},
    }


@pytest.mark.parametrize(
    ("seconds", "english", "korean"),
    [
        (0.2, "0.2 s", "0.2초"),
        (90, "90 s", "90초"),
        (1800, "30 min", "30분"),
        (7200, "2 h", "2시간"),
    ],
)
def test_durations(seconds, english, korean):
    assert duration(seconds).english() == english
    with translation.override("ko"):
        assert duration(seconds).translated() == korean


def test_counted_nouns_are_messages_too():
    votes = [counted(n, "1 vote", "%(n)s votes") for n in (1, 3, 1234)]
    assert [v.english() for v in votes] == ["1 vote", "3 votes", "1,234 votes"]
    summary = JobMessage(
        "%(votes)s imported into %(project)s.", {"votes": votes[2], "project": "Phones"}
    )
    assert summary.english() == "1,234 votes imported into Phones."
    assert JobMessage.from_json(summary.as_json()) == summary


def test_a_translation_whose_placeholders_do_not_match_falls_back_to_english(monkeypatch):
    import jobs.messages

    monkeypatch.setattr(jobs.messages, "gettext", lambda text: "%(nope)s" if text else text)
    message = JobMessage("%(done)s of %(total)s done", {"done": 1, "total": 2})
    assert message.translated() == "1 of 2 done"


def test_a_row_whose_json_is_not_a_message_shows_its_english_text():
    assert message_display("as stored", {"id": "x", "params": ["not", "a", "dict"]}) == "as stored"


def refusal(value: int = 7) -> ValidationError:
    """A service's refusal with two messages: a plain one (translated where it is raised) and
    one with params (Django's own validator, translated when it is shown)."""
    from django.core.validators import MaxValueValidator

    from evaluation.services.predictions import parse_predictions

    errors = []
    try:
        parse_predictions(version=None, raw=b"", file_name="answers.txt")
    except ValidationError as exc:
        errors.append(exc)
    try:
        MaxValueValidator(5)(value)
    except ValidationError as exc:
        errors.append(exc)
    return ValidationError({"file": errors[0].error_dict["file"], "value": errors[1].error_list})


def test_a_refusal_keeps_each_message_id_and_its_params():
    exc = refusal()
    message = from_validation_error(exc)
    assert message is not None
    assert (
        message.english()
        == " ".join(exc.messages)
        == (
            "Upload a .csv or .jsonl predictions file. "
            "Ensure this value is less than or equal to 5."
        )
    )
    with translation.override("ko"):
        assert message.translated() == " ".join(refusal().messages)
        assert message.translated() != message.english()


def test_a_plain_message_is_its_own_message_id():
    with translation.override("ko"):
        assert message_display("Scoring", {}) == "채점 중"
        assert message_display("ValueError: column 'label' is missing", {}) == (
            "ValueError: column 'label' is missing"
        )
        assert message_display("", {}) == ""


# --- on job rows and pages ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_job_page_shows_progress_in_the_readers_language(client, api_as, researcher):
    job = job_create(kind="selftest", user=researcher)
    job_claim(job_id=job.id)
    job_progress(
        job_id=job.id,
        progress=40,
        message=JobMessage("step %(step)s/%(n)s", {"step": 2, "n": 5}),
    )
    job.refresh_from_db()
    assert (job.message, job.message_i18n) == (
        "step 2/5",
        {"id": "step %(step)s/%(n)s", "params": {"step": 2, "n": 5}},
    )
    client.force_login(researcher)
    assert shown(client.get(f"/jobs/{job.id}/").content.decode()) == "step 2/5"
    assert shown(in_korean(client, f"/jobs/{job.id}/")) == "단계 2/5"
    assert shown(in_korean(client, f"/jobs/{job.id}/progress/")) == "단계 2/5"

    # The API keeps the English message for programs and adds the reader's.
    data = api_as(researcher).get(f"/api/jobs/{job.id}/", HTTP_ACCEPT_LANGUAGE="ko").json()
    assert (data["message"], data["message_display"]) == ("step 2/5", "단계 2/5")
    data = api_as(researcher).get(f"/api/jobs/{job.id}/").json()
    assert (data["message"], data["message_display"]) == ("step 2/5", "step 2/5")


@pytest.mark.django_db
def test_a_refused_job_shows_the_reason_in_the_readers_language(client, researcher):
    """Run in a Korean request (eager mode), the work still stores its refusal in English."""

    def refuse(job, progress):
        progress(10, "reading the vote table")
        raise refusal()

    job = job_create(kind="selftest", user=researcher)
    with translation.override("ko"):
        job_run(job_id=job.id, work=refuse)
    job.refresh_from_db()
    assert (job.status, job.progress, job.message) == (
        JobStatus.FAILED,
        10,
        "Upload a .csv or .jsonl predictions file. Ensure this value is less than or equal to 5.",
    )
    client.force_login(researcher)
    body = in_korean(client, f"/jobs/{job.id}/progress/")
    with translation.override("ko"):
        korean = " ".join(refusal().messages)
    assert f'<span class="job-message" role="alert">{html.escape(korean)}</span>' in body
    assert shown(client.get(f"/jobs/{job.id}/progress/").content.decode()) == job.message


@pytest.mark.django_db
def test_a_result_message_with_params_is_translated(client, researcher):
    job = job_create(kind="selftest", user=researcher)
    message = JobMessage("%(done)s of %(total)s items asked", {"done": 3, "total": 4})
    job_run(job_id=job.id, work=lambda job, progress: JobOutput(message=message))
    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.SUCCEEDED, "3 of 4 items asked")
    client.force_login(researcher)
    assert shown(in_korean(client, f"/jobs/{job.id}/")) == "항목 4개 중 3개에 물어봄"


@pytest.mark.django_db
def test_the_sweepers_reasons_are_translated(client, settings, researcher):
    settings.JOB_STALE_SECONDS = 60
    settings.JOB_MAX_ATTEMPTS = 1
    job = job_create(kind="selftest", user=researcher, task=job_selftest.name)
    job_claim(job_id=job.id)
    Job.objects.filter(pk=job.pk).update(heartbeat_at="2000-01-01T00:00:00Z")
    assert jobs_sweep()["failed"] == 1
    job.refresh_from_db()
    assert job.message == (
        "Failed: the worker running it stopped responding (no heartbeat for 60 s), "
        "and all 1 attempts are used up."
    )
    client.force_login(researcher)
    assert shown(in_korean(client, f"/jobs/{job.id}/")) == (
        "실패: 작업을 실행하던 워커가 응답하지 않았고(60초 동안 하트비트 없음) "
        "시도 1번을 모두 썼습니다."
    )


@pytest.mark.django_db
def test_a_job_that_could_not_be_queued_says_so_in_korean(client, researcher):
    from jobs.services import job_fail

    job = job_create(kind="selftest", user=researcher)
    from jobs.services import UNAVAILABLE

    job_fail(
        job_id=job.id,
        message=JobMessage("Not started: %(reason)s", {"reason": JobMessage(UNAVAILABLE)}),
    )
    client.force_login(researcher)
    assert shown(in_korean(client, f"/jobs/{job.id}/")) == f"시작되지 않음: {UNAVAILABLE_KO}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stored", "korean"),
    [
        ("Reading the sources", "출처를 읽는 중"),  # a literal some catalogue has
        ("step 2/5", "step 2/5"),  # the selftest's progress before it had parameters
        ("ValueError: column 'label' is missing", "ValueError: column 'label' is missing"),
    ],
)
def test_an_old_row_with_a_plain_message_still_shows(client, researcher, stored, korean):
    job = job_create(kind="selftest", user=researcher)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, message=stored)
    client.force_login(researcher)
    assert shown(in_korean(client, f"/jobs/{job.id}/")) == korean
    assert shown(client.get(f"/jobs/{job.id}/").content.decode()) == stored
