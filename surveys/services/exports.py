"""Response exports: CSV (UTF-8 with BOM so Excel shows Korean), Parquet, SPSS and Stata.

One row per completed response: a pseudonymous respondent key, cell and stratum columns, the
attention flag, the final weight and one column per question (one 0/1 column per option of a
multiple-choice question). Contact details are not read here at all.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from typing import TYPE_CHECKING

import pandas as pd
import pyreadstat

from sources.csv_escape import escape_frame
from surveys.models import Answer, QuestionKind, Response, ResponseStatus, Survey
from surveys.selectors import voter_key

if TYPE_CHECKING:
    from accounts.models import User
    from jobs.models import Job

EXPORT_FORMATS = ("csv", "parquet", "sav", "dta")


def _var(name: str) -> str:
    """A name SPSS and Stata accept: letters, digits, underscores, <= 32 chars."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not re.match(r"[A-Za-z]", name):
        name = "v_" + name
    return name[:32]


def responses_frame(*, survey: Survey) -> tuple[pd.DataFrame, dict, dict]:
    """The export table, its variable labels and its value labels (for coded columns)."""
    design = survey.design
    variables = list(design.population.variables) if design is not None else []
    responses = list(
        Response.objects.filter(survey=survey, status=ResponseStatus.COMPLETED)
        .order_by("id")
        .values_list(
            "id",
            "token",
            "language",
            "cell__key",
            "cell__values",
            "flagged_attention",
            "started_at",
            "completed_at",
            "weight__value",
        )
    )
    questions = list(
        survey.questions.prefetch_related("options").order_by("block__order", "order", "id")
    )
    labels: dict[str, str] = {
        "respondent": "Pseudonymous respondent key",
        "language": "Language of the interview",
        "cell": "Cell (stratum values joined by |)",
        "flagged_attention": "Failed an attention check",
        "started_at": "Started (UTC)",
        "completed_at": "Completed (UTC)",
        "weight": "Final weight",
    }
    value_labels: dict[str, dict] = {}
    data: dict[str, list] = {
        "respondent": [voter_key(r[1]) for r in responses],
        "language": [r[2] for r in responses],
        "cell": [r[3] or "" for r in responses],
    }
    for v in variables:
        col = _var(v)
        data[col] = [(r[4] or {}).get(v, "") for r in responses]
        labels[col] = f"Stratum: {v}"
    data["flagged_attention"] = [int(r[5]) for r in responses]
    data["started_at"] = [r[6].strftime("%Y-%m-%d %H:%M:%S") for r in responses]
    data["completed_at"] = [r[7].strftime("%Y-%m-%d %H:%M:%S") if r[7] else "" for r in responses]
    data["weight"] = [float(r[8]) if r[8] is not None else 1.0 for r in responses]
    index = {r[0]: i for i, r in enumerate(responses)}
    answers: dict[int, dict[int, Answer]] = {}
    for a in Answer.objects.filter(response_id__in=list(index)).only(
        "response_id", "question_id", "choices", "number", "text"
    ):
        answers.setdefault(a.question_id, {})[index[a.response_id]] = a
    n = len(responses)
    for q in questions:
        got = answers.get(q.pk, {})
        col = _var(q.code)
        options = list(q.options.all())
        if q.kind == QuestionKind.MULTIPLE:
            for o in options:
                ocol = _var(f"{q.code}_{o.code}")
                data[ocol] = [
                    (1 if o.code in got[i].choices else 0) if i in got else None for i in range(n)
                ]
                labels[ocol] = f"{q.text_en} [{o.text_en}]"[:250]
                value_labels[ocol] = {0: "not chosen", 1: "chosen"}
        elif q.is_choice:
            data[col] = [
                got[i].choices[0] if i in got and got[i].choices else None for i in range(n)
            ]
            labels[col] = q.text_en[:250]
            value_labels[col] = {o.code: o.text_en for o in options}
        elif q.kind == QuestionKind.NUMERIC:
            data[col] = [got[i].number if i in got else None for i in range(n)]
            labels[col] = q.text_en[:250]
        else:
            data[col] = [got[i].text if i in got else "" for i in range(n)]
            labels[col] = q.text_en[:250]
    return pd.DataFrame(data), labels, value_labels


def _coded(frame: pd.DataFrame, value_labels: dict) -> tuple[pd.DataFrame, dict]:
    """Replace option codes by 1..k (SPSS and Stata label numbers, not strings)."""
    frame = frame.copy()
    numeric_labels: dict[str, dict[float, str]] = {}
    for col, mapping in value_labels.items():
        if all(isinstance(k, int) for k in mapping):
            numeric_labels[col] = {float(k): v for k, v in mapping.items()}
            frame[col] = pd.to_numeric(frame[col]).astype("float64")
            continue
        numbers = {code: i for i, code in enumerate(mapping, start=1)}
        frame[col] = frame[col].map(numbers).astype("float64")
        numeric_labels[col] = {float(numbers[c]): text for c, text in mapping.items()}
    return frame, numeric_labels


def responses_export(*, survey: Survey, fmt: str, formula_escape: bool = True) -> tuple[str, bytes]:
    """The export file's name and bytes in ``fmt`` (csv, parquet, sav or dta).

    In CSV, text cells that a spreadsheet would run as a formula (``=HYPERLINK(...)`` in a
    text answer) get a leading ``'`` unless ``formula_escape`` is off (files for programs);
    see :mod:`sources.csv_escape`. The other formats keep their cells as they are.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}")
    frame, labels, value_labels = responses_frame(survey=survey)
    name = f"survey-{survey.pk}-responses.{fmt}"
    if fmt == "csv":
        if formula_escape:
            frame = escape_frame(frame)
        return name, frame.to_csv(index=False).encode("utf-8-sig")
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return name, buffer.getvalue()
    coded, numeric_labels = _coded(frame, value_labels)
    column_labels = [labels.get(c, c) for c in coded.columns]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        if fmt == "sav":
            pyreadstat.write_sav(
                coded, path, column_labels=column_labels, variable_value_labels=numeric_labels
            )
        else:
            pyreadstat.write_dta(
                coded,
                path,
                column_labels=column_labels,
                variable_value_labels={
                    c: {int(k): v for k, v in m.items()} for c, m in numeric_labels.items()
                },
                version=15,
            )
        with open(path, "rb") as fh:
            return name, fh.read()


def responses_export_start(*, survey: Survey, user: User, fmt: str, raw: bool = False) -> Job:
    """Queue an export of the survey's responses; ``raw`` leaves CSV cells that look like
    formulas unescaped. ``BackgroundUnavailable`` when the broker is down (no job remains)."""
    from jobs.services import job_start
    from surveys.tasks import export_responses_task

    return job_start(
        kind="surveys.export",
        task=export_responses_task,
        user=user,
        study=survey.study,
        params={"survey_id": survey.pk, "format": fmt, "raw": raw},
    )
