"""Jobs that always end: heartbeats, takeovers after a lost worker, the sweeper, time limits,
result files that are never partial or duplicated."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.services import (
    JobBusy,
    JobLost,
    JobOutput,
    job_claim,
    job_create,
    job_fail,
    job_progress,
    job_run,
    job_start,
    job_succeed,
    jobs_sweep,
)
from jobs.tasks import job_selftest

GAVE_UP = (
    "Failed: the worker running it stopped responding (no heartbeat for 60 s), "
    "and all 3 attempts are used up."
)


@pytest.fixture(autouse=True)
def _job_settings(settings):
    settings.JOB_HEARTBEAT_SECONDS = 5
    settings.JOB_STALE_SECONDS = 60
    settings.JOB_MAX_ATTEMPTS = 3


def selftest_job(user, **params) -> Job:
    return job_create(kind="selftest", user=user, task=job_selftest.name, params=params)


def age_heartbeat(job: Job, seconds: float = 120) -> None:
    """As if the worker holding ``job`` had died ``seconds`` ago."""
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


# --- claims and takeovers -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_claim_counts_the_attempt_and_starts_the_heartbeat(researcher):
    job = selftest_job(researcher)
    assert (job.attempts, job.heartbeat_at) == (0, None)
    assert job_claim(job_id=job.id) is True
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
    assert job.heartbeat_at == job.started_at
    assert job.is_stale is False


@pytest.mark.django_db
def test_a_redelivered_task_takes_over_a_job_whose_worker_died(researcher):
    job = selftest_job(researcher, steps=2, pause=0)
    job_claim(job_id=job.id)
    age_heartbeat(job)
    job.refresh_from_db()
    assert job.is_stale is True

    job_selftest.delay(str(job.id))  # eager: the redelivery, run here
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result) == (JobStatus.SUCCEEDED, 2, {"steps": 2})


@pytest.mark.django_db
def test_a_delivery_leaves_a_job_that_a_live_worker_holds(researcher):
    job = selftest_job(researcher)
    job_claim(job_id=job.id)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=20))
    ran = []
    with pytest.raises(JobBusy) as busy:
        job_run(job_id=job.id, work=lambda job, progress: ran.append(1))
    # Asked to come back once the heartbeat would be stale (60 - 20 s, plus a margin).
    assert 40 <= busy.value.retry_in <= 41
    assert ran == []
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)


@pytest.mark.django_db
def test_a_redelivery_after_the_last_attempt_fails_the_job_with_the_reason(researcher):
    job = selftest_job(researcher)
    job_claim(job_id=job.id)
    Job.objects.filter(pk=job.pk).update(attempts=3)
    age_heartbeat(job)
    ran = []
    assert job_run(job_id=job.id, work=lambda job, progress: ran.append(1)) is False
    job.refresh_from_db()
    assert (job.status, job.message, ran) == (JobStatus.FAILED, GAVE_UP, [])
    assert job.finished_at is not None


@pytest.mark.django_db
def test_a_run_that_lost_its_job_changes_nothing(researcher):
    """Attempt 1 was presumed dead and attempt 2 took over: attempt 1's late writes are void."""
    job = selftest_job(researcher)
    job_claim(job_id=job.id)
    age_heartbeat(job)
    assert job_claim(job_id=job.id) is True  # attempt 2
    assert job_progress(job_id=job.id, progress=90, attempt=1) is False
    assert job_succeed(job_id=job.id, result={"late": 1}, attempt=1).status == JobStatus.RUNNING
    assert job_fail(job_id=job.id, message="late", attempt=1) is False
    job.refresh_from_db()
    assert (job.status, job.attempts, job.progress, job.result, job.message) == (
        JobStatus.RUNNING, 2, 0, {}, "",
    )  # fmt: skip


# --- heartbeat and time limits --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_is_touched_while_the_work_runs_without_progress(settings, researcher):
    settings.JOB_HEARTBEAT_SECONDS = 0.1
    job = selftest_job(researcher)
    seen = []

    def quiet_work(job, progress):
        for _ in range(8):
            time.sleep(0.1)
            seen.append(Job.objects.values_list("heartbeat_at", flat=True).get(pk=job.pk))
        return {"done": True}

    job_run(job_id=job.id, work=quiet_work)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    # The watchdog thread touched the row several times, about once per interval, not more.
    touches = len(set(seen))
    assert 3 <= touches <= 9
    assert seen == sorted(seen)


