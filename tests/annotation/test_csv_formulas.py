"""Formula injection: the vote table CSV escapes text cells, not numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command

from annotation.services import annotation_submit, assignment_next, items_import, votes_export
from jobs.models import Job
from tests.annotation.factories import emotion_project, raters

pytestmark = pytest.mark.django_db

LINK = '=HYPERLINK("https://evil.example/","x")'
# Item ids (the import strips blanks, so tab and CR come in through the metadata).
ITEMS = ["=1+1", "+cmd", "-cmd", "@SUM(A1)", "t", "r", "ok"]
NOTES = [LINK, "+x", "-x", "@x", "\tx", "\rx", "-2"]


@pytest.fixture
def project(study, researcher):
    project = emotion_project(study=study, user=researcher, k=1)
    lines = [
        json.dumps({"external_id": key, "text": "Passage", "note": note, "valence": -1.5})
        for key, note in zip(ITEMS, NOTES, strict=True)
    ]
    report = items_import(project=project, data="\n".join(lines).encode(), filename="items.jsonl")
    assert report.ok, report.rows
    (ana,) = raters(project, 1, prefix="ana")
    for _ in ITEMS:
        lease = assignment_next(project=project, user=ana)
        annotation_submit(
            project=project, user=ana, item_id=lease.item_id, labels=[{"category": "joy"}],
            time_ms=1500,
        )  # fmt: skip
    return project


def rows(content: bytes | str) -> list[dict[str, str]]:
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_vote_csv_escapes_text_cells_but_not_numbers(project):
    _, content, n = votes_export(project=project, fmt="csv")
    table = rows(content)
    assert n == len(table) == 7
    by_item = {r["item"]: r["note"] for r in table}
    assert by_item == {
        "'=1+1": "'" + LINK,
        "'+cmd": "'+x",
        "'-cmd": "'-x",
        "'@SUM(A1)": "'@x",
        "t": "'\tx",
        "r": "'\rx",
        "ok": "-2",  # text that is only a number is read as that number: left alone
    }
    # Numbers stay numbers, negative ones too.
    assert {r["valence"] for r in table} == {"-1.5"}
    assert {r["weight"] for r in table} == {"1.0"}
    assert {r["seconds"] for r in table} == {"1.5"}


def test_raw_vote_csv_leaves_cells_as_they_were(project):
    _, content, _ = votes_export(project=project, fmt="csv", formula_escape=False)
    table = rows(content)
    assert {r["item"]: r["note"] for r in table} == dict(zip(ITEMS, NOTES, strict=True))


def test_raw_from_the_page_the_api_and_the_command(
    client, api_as, researcher, project, tmp_path, django_capture_on_commit_callbacks
):
    url = f"/annotation/projects/{project.id}/votes/export/"
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"export-format": "csv"})
        client.post(url, {"export-format": "csv", "export-raw": "on"})
    escaped, raw = Job.objects.filter(kind__contains="votes").order_by("created_at")
    assert (escaped.params["raw"], raw.params["raw"]) == (False, True)
    assert "'=1+1" in {r["item"] for r in rows(escaped.result_file.read())}
    assert "=1+1" in {r["item"] for r in rows(raw.result_file.read())}

    api = api_as(researcher)
    response = api.post(
        f"/api/annotation/projects/{project.id}/votes/export/",
        {"format": "csv", "raw": True},
        format="json",
    )
    assert response.status_code == 202
    assert Job.objects.get(pk=response.json()["job"]).params["raw"] is True

    out = io.StringIO()
    call_command("annotation_votes", "--project", str(project.id), stdout=out)
    assert "'=1+1" in {r["item"] for r in rows(out.getvalue())}
    call_command(
        "annotation_votes", "--project", str(project.id), "--raw",
        "--output", str(tmp_path / "raw.csv"),
    )  # fmt: skip
    assert "=1+1" in {r["item"] for r in rows((tmp_path / "raw.csv").read_bytes())}
