"""Pages and API: researchers see and download, outsiders get 404 everywhere."""

from __future__ import annotations

import io
import zipfile

import pytest

from benchmarks.models import Dataset, DatasetSource, Version
from benchmarks.services import dataset_create, version_build, version_export_start
from jobs.models import Job
from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame
from tests.conftest import post_refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(uploaded, researcher):
    return version_build(dataset=uploaded, user=researcher)


@pytest.fixture
def export_job(version, researcher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = version_export_start(version=version, user=researcher)
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    return job


def page_urls(dataset, version, job) -> list[str]:
    base = f"/benchmarks/datasets/{dataset.id}"
    return [
        f"/benchmarks/studies/{dataset.study_id}/datasets/",
        f"{base}/",
        f"{base}/versions/1/",
        f"{base}/versions/1/items/",
        f"{base}/versions/1/diff/1/",
        f"{base}/versions/1/exports/{job.id}/download/",
    ]


def api_urls(dataset, version, job) -> list[str]:
    base = f"/api/benchmarks/datasets/{dataset.id}"
    return [
        f"/api/benchmarks/studies/{dataset.study_id}/datasets/",
        f"{base}/",
        f"{base}/versions/",
        f"{base}/versions/1/",
        f"{base}/versions/1/items/",
        f"{base}/versions/1/diff/1/",
        f"{base}/versions/1/exports/{job.id}/download/",
    ]


def test_researcher_and_colleague_see_every_page(client, uploaded, version, export_job, colleague):
    for user in (uploaded.study.created_by, colleague):
        client.force_login(user)
        for url in page_urls(uploaded, version, export_job):
            response = client.get(url)
            assert response.status_code == 200, url


def test_outsider_gets_404_on_pages_api_and_downloads(
    client, api_as, uploaded, version, export_job, outsider
):
    client.force_login(outsider)
    for url in page_urls(uploaded, version, export_job):
        assert client.get(url).status_code == 404, url
    api = api_as(outsider)
    for url in api_urls(uploaded, version, export_job):
        response = api.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"errors": {"non_field_errors": ["Not found."]}}
    base = f"/api/benchmarks/datasets/{uploaded.id}"
    assert api.post(f"{base}/build/").status_code == 404
    assert api.post(f"{base}/versions/1/exports/").status_code == 404
    assert client.post(f"/benchmarks/datasets/{uploaded.id}/build/").status_code == 404
    assert Job.objects.count() == 1
    assert Version.objects.count() == 1


def test_anonymous_is_sent_to_login(client, uploaded):
    response = client.get(f"/benchmarks/datasets/{uploaded.id}/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_staff_who_are_not_members_may_not_download(
    client, uploaded, version, export_job, outsider
):
    """Staff status grants no study: the export is for the study's members."""
    outsider.is_staff = True
    outsider.save()
    client.force_login(outsider)
    url = f"/benchmarks/datasets/{uploaded.id}/versions/1/exports/{export_job.id}/download/"
    assert client.get(url).status_code == 404
    assert client.get(f"/jobs/{export_job.id}/download/").status_code == 404


def test_download_is_the_export_zip(client, researcher, uploaded, version, export_job):
    client.force_login(researcher)
    url = f"/benchmarks/datasets/{uploaded.id}/versions/1/exports/{export_job.id}/download/"
    response = client.get(url)
    assert response["Content-Disposition"] == 'attachment; filename="emotions-v1.zip"'
    content = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        assert "README.md" in zf.namelist()
    assert export_job.result == {"version_id": version.pk, "file": "emotions-v1.zip",
                                 "bytes": len(content)}  # fmt: skip


def test_version_page_shows_rules_side_by_side_and_charts(client, researcher, uploaded, version):
    client.force_login(researcher)
    body = client.get(f"/benchmarks/datasets/{uploaded.id}/versions/1/").content.decode()
    assert version.sha256 in body
    assert 'id="data-loss"' in body
    for rule in version.rules:
        assert f"<h3>{rule}</h3>" in body
    items = client.get(f"/benchmarks/datasets/{uploaded.id}/versions/1/items/").content.decode()
    assert "<th>majority</th><th>plurality</th><th>all_inclusive</th><th>soft</th>" in items
    assert "i00" in items
    assert "Page 1 of 1" in items