@pytest.mark.django_db
def test_a_job_over_its_soft_time_limit_fails_with_the_reason(settings, researcher):
    settings.JOB_TIME_LIMITS = {"selftest": (0.3, 5.0)}
    job = selftest_job(researcher, steps=100, pause=0.02)
    started = time.monotonic()
    job_selftest.delay(str(job.id))
    took = time.monotonic() - started
    job.refresh_from_db()
    assert (job.status, job.message) == (
        JobStatus.FAILED,
        "Stopped: it ran longer than its time limit of 0.3 s.",
    )
    assert 0 < job.progress < 100
    assert 0.3 <= took < 1.5


@pytest.mark.django_db(transaction=True)
def test_the_job_ends_at_its_soft_limit_even_if_the_work_never_reports(settings, researcher):
    settings.JOB_TIME_LIMITS = {"selftest": (0.2, 5.0)}
    job = selftest_job(researcher)
    seen = []

    def silent(job, progress):
        for _ in range(30):
            time.sleep(0.02)
        seen.append(Job.objects.values_list("status", "message").get(pk=job.pk))
        return {"finished": "anyway"}

    job_run(job_id=job.id, work=silent)
    job.refresh_from_db()
    message = "Stopped: it ran longer than its time limit of 0.2 s."
    # Failed while the work was still going; what it returned afterwards changes nothing.
    assert seen == [(JobStatus.FAILED, message)]
    assert (job.status, job.message, job.result) == (JobStatus.FAILED, message, {})


@pytest.mark.django_db(transaction=True)
def test_work_in_another_thread_stops_at_its_next_progress_report(settings, researcher):
    """Eager jobs in a threaded web server run outside the main thread: the same holds."""
    import threading

    from django.db import connections

    settings.JOB_TIME_LIMITS = {"selftest": (0.2, 5.0)}
    job = selftest_job(researcher)
    steps = []

    def work(job, progress):
        for step in range(50):
            time.sleep(0.02)
            steps.append(step)
            progress(step, f"step {step}")
        return {"all": 50}

    def run():
        try:
            job_run(job_id=job.id, work=work)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    job.refresh_from_db()
    assert (job.status, job.message) == (
        JobStatus.FAILED,
        "Stopped: it ran longer than its time limit of 0.2 s.",
    )
    assert 5 <= len(steps) < 20


# --- the sweeper ----------------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    """Record the tasks the sweeper queues instead of running them (eager mode would)."""
    sent: list[str] = []
    monkeypatch.setattr("jobs.services._enqueue", lambda job: sent.append(str(job.id)))
    return sent


@pytest.mark.django_db
def test_the_sweeper_requeues_a_dead_job_then_fails_it_after_the_last_attempt(researcher, queued):
    job = selftest_job(researcher)
    for attempt in (1, 2):
        assert job_claim(job_id=job.id) is True
        age_heartbeat(job)
        assert jobs_sweep() == {"requeued": 1, "failed": 0, "republished": 0}
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.PENDING, attempt)
        assert job.heartbeat_at > timezone.now() - timedelta(seconds=5)  # published just now
        assert job.message == (
            f"Its worker stopped responding; queued again (attempt {attempt + 1} of 3)."
        )
        assert queued == [str(job.id)] * attempt
    assert job_claim(job_id=job.id) is True
    age_heartbeat(job)
    assert jobs_sweep() == {"requeued": 0, "failed": 1, "republished": 0}
    job.refresh_from_db()
    assert (job.status, job.attempts, job.message) == (JobStatus.FAILED, 3, GAVE_UP)
    assert queued == [str(job.id)] * 2
    assert jobs_sweep() == {"requeued": 0, "failed": 0, "republished": 0}


@pytest.mark.django_db
def test_the_sweeper_leaves_live_pending_and_finished_jobs_alone(researcher, queued):
    live = selftest_job(researcher)
    job_claim(job_id=live.id)
    age_heartbeat(live, seconds=30)
    pending = selftest_job(researcher)
    done = selftest_job(researcher)
    job_claim(job_id=done.id)
    job_succeed(job_id=done.id, result={"ok": 1})
    Job.objects.filter(pk=done.pk).update(heartbeat_at=timezone.now() - timedelta(days=1))
    before = list(Job.objects.order_by("id").values())
    assert jobs_sweep() == {"requeued": 0, "failed": 0, "republished": 0}
    assert list(Job.objects.order_by("id").values()) == before
    assert queued == []
    assert {pending.status} == {JobStatus.PENDING}


