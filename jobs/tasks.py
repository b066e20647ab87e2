from __future__ import annotations

import time

from celery import shared_task

from jobs.services import job_run


@shared_task
def job_selftest(job_id: str, steps: int = 5, pause: float = 0.2) -> None:
    """A diagnostic job: counts to ``steps`` with progress, to check that workers run jobs.

    Staff can start it from the admin to see a worker and the progress bar at work.
    """

    def work(job, progress):
        for step in range(1, steps + 1):
            time.sleep(pause)
            progress(round(100 * step / steps) if step < steps else 99, f"step {step}/{steps}")
        return {"steps": steps}

    job_run(job_id=job_id, work=work)
