"""Bad input on an API write: a 400 that names the field, and nothing written."""

from __future__ import annotations

import pytest

from accounts.models import Study, StudyMember

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_400_and_writes_nothing(api_as, researcher):
    response = api_as(researcher).post(
        "/api/studies/", data='{"name": "broken', content_type="application/json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["non_field_errors"]
    assert "JSON parse error" in errors["non_field_errors"][0]
    assert Study.objects.count() == 0


def test_unknown_field_is_named_and_nothing_is_written(api_as, researcher):
    response = api_as(researcher).post(
        "/api/studies/", data={"name": "Ok", "owner": 3, "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"colour": ["Unknown field."], "owner": ["Unknown field."]}
    }
    assert Study.objects.count() == 0
    assert StudyMember.objects.count() == 0


def test_missing_and_too_long_fields_are_named(api_as, researcher):
    client = api_as(researcher)
    response = client.post("/api/studies/", data={}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"name": ["This field is required."]}}

    response = client.post("/api/studies/", data={"name": "x" * 201}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["name"] == [
        "Ensure this field has no more than 200 characters."
    ]
    assert Study.objects.count() == 0


def test_valid_write_creates_the_study_and_its_owner(api_as, researcher):
    response = api_as(researcher).post(
        "/api/studies/", data={"name": "Emotions", "description": "Speech"}, format="json"
    )
    assert response.status_code == 201
    study = Study.objects.get()
    assert response.json()["id"] == study.id
    assert list(study.members.values_list("user__username", "role")) == [("rosa", "owner")]
