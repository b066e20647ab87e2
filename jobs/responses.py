"""A job's result file as an HTTP download: one helper for the job page and the apps' own
download addresses (call it after the access checks)."""

from __future__ import annotations

from django.http import Http404

from config.storage import StoredFileResponse, stored_download
from jobs.models import Job, JobStatus


def result_file_response(
    job: Job,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    succeeded_only: bool = False,
) -> StoredFileResponse:
    """The job's result file, streamed from the storage (a local folder or an object store).

    404 when the job has no file (or, with ``succeeded_only``, has not succeeded) or the file
    is gone. The download is named ``filename``, else the file's own name.
    """
    if succeeded_only and job.status != JobStatus.SUCCEEDED:
        raise Http404("The job has not finished.")
    return stored_download(job.result_file, filename=filename, content_type=content_type)