def test_build_from_the_page_runs_the_job(client, researcher, uploaded,
                                          django_capture_on_commit_callbacks):  # fmt: skip
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/benchmarks/datasets/{uploaded.id}/build/")
    assert response.status_code == 302
    job = Job.objects.get(kind="benchmark_build")
    version = Version.objects.get()
    assert (job.status, job.progress) == ("succeeded", 100)
    assert job.result == {"version_id": version.pk, "number": 1, "sha256": version.sha256}


def test_failed_build_job_names_the_problem(api_as, researcher, uploaded,
                                            django_capture_on_commit_callbacks):  # fmt: skip
    uploaded.categories = ["joy", "anger"]
    uploaded.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(researcher).post(f"/api/benchmarks/datasets/{uploaded.id}/build/")
    assert response.status_code == 202
    job = Job.objects.get()
    assert job.status == "failed"
    assert job.message.startswith("label: 'sadness' is not one of the categories")
    assert Version.objects.count() == 0


def test_a_failed_build_reads_in_korean_on_its_job_page(
    client, researcher, uploaded, settings, django_capture_on_commit_callbacks
):
    from benchmarks.models import DatasetSource

    DatasetSource.objects.filter(dataset=uploaded).delete()
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/benchmarks/datasets/{uploaded.id}/build/")
    job = Job.objects.get(kind="benchmark_build")
    assert job.status == "failed"
    assert job.message == "sources: the dataset has no sources; add a vote table first"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    body = client.get(f"/jobs/{job.id}/").content.decode()
    assert "데이터셋에 소스가 없습니다" in body


def test_upload_page_shows_the_error_and_writes_nothing(client, researcher, dataset):
    client.force_login(researcher)
    bad = io.BytesIO(b"item,voter,label\na,v,fear\n")
    bad.name = "bad.csv"
    response = post_refused(client, f"/benchmarks/datasets/{dataset.id}/sources/", {"file": bad})
    assert "label: &#x27;fear&#x27; is not one of the categories" in response.content.decode()
    assert DatasetSource.objects.count() == 0