@pytest.mark.django_db
def test_the_sweeper_fails_a_job_past_its_hard_time_limit(settings, researcher, queued):
    settings.JOB_TIME_LIMITS = {"selftest": (100.0, 200.0)}
    job = selftest_job(researcher)
    job_claim(job_id=job.id)
    # Its heartbeat is fresh (a watchdog still ticks) but it started 250 s ago.
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(seconds=250))
    assert jobs_sweep() == {"requeued": 0, "failed": 1, "republished": 0}
    job.refresh_from_db()
    assert (job.status, job.message) == (
        JobStatus.FAILED,
        "Stopped: it ran longer than its time limit of 200 s.",
    )


@pytest.mark.django_db
def test_a_dead_job_past_its_hard_limit_is_failed_not_requeued(settings, researcher, queued):
    settings.JOB_TIME_LIMITS = {"selftest": (100.0, 200.0)}
    job = selftest_job(researcher)
    job_claim(job_id=job.id)
    Job.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - timedelta(seconds=300),
        heartbeat_at=timezone.now() - timedelta(seconds=100),
    )
    assert jobs_sweep() == {"requeued": 0, "failed": 1, "republished": 0}
    job.refresh_from_db()
    assert (job.status, job.message, queued) == (
        JobStatus.FAILED,
        "Stopped: it ran longer than its time limit of 200 s.",
        [],
    )


@pytest.mark.django_db
def test_a_job_without_a_task_cannot_be_requeued_and_is_failed(researcher, queued):
    job = job_create(kind="legacy", user=researcher)
    job_claim(job_id=job.id)
    age_heartbeat(job)
    assert jobs_sweep() == {"requeued": 0, "failed": 1, "republished": 0}
    job.refresh_from_db()
    assert (job.status, job.message) == (
        JobStatus.FAILED,
        "Failed: the worker running it stopped responding.",
    )


@pytest.mark.django_db
def test_a_requeued_job_runs_again_to_the_end(researcher):
    job = selftest_job(researcher, steps=2, pause=0)
    job_claim(job_id=job.id)
    age_heartbeat(job)
    assert jobs_sweep() == {"requeued": 1, "failed": 0, "republished": 0}  # eager: it ran at once
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result) == (JobStatus.SUCCEEDED, 2, {"steps": 2})


# --- starting jobs --------------------------------------------------------------------------


@pytest.mark.django_db
def test_job_start_records_the_task_and_runs_it_on_commit(
    researcher, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = job_start(
            kind="selftest", task=job_selftest, user=researcher, params={"steps": 1, "pause": 0}
        )
        assert Job.objects.get().status == JobStatus.PENDING
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert (job.task, job.status, job.attempts) == (
        "jobs.tasks.job_selftest",
        JobStatus.SUCCEEDED,
        1,
    )


# --- result files ---------------------------------------------------------------------------


def job_folder(job: Job) -> str:
    return f"jobs/{job.created_at:%Y/%m}/{job.id}"


@pytest.mark.django_db
def test_a_rerun_replaces_its_result_file_and_clears_partial_ones(researcher):
    job = selftest_job(researcher)
    folder = job_folder(job)
    # What a killed attempt may leave: a complete file never recorded, a partial temporary one.
    default_storage.save(f"{folder}/report.csv", ContentFile(b"old,complete\n"))
    default_storage.save(f"{folder}/.partial-0123", ContentFile(b"half a fi"))
    job_claim(job_id=job.id)
    job = job_succeed(job_id=job.id, file_name="report.csv", content=b"item,label\n1,joy\n")
    assert job.result_file.name == f"{folder}/report.csv"
    assert default_storage.listdir(folder) == ([], ["report.csv"])
    with default_storage.open(job.result_file.name) as stored:
        assert stored.read() == b"item,label\n1,joy\n"


@pytest.mark.django_db
def test_a_failed_store_leaves_no_file_and_fails_the_job(researcher, monkeypatch):
    job = selftest_job(researcher)

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("jobs.services.os.replace", disk_full)
    job_run(
        job_id=job.id,
        work=lambda job, progress: JobOutput(result={}, file_name="a.csv", content=b"1,2\n"),
    )
    job.refresh_from_db()
    assert (job.status, job.result_file.name) == (JobStatus.FAILED, "")
    assert job.message == "OSError: [Errno 28] No space left on device"
    assert default_storage.listdir(job_folder(job)) == ([], [])


@pytest.mark.django_db
def test_a_rebuild_after_a_crash_does_not_build_a_second_version(researcher, study):
    """The build committed its version, then the worker died before the job succeeded."""
    from benchmarks.models import BUILD_JOB_KIND, Version
    from benchmarks.services import dataset_create, source_upload_create
    from benchmarks.tasks import version_build_task
    from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame

    dataset = dataset_create(
        study=study, user=researcher, name="Emotions", categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 20},
    )  # fmt: skip
    source_upload_create(dataset=dataset, file_name="votes.csv", content=csv_bytes(vote_frame(8)))
    job = job_create(
        kind=BUILD_JOB_KIND,
        user=researcher,
        study=study,
        task=version_build_task.name,
        params={"dataset_id": dataset.pk},
    )
    version_build_task.delay(str(job.id))
    job.refresh_from_db()
    version = Version.objects.get()
    assert job.result == {"version_id": version.pk, "number": 1, "sha256": version.sha256}

    # As if attempt 1 had died right after the build's commit (the checkpoint is on the row).
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, result={"version_id": version.pk}, finished_at=None
    )
    age_heartbeat(job)
    version_build_task.delay(str(job.id))
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
    assert job.result == {"version_id": version.pk, "number": 1, "sha256": version.sha256}
    assert Version.objects.count() == 1


