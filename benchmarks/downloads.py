"""A version export's zip as a download, for the page and the API alike."""

from __future__ import annotations

from config.storage import StoredFileResponse
from jobs.models import Job
from jobs.responses import result_file_response


def export_file_response(job: Job) -> StoredFileResponse:
    """The export's zip, streamed from the storage (call after the access checks); 404 until
    the export job has succeeded."""
    return result_file_response(
        job,
        filename=job.result.get("file") or "export.zip",
        content_type="application/zip",
        succeeded_only=True,
    )
