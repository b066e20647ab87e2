"""JSON nested too deep: a 400 from every API, never a RecursionError (a 500).

Python's parser gives up at about 1,000 levels with a RecursionError; a body 100,000 levels
deep took every JSON endpoint down. The API's parser (``config.api.BoundedJSONParser``, the
default in ``REST_FRAMEWORK``) refuses anything deeper than ``JSON_MAX_DEPTH`` (32).
"""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from accounts.models import Study
from config.inputs import csv_rows, json_depth_exceeds, json_loads

pytestmark = pytest.mark.django_db

TOO_DEEP = {"errors": {"non_field_errors": ["JSON parse error - nested more than 32 levels deep."]}}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def body(depth: int, field: str, **others) -> str:
    """A JSON object (one level) whose ``field`` holds lists ``depth - 1`` levels deep."""
    fields = {**others, field: "@"}
    return json.dumps(fields).replace('"@"', nested(depth - 1))


def endpoints(study, researcher):
    from annotation.services import project_create

    project = project_create(
        study=study, user=researcher, name="P", categories=[{"key": "a"}, {"key": "b"}]
    )
    return [
        ("/api/studies/", "description", {"name": "S"}),
        (f"/api/annotation/projects/{project.pk}/categories/", "categories", {}),
        ("/api/surveys/designs/", "parameters", {"population": 1}),
        (f"/api/benchmarks/studies/{study.pk}/datasets/", "parameters", {"name": "D"}),
    ]


@pytest.mark.parametrize("depth", [100_000, 2000, 33])
def test_deep_bodies_are_a_400_on_every_app(api_as, researcher, study, depth):
    api = api_as(researcher)
    for url, field, others in endpoints(study, researcher):
        method = api.put if "categories" in url else api.post
        response = method(url, body(depth, field, **others), content_type="application/json")
        assert (url, response.status_code, response.json()) == (url, 400, TOO_DEEP)
    assert Study.objects.count() == 1


def test_a_body_at_the_limit_is_parsed_and_validated(api_as, researcher, study):
    """32 levels pass the parser; the serializer then names the field that is wrong."""
    response = api_as(researcher).post(
        "/api/studies/", body(32, "description", name="S"), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"description": ["Not a valid string."]}}


def test_form_and_multipart_bodies_are_not_affected(api_as, researcher):
    response = api_as(researcher).post("/api/studies/", {"name": "By form"})
    assert response.status_code == 201


def test_depth_helpers():
    assert not json_depth_exceeds(1, 0)
    assert json_depth_exceeds([], 0)
    assert not json_depth_exceeds({"a": [[]]}, 3)
    assert json_depth_exceeds({"a": [[{}]]}, 3)
    assert json_loads(nested(32)) == json.loads(nested(32))
    for depth in (33, 100_000):
        with pytest.raises(ValueError, match="nested more than 32 levels deep"):
            json_loads(nested(depth))


def test_csv_rows_names_the_line_and_column_of_a_long_cell(settings):
    from django.core.exceptions import ValidationError

    settings.IMPORT_CSV_FIELD_MAX_CHARS = 5
    header, rows = csv_rows('a,b\n1,"x\ny"\n12,123456\n')
    assert header == ["a", "b"]
    assert next(rows) == (3, ["1", "x\ny"])
    with pytest.raises(ValidationError) as err:
        next(rows)
    assert err.value.message_dict == {
        "file": ["Line 4, column 'b': a value of 6 characters; the limit is 5."]
    }
    # In the reader's language.
    with translation.override("ko"), pytest.raises(ValidationError) as err:
        list(csv_rows("a,b\n12,123456\n")[1])
    assert err.value.message_dict == {"file": ["2행, 'b' 열: 값이 6자입니다. 한도는 5자입니다."]}
    settings.JSON_MAX_DEPTH = 5
    with translation.override("ko"), pytest.raises(ValueError, match="5단계보다 깊게 중첩됨"):
        json_loads("[" * 6 + "]" * 6)
