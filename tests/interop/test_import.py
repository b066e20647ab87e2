"""An import of another tool's export becomes an annotation project read through the source
contract: its vote table is the parser's (rater keys pseudonymised), its items carry their
text and gold label, and a bad file leaves nothing behind."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import ImportedRating, Item, Project
from interop.models import LabelImport
from interop.parsers import Input, parse
from interop.services import label_import_start
from jobs.models import Job
from sources import registry
from sources.registry import SourceRef
from tests.interop.test_parsers import FIXTURES

pytestmark = pytest.mark.django_db(transaction=True)


def upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name.rsplit("/", 1)[-1], (FIXTURES / name).read_bytes())


def test_label_studio_export_becomes_a_project(study, researcher):
    label_import = label_import_start(
        study=study, user=researcher, tool="label-studio", name="Reviews",
        upload=upload("label-studio.json"),
    )  # fmt: skip
    label_import.refresh_from_db()
    job = Job.objects.get(pk=label_import.job_id)
    assert job.status == "succeeded", job.message
    assert job.result["votes"] == 5 and job.result_file
    project = label_import.project
    assert (project.name, project.mode, project.raters_per_item) == ("Reviews", "multi_label", 2)
    ref = SourceRef(kind="annotation", study_id=study.pk, object_id=project.pk)
    votes = registry.vote_table(ref)
    expected = parse("label-studio", [Input.from_path(FIXTURES / "label-studio.json")]).votes
    names = {v: f"label-studio{label_import.pk}.{v}" for v in expected["voter"].unique()}
    # The annotation source pseudonymises raters by their account id; compare by label rows.
    got = sorted(zip(votes["item"], votes["label"], strict=True))
    assert got == sorted(zip(expected["item"], expected["label"], strict=True))
    assert votes["voter"].nunique() == 3
    assert ImportedRating.objects.filter(item__project=project).count() == 5
    items = registry.item_table(ref).set_index("item")
    assert items.loc["1", "text"] == "The food was great"
    assert items.loc["2", "gold"] == "Negative"
    assert items.loc["2", "source_tool"] == "label-studio"
    assert set(names.values()) == set(
        ImportedRating.objects.filter(item__project=project)
        .values_list("rater__username", flat=True)
        .distinct()
    )
    # The project's agreement statistic reads the imported votes like any rating.
    from annotation.selectors import project_agreement

    report = project_agreement(project=project, n_boot=0, seed=0)
    assert report


@pytest.mark.parametrize(
    ("tool", "name", "message"),
    [
        ("label-studio", "doccano/alice.jsonl", "not a Label Studio JSON export"),
        ("doccano", "doccano/all.jsonl", "loses who gave which"),
    ],
)
def test_a_bad_file_imports_nothing(study, researcher, tool, name, message):
    label_import = label_import_start(
        study=study, user=researcher, tool=tool, name="Bad", upload=upload(name)
    )
    job = Job.objects.get(pk=label_import.job_id)
    assert job.status == "failed"
    assert message in job.message and name.rsplit("/", 1)[-1] in job.message
    assert job.message.startswith("Nothing imported")
    assert not Project.objects.filter(study=study).exists()
    assert not Item.objects.exists()
    assert LabelImport.objects.get(pk=label_import.pk).project is None


def test_a_record_with_no_rater_imports_nothing(study, researcher):
    data = b'[{"id": 1, "data": {"text": "x"}, "annotations": [{"result": []}]}]'
    label_import = label_import_start(
        study=study, user=researcher, tool="label-studio", name="Bad",
        upload=SimpleUploadedFile("ls.json", data),
    )  # fmt: skip
    job = Job.objects.get(pk=label_import.job_id)
    assert job.status == "failed"
    assert "ls.json, record 1 (task 1), annotation 1: no rater" in job.message
    assert not Project.objects.filter(study=study).exists()


def test_size_limit_refuses_before_keeping_anything(study, researcher, settings):
    settings.INTEROP_MAX_BYTES = 10
    with pytest.raises(ValidationError, match="at most 10 per import"):
        label_import_start(
            study=study, user=researcher, tool="prodigy", name="Big", upload=upload("prodigy.jsonl")
        )
    assert not LabelImport.objects.exists() and not Job.objects.exists()


def test_each_tool_imports(study, researcher):
    for tool, name in [
        ("doccano", "doccano/bob.jsonl"),
        ("argilla", "argilla.jsonl"),
        ("prodigy", "prodigy.jsonl"),
    ]:
        label_import = label_import_start(
            study=study, user=researcher, tool=tool, name=tool, upload=upload(name)
        )
        job = Job.objects.get(pk=label_import.job_id)
        assert job.status == "succeeded", (tool, job.message)


def test_the_report_download_escapes_formula_cells(study, researcher):
    line = {
        "text": "a",
        "label": "S",
        "answer": "ignore",
        "_input_hash": 1,
        "_annotator_id": "=1+1",
    }
    ok = {"text": "a", "label": "S", "answer": "accept", "_input_hash": 1, "_annotator_id": "x"}
    data = "\n".join(json.dumps(x) for x in (line, ok)).encode()
    label_import = label_import_start(
        study=study, user=researcher, tool="prodigy", name="Formulas",
        upload=SimpleUploadedFile("db.jsonl", data),
    )  # fmt: skip
    job = Job.objects.get(pk=label_import.job_id)
    assert job.status == "succeeded", job.message
    with job.result_file.open("rb") as fh:
        text = fh.read().decode("utf-8-sig")
    assert "'=1+1" in text and ",=1+1" not in text


@pytest.mark.celery_worker
def test_an_import_runs_on_a_worker_and_reports_progress(celery_worker, study, researcher):
    import time

    label_import = label_import_start(
        study=study, user=researcher, tool="doccano", name="Phones",
        upload=upload("doccano/alice.jsonl"),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    job = Job.objects.get(pk=label_import.job_id)
    while job.status not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert (job.status, job.progress, job.attempts) == ("succeeded", 100, 1), job.message
    assert job.message == "3 votes by 1 rater on 2 items imported into Phones."
    label_import.refresh_from_db()
    assert label_import.project is not None and label_import.summary["votes"] == 3


def test_model_suggestions_are_kept_apart_and_downloadable(client, study, researcher, outsider):
    label_import = label_import_start(
        study=study, user=researcher, tool="label-studio", name="Reviews",
        upload=upload("label-studio.json"),
    )  # fmt: skip
    label_import.refresh_from_db()
    # The fixture holds one prediction: task 1, model sentiment-v1, "Positive" at 0.91.
    assert label_import.summary["suggestions"] == 1
    client.force_login(researcher)
    page = client.get(f"/interop/imports/{label_import.pk}/").content.decode()
    assert 'id="suggestions-link"' in page
    response = client.get(f"/interop/imports/{label_import.pk}/suggestions.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["item", "field", "agent", "label", "score"]
    assert len(rows) == 2
    assert rows[1][:4] == ["1", "sentiment", "sentiment-v1", "Positive"]
    assert float(rows[1][4]) == 0.91
    # The suggestions are not votes.
    assert ImportedRating.objects.filter(item__project=label_import.project).count() == 5
    client.force_login(outsider)
    assert client.get(f"/interop/imports/{label_import.pk}/suggestions.csv").status_code == 404
