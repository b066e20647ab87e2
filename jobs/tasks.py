from __future__ import annotations

import time
from typing import Any

from celery import Task, shared_task
from django.utils.translation import gettext_noop

from jobs.messages import JobMessage
from jobs.services import JobBusy, JobOutput, job_run, jobs_sweep


class JobTask(Task):
    """The base of every task that runs a job row: ``@shared_task(base=JobTask)``.

    ``acks_late`` with ``reject_on_worker_lost``: the broker forgets the message only once the
    task has returned, so a worker killed mid-job leaves it to be delivered again, and that
    delivery takes the job over once its heartbeat has gone stale (``job_run``). A delivery that
    finds the job held by a live worker is retried when that heartbeat would have gone stale, so
    the job is neither run twice nor dropped.
    """

    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except JobBusy as busy:
            raise self.retry(
                exc=busy, countdown=busy.retry_in, max_retries=busy.max_retries
            ) from None


@shared_task(base=JobTask)
def job_selftest(job_id: str, steps: int | None = None, pause: float | None = None) -> None:
    """A diagnostic job: counts to ``steps`` with progress, to check that workers run jobs.

    Staff can start it from the admin to see a worker and the progress bar at work. Its params
    may set ``steps``, ``pause`` (seconds per step) and ``file`` (also write a small result
    file, to check the storage of result files).
    """

    def work(job, progress):
        n = int(steps if steps is not None else job.params.get("steps", 5))
        wait = float(pause if pause is not None else job.params.get("pause", 0.2))
        for step in range(1, n + 1):
            time.sleep(wait)
            progress(
                round(100 * step / n) if step < n else 99,
                JobMessage(gettext_noop("step %(step)s/%(n)s"), {"step": step, "n": n}),
            )
        if job.params.get("file"):
            lines = "".join(f"step {step}/{n}\n" for step in range(1, n + 1))
            return JobOutput(result={"steps": n}, file_name="selftest.txt", content=lines.encode())
        return {"steps": n}

    job_run(job_id=job_id, work=work)


@shared_task
def jobs_sweep_task() -> dict[str, int]:
    """Periodic (Celery beat, every ``JOB_SWEEP_SECONDS``): jobs whose worker died."""
    return jobs_sweep()
