"""Hostile values on the annotation side: each is a 4xx naming the field, nothing stored.

Before the bounds each was a 500: a CSV field over 128 KB (csv.Error), a JSONL item nested
100,000 deep (RecursionError), an external id over 200 characters and expert raters 2^31
(DataError), expert-sample seeds of 10^30, 2^63 or -1 (numpy refuses a negative seed), and a
rating scale up to 10^20 (every rater's page built a list of 10^20 options).
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Annotation, Item, Project
from annotation.services import items_import
from tests.annotation.factories import emotion_project, raters, text_items
from tests.conftest import post_refused

pytestmark = pytest.mark.django_db

AT_MOST = "Ensure this value is less than or equal to {}."
AT_LEAST = "Ensure this value is greater than or equal to {}."
BETWEEN = "min and max must lie between -1000 and 1000."
SEEDS = [
    (10**30, AT_MOST.format(2**32 - 1)),
    (2**63, AT_MOST.format(2**32 - 1)),
    (-1, AT_LEAST.format(0)),
]


@pytest.fixture
def project(study, researcher):
    return emotion_project(study=study, user=researcher, k=2)


def post_items(api, project, data: bytes, name: str):
    upload = io.BytesIO(data)
    upload.name = name
    return api.post(
        f"/api/annotation/projects/{project.id}/items/", {"file": upload}, format="multipart"
    )


def test_csv_text_over_128_kb_is_imported(api_as, researcher, project):
    """The probe's 200,000-character passage: a 500 before, an item now (the limit is a
    setting, 1,048,576 characters by default)."""
    text = "word " * 40_000
    response = post_items(
        api_as(researcher), project, f"external_id,text\nlong,{text}\n".encode(), "i.csv"
    )
    assert response.status_code == 201
    assert len(Item.objects.get(external_id="long").text) == 200_000


def test_csv_field_beyond_the_set_maximum_names_line_and_column(
    api_as, researcher, project, settings
):
    settings.IMPORT_CSV_FIELD_MAX_CHARS = 1000
    data = f'external_id,text\nok,fine\nlong,"{"x" * 1001}"\n'.encode()
    response = post_items(api_as(researcher), project, data, "i.csv")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "file": ["Line 3, column 'text': a value of 1,001 characters; the limit is 1,000."]
        }
    }
    assert Item.objects.count() == 0


def test_jsonl_item_nested_100000_deep(api_as, researcher, project):
    deep = "[" * 100_000 + "]" * 100_000
    data = (
        json.dumps({"external_id": "a", "text": "x"})
        + "\n"
        + f'{{"external_id": "b", "metadata": {deep}}}\n'
    ).encode()
    response = post_items(api_as(researcher), project, data, "items.jsonl")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"file": ["Line 2: JSON nested more than 32 levels deep."]}
    }
    assert Item.objects.count() == 0


def test_jsonl_item_just_deeper_than_the_limit(researcher, project, settings):
    # The line's object, its metadata object and 30 lists: 32 levels.
    line = {"external_id": "a", "text": "x", "metadata": {"k": json.loads("[" * 30 + "]" * 30)}}
    report = items_import(project=project, data=json.dumps(line).encode(), filename="i.jsonl")
    assert report.created == 1
    line["external_id"] = "b"
    line["metadata"] = {"k": json.loads("[" * 31 + "]" * 31)}
    with pytest.raises(ValidationError) as err:
        items_import(project=project, data=json.dumps(line).encode(), filename="i.jsonl")
    assert err.value.message_dict == {"file": ["Line 1: JSON nested more than 32 levels deep."]}
    assert list(Item.objects.values_list("external_id", flat=True)) == ["a"]


def test_metadata_cell_nested_too_deep_is_a_row_error(project):
    deep = "[" * 5000 + "]" * 5000
    data = f'external_id,text,metadata\na,x,"{deep}"\n'.encode()
    report = items_import(project=project, data=data, filename="i.csv")
    assert report.rows == [
        {"row": 1, "external_id": "a", "status": "error",
         "errors": ["metadata: JSON nested more than 32 levels deep"]},
    ]  # fmt: skip
    assert Item.objects.count() == 0


def test_external_id_longer_than_its_column(api_as, researcher, project):
    data = f"external_id,text\nok,fine\n{'x' * 201},too long\n{'y' * 200},just fits\n".encode()
    response = post_items(api_as(researcher), project, data, "i.csv")
    assert response.status_code == 400
    assert response.json()["errors"] == {"rows.2": ["external_id: 201 characters; at most 200"]}
    assert Item.objects.count() == 0


def project_body(study, **extra):
    return {
        "study": study.id,
        "name": "Clips",
        "categories": [{"key": "joy", "name": "Joy"}, {"key": "anger", "name": "Anger"}],
        **extra,
    }


@pytest.mark.parametrize(
    ("extra", "errors"),
    [
        ({"expert_raters_per_item": 2**31}, {"expert_raters_per_item": [AT_MOST.format(20)]}),
        ({"raters_per_item": 2**15}, {"raters_per_item": [AT_MOST.format(1000)]}),
        ({"scales": [{"key": "a", "min": 1, "max": 10**20}]},
         {"scales.0.max": [AT_MOST.format(1000)]}),
        ({"scales": [{"key": "a", "min": 1, "max": 10**6}]},
         {"scales.0.max": [AT_MOST.format(1000)]}),
        ({"scales": [{"key": "a", "min": -1000, "max": 1000}]},
         {"scales.0.max": ["A scale has at most 101 points."]}),
        ({"scales": [{"key": f"s{i}"} for i in range(21)]},
         {"scales": ["At most 20 rating scales."]}),
        ({"media_max_bytes": 0}, {"media_max_bytes": [AT_LEAST.format(1)]}),
    ],
)  # fmt: skip
def test_project_numbers_beyond_their_columns(api_as, researcher, study, extra, errors):
    response = api_as(researcher).post(
        "/api/annotation/projects/", project_body(study, **extra), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert Project.objects.count() == 0


def test_widest_scale_is_accepted_and_its_page_stays_small(api_as, client, researcher, study):
    body = project_body(study, scales=[{"key": "vas", "min": 0, "max": 100}])
    response = api_as(researcher).post("/api/annotation/projects/", body, format="json")
    assert response.status_code == 201
    project = Project.objects.get()
    text_items(project, 1)
    (ana,) = raters(project, 1, prefix="ana")
    client.force_login(ana)
    page = client.get(f"/annotation/projects/{project.pk}/annotate/")
    assert page.status_code == 200
    content = page.content.decode()
    select = content[content.index('id="rating-vas"') :]
    select = select[: select.index("</select>")]
    assert select.count("<option value=") == 1 + 101  # "no rating", then 0 to 100
    assert len(page.content) < 100_000


@pytest.mark.parametrize(
    ("scales", "message"),
    [
        ("a | A | 1 | 100000000000000000000", f"Line 1: {BETWEEN}"),
        ("a | A | 1 | 1000000", f"Line 1: {BETWEEN}"),
        ("a | A | 1 | 500", "Line 1: A scale has at most 101 points."),
        (f"{'k' * 65} | A | 1 | 5", "Line 1: A unique slug is required."),
    ],
)  # fmt: skip
def test_scale_bounds_on_the_new_project_page(client, researcher, study, scales, message):
    from tests.annotation.test_setup_pages import SCHEMA

    client.force_login(researcher)
    body = {**SCHEMA, "not_secondary": "", "scales": scales}
    response = post_refused(client, f"/annotation/studies/{study.pk}/new/", body)
    assert response.context["form"].errors["scales"] == [message]
    assert Project.objects.count() == 0


def test_category_fields_longer_than_their_columns_on_the_new_project_page(
    client, researcher, study
):
    from tests.annotation.test_setup_pages import SCHEMA

    client.force_login(researcher)
    for categories, message in [
        (f"{'k' * 65}\njoy", "Line 1: At most 64 characters."),
        (f"joy | {'N' * 201}", "Line 1: At most 200 characters."),
    ]:
        body = {**SCHEMA, "not_secondary": "", "categories": categories}
        response = post_refused(client, f"/annotation/studies/{study.pk}/new/", body)
        assert response.context["form"].errors["categories"] == [message]
    assert Project.objects.count() == 0


@pytest.mark.parametrize(("seed", "message"), SEEDS)
def test_expert_sample_seed_beyond_range(api_as, researcher, project, seed, message):
    text_items(project, 4)
    response = api_as(researcher).post(
        f"/api/annotation/projects/{project.pk}/expert-sample/",
        {"experts_per_item": 1, "sample_rate": 0.5, "seed": seed},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"seed": [message]}}
    project.refresh_from_db()
    assert (project.expert_raters_per_item, project.expert_sample_rate) == (0, 0.0)
    assert not Item.objects.filter(expert_slots_total__gt=0).exists()


def test_expert_sample_seed_on_the_settings_page(client, researcher, project):
    text_items(project, 4)
    client.force_login(researcher)
    response = post_refused(
        client,
        f"/annotation/projects/{project.pk}/expert-sample/",
        {"sample-experts_per_item": "1", "sample-sample_rate": "0.5", "sample-seed": "-1"},
    )
    assert response.context["sample_form"].errors["seed"] == [AT_LEAST.format(0)]
    assert not Item.objects.filter(expert_slots_total__gt=0).exists()


def test_expert_sample_seed_in_the_service(project):
    from annotation.services import expert_sample_set

    text_items(project, 4)
    for seed in (-1, 2**63):
        with pytest.raises(ValidationError) as err:
            expert_sample_set(project=project, experts_per_item=1, sample_rate=0.5, seed=seed)
        assert err.value.message_dict == {"seed": ["A whole number from 0 to 4,294,967,295."]}
    assert (
        expert_sample_set(project=project, experts_per_item=1, sample_rate=0.5, seed=2**32 - 1) == 2
    )


def test_time_on_item_beyond_its_column(api_as, project):
    text_items(project, 1)
    (ana,) = raters(project, 1, prefix="ana")
    client = api_as(ana)
    lease = client.post(f"/api/annotation/projects/{project.id}/next/").json()
    response = client.post(
        f"/api/annotation/projects/{project.id}/submit/",
        {"item": lease["item"]["id"], "labels": [{"category": "joy"}], "time_ms": 10**12},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"time_ms": [AT_MOST.format(2**31 - 1)]}}
    assert Annotation.objects.count() == 0


def test_time_on_item_from_the_page_that_int_cannot_read(client, project):
    """The page sends time_ms as text: a digit int() refuses ("²"), or thousands of digits,
    is taken as no time (the lease's); a number beyond the column is refused, naming it."""
    text_items(project, 3)
    (ana,) = raters(project, 1, prefix="ana")
    client.force_login(ana)
    url = f"/annotation/projects/{project.id}/annotate/submit/"
    for number, junk in enumerate(["²", "9" * 5000]):
        client.get(f"/annotation/projects/{project.id}/annotate/")
        item = Item.objects.get(external_id=f"t{number:02d}")
        response = client.post(url, {"item": item.id, "primary": "joy", "time_ms": junk})
        assert response.status_code == 302
        assert Annotation.objects.get(assignment__item=item).time_ms is not None
    client.get(f"/annotation/projects/{project.id}/annotate/")
    item = Item.objects.get(external_id="t02")
    page = client.post(url, {"item": item.id, "primary": "joy", "time_ms": "9" * 13}, follow=True)
    assert "time_ms: " in page.content.decode()
    assert not Annotation.objects.filter(assignment__item=item).exists()
