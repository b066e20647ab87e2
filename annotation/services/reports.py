"""Jobs that read a project's labels: the agreement report and the vote table export."""

from __future__ import annotations

import io

import pandas as pd
from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import User
from annotation.models import (
    Project,
)

AGREEMENT_JOB = "annotation_agreement"


def agreement_job_start(*, project: Project, user: User, n_boot: int = 200):
    """Queue the agreement report of a large project as a job (``job_start``:
    ``BackgroundUnavailable`` when the broker is down, and then no job remains)."""
    from annotation.tasks import annotation_agreement_task
    from jobs.services import job_start

    return job_start(
        kind=AGREEMENT_JOB,
        task=annotation_agreement_task,
        user=user,
        study=project.study,
        params={"project": project.pk, "n_boot": n_boot},
    )


def agreement_refresh(*, project: Project, user: User):
    """Compute the agreement report again after a change that alters it (an exclusion made or
    lifted); None when the background workers are unavailable: the dashboard then keeps the
    previous report, marked out of date."""
    from jobs.services import BackgroundUnavailable

    try:
        return agreement_job_start(project=project, user=user)
    except BackgroundUnavailable:
        return None


VOTES_EXPORT_JOB = "annotation_votes_export"


VOTES_EXPORT_FORMATS = ("csv", "parquet")


def votes_export_start(*, project: Project, user: User, fmt: str = "csv", raw: bool = False):
    """Queue an export of the project's vote table as a file (``job_start``:
    ``BackgroundUnavailable`` when the broker is down, and then no job remains).

    ``raw`` leaves CSV cells that a spreadsheet would run as formulas unescaped.
    """
    from annotation.tasks import annotation_votes_export_task
    from jobs.services import job_start

    if fmt not in VOTES_EXPORT_FORMATS:
        raise ValidationError(
            {
                "format": [
                    _("Choose one of %(names)s, not %(fmt)r.")
                    % {"names": ", ".join(VOTES_EXPORT_FORMATS), "fmt": fmt}
                ]
            }
        )
    return job_start(
        kind=VOTES_EXPORT_JOB,
        task=annotation_votes_export_task,
        user=user,
        study=project.study,
        params={"project": project.pk, "format": fmt, "raw": raw},
    )


def votes_export(
    *, project: Project, fmt: str, formula_escape: bool = True
) -> tuple[str, bytes, int]:
    """The vote table, with time on item and the item metadata, as a file.

    CSV is UTF-8 with a byte order mark (spreadsheets then read Korean and other scripts
    right), times in ISO 8601 UTC, and text cells starting with ``= + - @``, tab or CR get a
    leading ``'`` unless ``formula_escape`` is off (:mod:`sources.csv_escape`; numbers are
    never touched); Parquet keeps the column types. Returns the file name, its bytes and the
    number of rows. Excluded raters are left out, as everywhere.
    """
    from annotation.selectors import project_vote_table
    from sources.csv_escape import escape_frame

    table = project_vote_table(project=project, timing=True)
    name = f"{slugify(project.name) or 'project'}-votes.{fmt}"
    if fmt == "parquet":
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        return name, buffer.getvalue(), len(table)
    text = table.assign(
        created=table["created"].map(lambda t: t.isoformat() if pd.notna(t) else "")
    )
    if formula_escape:
        text = escape_frame(text)
    return name, text.to_csv(index=False).encode("utf-8-sig"), len(table)