def test_api_create_upload_build_items_and_export(api_as, researcher, study,
                                                  django_capture_on_commit_callbacks):  # fmt: skip
    api = api_as(researcher)
    response = api.post(
        f"/api/benchmarks/studies/{study.id}/datasets/",
        {"name": "API set", "categories": CATEGORIES, "rules": ["majority", "plurality"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    dataset_id = response.json()["id"]
    upload = io.BytesIO(csv_bytes(vote_frame()))
    upload.name = "votes.csv"
    response = api.post(
        f"/api/benchmarks/datasets/{dataset_id}/sources/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["n_votes"], response.json()["columns"]) == (90, ["speaker"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/benchmarks/datasets/{dataset_id}/build/")
    assert response.status_code == 202
    version = api.get(f"/api/benchmarks/datasets/{dataset_id}/versions/1/").json()
    assert version["rules"] == ["majority", "plurality"]
    assert version["stats"]["n_items"] == 30
    page = api.get(f"/api/benchmarks/datasets/{dataset_id}/versions/1/items/?limit=2&offset=1")
    body = page.json()
    assert body["count"] == 30
    assert [r["item"] for r in body["results"]] == ["i01", "i02"]
    assert set(body["results"][0]["labels"]) == {"majority", "plurality"}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/benchmarks/datasets/{dataset_id}/versions/1/exports/")
    job = response.json()
    download = api.get(
        f"/api/benchmarks/datasets/{dataset_id}/versions/1/exports/{job['id']}/download/"
    )
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"


def test_api_refuses_bad_dataset_input(api_as, researcher, study):
    response = api_as(researcher).post(
        f"/api/benchmarks/studies/{study.id}/datasets/",
        {"name": "X", "categories": [], "colour": "red", "rules": ["vote"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"colour": ["Unknown field."]}}
    response = api_as(researcher).post(
        f"/api/benchmarks/studies/{study.id}/datasets/",
        {"name": "X", "categories": ["a", "a"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"categories": ["Categories must be distinct."]}}
    assert Dataset.objects.count() == 0


def test_dataset_list_has_a_fixed_number_of_queries(api_as, researcher, study,
                                                    django_assert_num_queries):  # fmt: skip
    for i in range(4):
        dataset_create(study=study, user=researcher, name=f"D{i}", categories=["a", "b"])
    api = api_as(researcher)
    with django_assert_num_queries(2):
        response = api.get(f"/api/benchmarks/studies/{study.id}/datasets/")
    assert [d["name"] for d in response.json()] == ["D0", "D1", "D2", "D3"]


def test_admin_export_action_starts_a_job(client, uploaded, version, outsider,
                                          django_capture_on_commit_callbacks):  # fmt: skip
    outsider.is_staff = True
    outsider.is_superuser = True
    outsider.save()
    client.force_login(outsider)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/benchmarks/version/",
            {"action": "export_versions", "_selected_action": [version.pk]},
        )
    assert response.status_code == 302
    job = Job.objects.get(kind="benchmark_export")
    assert (job.status, job.params["version_id"]) == ("succeeded", version.pk)
    change = client.get(f"/admin/benchmarks/version/{version.pk}/change/")
    assert change.status_code == 200
    assert b'name="sha256"' not in change.content


def test_dataset_page_in_korean(client, researcher, uploaded):
    client.force_login(researcher)
    response = client.get(f"/benchmarks/datasets/{uploaded.id}/", headers={"accept-language": "ko"})
    body = response.content.decode()
    assert "새 버전 만들기" in body
    assert "votes.csv (90표)" in body


def test_study_cards_link_to_the_datasets(client, researcher, uploaded, version):
    client.force_login(researcher)
    body = client.get("/").content.decode()
    assert f'href="/benchmarks/datasets/{uploaded.id}/">Emotions</a>' in body
    page = client.get(f"/benchmarks/datasets/{uploaded.id}/versions/1/").content.decode()
    rows = {row["split"]: row["items"] for row in version.stats["splits"]}
    for split, n in rows.items():
        assert f'<tr><td>{split}</td><td class="num">{n}</td>' in page


def test_item_pages_filter_a_split_and_slice_it(client, researcher, uploaded, version):
    from benchmarks.selectors import version_items, version_items_page

    everything = version_items(version=version)
    split = str(everything["split"].iloc[0])
    wanted = everything.loc[everything["split"] == split, "item"].tolist()
    page, count = version_items_page(version=version, offset=1, limit=2, split=split)
    assert count == len(wanted)
    assert page["item"].tolist() == wanted[1:3]
    assert list(page.index) == [1, 2]
    assert set(page["split"]) == {split}
    empty, count = version_items_page(version=version, offset=count, limit=5, split=split)
    assert (len(empty), count) == (0, len(wanted))
    client.force_login(researcher)
    body = client.get(
        f"/benchmarks/datasets/{uploaded.id}/versions/1/items/", {"split": split}
    ).content.decode()
    assert all(f"<td>{item}</td>" in body for item in wanted)
    others = everything.loc[everything["split"] != split, "item"].tolist()
    assert not any(f"<td>{item}</td>" in body for item in others)


def test_api_items_page_past_the_end_is_empty(api_as, researcher, uploaded, version):
    # Found by the API fuzz test (tests/test_api_fuzz.py): an offset past the last item used
    # to filter the content table on an empty set, which pyarrow refuses (500).
    api = api_as(researcher)
    page = api.get(f"/api/benchmarks/datasets/{uploaded.id}/versions/1/items/?offset=150")
    assert page.status_code == 200
    assert page.json() == {"count": 30, "results": []}
