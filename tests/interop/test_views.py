"""The import page, API and project export: permissions, bad input as 4xx naming the field,
and labels exported by Chorus in each tool's format read back as the project's vote table."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from interop.models import LabelImport
from interop.parsers import Input, parse
from interop.services import label_import_start
from interop.writers import WRITERS
from jobs.models import Job
from sources import registry
from sources.registry import SourceRef
from tests.conftest import post_refused
from tests.interop.test_parsers import FIXTURES

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def imported(study, researcher):
    label_import = label_import_start(
        study=study, user=researcher, tool="label-studio", name="Reviews",
        upload=SimpleUploadedFile("ls.json", (FIXTURES / "label-studio.json").read_bytes()),
    )  # fmt: skip
    label_import.refresh_from_db()
    assert label_import.project is not None
    return label_import


@pytest.mark.parametrize("tool", sorted(WRITERS))
def test_project_exported_in_a_tools_format_reads_back_the_same(client, researcher, imported, tool):
    client.force_login(researcher)
    project = imported.project
    response = client.post(
        "/interop/export/", {"project": f"{imported.study_id}:{project.pk}", "tool": tool}
    )
    job = Job.objects.get(kind="interop_export")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == "succeeded", job.message
    suffix = WRITERS[tool][1]
    assert job.result_file.name.endswith(f"reviews-{suffix}")
    with job.result_file.open("rb") as fh:
        content = fh.read()
    ref = SourceRef(kind="annotation", study_id=imported.study_id, object_id=project.pk)
    votes = registry.vote_table(ref)
    parsed = parse(tool, [Input.from_bytes(suffix, content)])
    cols = ["item", "voter", "label"]
    want = votes[cols].astype(str).sort_values(cols).values.tolist()
    assert parsed.votes[cols].values.tolist() == want


def test_outsider_sees_no_import_and_cannot_export(client, outsider, imported):
    client.force_login(outsider)
    assert client.get(f"/interop/imports/{imported.pk}/").status_code == 404
    response = post_refused(
        client,
        "/interop/export/",
        {"project": f"{imported.study_id}:{imported.project_id}", "tool": "doccano"},
    )
    assert b"Select a valid choice" in response.content
    assert not Job.objects.filter(kind="interop_export").exists()


def test_page_refuses_a_study_of_someone_else(client, outsider, study):
    client.force_login(outsider)
    response = post_refused(client,
        "/interop/",
        {
            "study": study.pk, "tool": "prodigy", "name": "x",
            "file": SimpleUploadedFile("db.jsonl", (FIXTURES / "prodigy.jsonl").read_bytes()),
        },
    )  # fmt: skip
    assert "Select a valid choice" in response.content.decode()
    assert not LabelImport.objects.exists()


def test_a_refused_import_comes_back_with_what_was_typed(client, researcher, study):
    """The form goes back to the import page (a GET address) with the error and the values
    typed; the file has to be chosen again (browsers never fill a file field in)."""
    client.force_login(researcher)
    page = post_refused(
        client, "/interop/", {"study": study.pk, "tool": "prodigy", "name": "Reviews"}
    )
    assert list(page.context["form"].errors) == ["file"]
    html = page.content.decode()
    assert 'value="Reviews"' in html
    assert f'<option value="{study.pk}" selected>' in html
    assert not LabelImport.objects.exists()


def test_api_starts_and_follows_an_import(api_as, researcher, study):
    client = api_as(researcher)
    with (FIXTURES / "prodigy.jsonl").open("rb") as fh:
        response = client.post(
            "/api/interop/imports/",
            {"study": study.pk, "tool": "prodigy", "name": "Reviews", "file": fh},
            format="multipart",
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["job"]["status"] == "succeeded"
    assert body["summary"]["votes"] == 3
    detail = client.get(f"/api/interop/imports/{body['id']}/").json()
    assert detail["project"] == body["project"] is not None


def test_api_bad_input_names_the_field(api_as, researcher, study):
    client = api_as(researcher)
    response = client.post(
        "/api/interop/imports/",
        {"study": study.pk, "tool": "excel", "name": "x", "colour": "red"},
        format="multipart",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"colour"}
    response = client.post(
        "/api/interop/imports/", {"study": study.pk, "tool": "excel", "name": "x"},
        format="multipart",
    )  # fmt: skip
    assert set(response.json()["errors"]) == {"tool", "file"}