@pytest.mark.django_db
def test_a_build_whose_job_was_lost_keeps_nothing(researcher, study):
    from benchmarks.models import Version
    from benchmarks.services import dataset_create, source_upload_create, version_build
    from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame

    dataset = dataset_create(
        study=study, user=researcher, name="Emotions", categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 20},
    )  # fmt: skip
    source_upload_create(dataset=dataset, file_name="votes.csv", content=csv_bytes(vote_frame(8)))

    def lost(version):
        raise JobLost("taken over")

    with pytest.raises(JobLost):
        version_build(dataset=dataset, user=researcher, checkpoint=lost)
    assert Version.objects.count() == 0
    assert default_storage.listdir("benchmarks/versions/")[1] == []


# --- what people see ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_stops_polling_a_stale_job_and_says_why(client, api_as, researcher):
    job = selftest_job(researcher)
    job_claim(job_id=job.id)
    client.force_login(researcher)
    body = client.get(f"/jobs/{job.id}/progress/").content.decode()
    assert 'data-finished="0" data-stale="0"' in body
    assert api_as(researcher).get(f"/api/jobs/{job.id}/").json()["stale"] is False

    age_heartbeat(job)
    body = client.get(f"/jobs/{job.id}/progress/").content.decode()
    assert 'data-finished="0" data-stale="1"' in body
    assert "has not reported since" in body
    data = api_as(researcher).get(f"/api/jobs/{job.id}/").json()
    assert (data["stale"], data["attempts"], data["status"]) == (True, 1, "running")

    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, message=GAVE_UP)
    body = client.get(f"/jobs/{job.id}/progress/").content.decode()
    assert 'data-finished="1" data-stale="0"' in body
    assert f'<span class="job-message" role="alert">{GAVE_UP}</span>' in body


@pytest.mark.django_db
def test_a_pending_job_whose_task_the_broker_lost_is_published_again(settings, researcher, queued):
    """A broker keeping its queues in memory forgets them when it restarts: the job would stay
    pending for ever. After JOB_PENDING_REPUBLISH_SECONDS its task is published again, once
    per period, and a job that was published recently or has no task is left alone."""
    settings.JOB_PENDING_REPUBLISH_SECONDS = 600
    lost = selftest_job(researcher)
    recent = selftest_job(researcher)
    taskless = job_create(kind="selftest", user=researcher)
    old = timezone.now() - timedelta(seconds=900)
    Job.objects.filter(pk__in=[lost.pk, taskless.pk]).update(created_at=old)

    assert jobs_sweep() == {"requeued": 0, "failed": 0, "republished": 1}
    assert queued == [str(lost.id)]
    lost.refresh_from_db()
    assert lost.status == JobStatus.PENDING
    assert jobs_sweep() == {"requeued": 0, "failed": 0, "republished": 0}

    # Ten minutes on, still not claimed: published once more.
    Job.objects.filter(pk=lost.pk).update(heartbeat_at=old)
    assert jobs_sweep() == {"requeued": 0, "failed": 0, "republished": 1}
    assert queued == [str(lost.id)] * 2
    recent.refresh_from_db()
    assert recent.heartbeat_at is None


@pytest.mark.django_db(transaction=True)
def test_a_job_lost_by_a_restarted_broker_runs_once_it_is_published_again(
    settings, researcher, celery_worker
):
    """With a real broker and worker: a pending job whose task never reached the worker (its
    row created, the queue then lost, as a Redis restart without persistence does); the sweep
    publishes it again and the worker runs it to the end, once."""
    settings.JOB_PENDING_REPUBLISH_SECONDS = 600
    job = selftest_job(researcher, steps=1)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=900))
    time.sleep(1)
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    assert jobs_sweep()["republished"] == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == JobStatus.SUCCEEDED:
            break
        time.sleep(0.2)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
