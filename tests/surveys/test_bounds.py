"""Hostile values on the survey side: each is a 400 naming the field, and nothing is stored.

Each of these was a 500 (a csv.Error, a DataError from PostgreSQL, a ZeroDivisionError)
before the bounds: a CSV field over 128 KB, a stratum value or a panelist id or a phone
longer than its column, a census count or a seed beyond its integer column, a reservation of
10^12 minutes, a margin of error of 1e-300.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from surveys.models import Cell, Draw, Panelist, PanelistContact, Population, SampleDesign, Survey
from tests.conftest import post_refused

pytestmark = pytest.mark.django_db

AT_MOST = "Ensure this value is less than or equal to {}."
AT_LEAST = "Ensure this value is greater than or equal to {}."


def post_population(api, study, csv: str):
    return api.post(
        "/api/surveys/populations/", {"study": study.pk, "name": "P", "csv": csv}, format="json"
    )


def test_csv_field_over_128_kb_is_read_and_its_row_reported(api_as, researcher, study):
    """Python's csv module stops at 131,072 characters with a bare csv.Error (a 500); the
    limit is raised, and a 200,000-character stratum value is a bad row (it cannot be a cell
    key of at most 300 characters)."""
    response = post_population(api_as(researcher), study, f"region,count\n{'x' * 200_000},5\n")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "rows": [
                "Row 2: the values of region take 200,000 characters together (with "
                "separators); at most 300."
            ]
        }
    }
    assert Population.objects.count() == 0


def test_csv_field_beyond_the_set_maximum_names_its_line_and_column(
    api_as, researcher, study, settings
):
    assert settings.IMPORT_CSV_FIELD_MAX_CHARS == 2**20
    csv = f"region,count\nSeoul,1\n{'x' * (2**20 + 1)},5\n"
    response = post_population(api_as(researcher), study, csv)
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "file": ["Line 3, column 'region': a value of 1,048,577 characters; the limit is "
                     "1,048,576."]
        }
    }  # fmt: skip
    settings.IMPORT_CSV_FIELD_MAX_CHARS = 10
    response = post_population(
        api_as(researcher), study, "region,count\nSeoul,1\nBusan,12345678901\n"
    )
    assert response.json() == {
        "errors": {"file": ["Line 3, column 'count': a value of 11 characters; the limit is 10."]}
    }
    assert Population.objects.count() == 0


def test_population_value_longer_than_its_column(api_as, researcher, study):
    response = post_population(
        api_as(researcher), study, f"region,gender,count\nSeoul,F,1\n{'r' * 299},F,2\n"
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "rows": [
                "Row 3: the values of region, gender take 301 characters together (with "
                "separators); at most 300."
            ]
        }
    }
    assert (Population.objects.count(), Cell.objects.count()) == (0, 0)


def test_population_count_beyond_its_column(api_as, researcher, study):
    response = post_population(api_as(researcher), study, f"region,count\nSeoul,{10**20}\n")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"rows": [f"Row 2: count {10**20} is larger than {2**63 - 1}."]}
    }
    assert Population.objects.count() == 0
    # The largest count the column holds is fine.
    response = post_population(api_as(researcher), study, f"region,count\nSeoul,{2**63 - 1}\n")
    assert response.status_code == 201
    assert Cell.objects.get().count == 2**63 - 1


def test_panel_id_and_phone_longer_than_their_columns(api_as, researcher, panel):
    before = (Panelist.objects.count(), PanelistContact.objects.count())
    csv = (
        "external_id,region,gender,phone\n"
        f"{'p' * 101},Seoul,F,010\n"
        f"P1,Seoul,F,{'1' * 41}\n"
        f"P2,Seoul,F,{'1' * 40}\n"
    )
    response = api_as(researcher).post(
        f"/api/surveys/panels/{panel.pk}/import/", {"csv": csv}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "rows": [
                "Row 2: external_id of 101 characters; at most 100.",
                "Row 3: phone of 41 characters; at most 40.",
            ]
        }
    }
    assert (Panelist.objects.count(), PanelistContact.objects.count()) == before


def test_email_longer_than_its_column(api_as, researcher, panel):
    email = f"{'a' * 60}@{'b' * 190}.org"  # 255 characters
    csv = f"external_id,region,gender,email\nP1,Seoul,F,{email}\n"
    response = api_as(researcher).post(
        f"/api/surveys/panels/{panel.pk}/import/", {"csv": csv}, format="json"
    )
    assert response.json() == {"errors": {"rows": ["Row 2: email of 255 characters; at most 254."]}}


def test_reservation_minutes_beyond_its_column(api_as, researcher, study):
    api = api_as(researcher)
    body = {"study": study.pk, "title_en": "S", "reservation_minutes": 10**12}
    response = api.post("/api/surveys/surveys/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"reservation_minutes": [AT_MOST.format(10080)]}}
    assert Survey.objects.count() == 0


def test_reservation_minutes_on_update(api_as, researcher, survey):
    response = api_as(researcher).patch(
        f"/api/surveys/surveys/{survey.pk}/", {"reservation_minutes": 10**12}, format="json"
    )
    assert response.json() == {"errors": {"reservation_minutes": [AT_MOST.format(10080)]}}
    survey.refresh_from_db()
    assert survey.reservation_minutes == 60


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        (10**30, AT_MOST.format(2**32 - 1)),
        (2**63, AT_MOST.format(2**32 - 1)),
        (-1, AT_LEAST.format(0)),
    ],
)
def test_draw_seed_beyond_range(api_as, researcher, survey, seed, message):
    response = api_as(researcher).post(
        f"/api/surveys/surveys/{survey.pk}/draws/", {"seed": seed}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"seed": [message]}}
    assert Draw.objects.count() == 0


def test_draw_seed_on_the_page_and_in_the_service(client, researcher, survey):
    from django.core.exceptions import ValidationError

    from surveys.services import sample_draw

    client.force_login(researcher)
    response = client.post(
        reverse("surveys:sample_draw", args=[survey.pk, "initial"]), {"seed": str(10**30)}
    )
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Give a whole number from 0 to 4294967295 as the seed."]
    with pytest.raises(ValidationError) as err:
        sample_draw(survey=survey, seed=2**63)
    assert err.value.message_dict == {"seed": ["A whole number from 0 to 4,294,967,295."]}
    assert Draw.objects.count() == 0
    # The largest seed draws.
    assert sample_draw(survey=survey, seed=2**32 - 1).seed == 2**32 - 1


def test_design_margin_of_1e_300(api_as, researcher, population):
    api = api_as(researcher)
    body = {"population": population.pk, "name": "D", "size": {"margin": 1e-300}}
    for url in ("/api/surveys/designs/", "/api/surveys/designs/preview/"):
        response = api.post(url, body, format="json")
        assert response.status_code == 400
        assert response.json() == {"errors": {"size.margin": [AT_LEAST.format(0.001)]}}
    assert SampleDesign.objects.count() == 0


def test_design_inputs_that_ask_for_more_people_than_a_column_holds(api_as, researcher, study):
    from tests.surveys import factories

    population = factories.make_population(study, {("Seoul", "F"): 10**15})
    api = api_as(researcher)
    body = {"population": population.pk, "name": "D", "n": 2**31}
    response = api.post("/api/surveys/designs/", body, format="json")
    assert response.json() == {"errors": {"n": [AT_MOST.format(2**31 - 1)]}}
    # Each input within its range, together too many: named on the margin. Cochran:
    # 1.959964² · 0.25 / 0.001² · 100 / 0.001 = 96,036,470,518 (rounded up).
    size = {"margin": 0.001, "deff": 100, "response_rate": 0.001, "fpc": False}
    response = api.post(
        "/api/surveys/designs/", {"population": population.pk, "size": size}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"margin": ["These inputs ask for 96,036,470,518 people; at most 2,147,483,647."]}
    }
    body = {"population": population.pk, "n": 5, "allocation": "minimum",
            "parameters": {"minimum": "lots"}}  # fmt: skip
    response = api.post("/api/surveys/designs/", body, format="json")
    assert response.json() == {
        "errors": {"parameters": ["minimum: a whole number from 0 to 2,147,483,647."]}
    }
    assert SampleDesign.objects.count() == 0


def test_design_margin_on_the_setup_page(client, researcher, study, population):
    client.force_login(researcher)
    response = post_refused(
        client,
        reverse("surveys:setup_design", args=[study.pk]),
        {
            "design-population": population.pk,
            "design-name": "D",
            "design-margin": "1e-300",
            "design-allocation": "proportional",
        },
    )
    form = response.context["design_form"]
    assert form.errors["margin"] == [AT_LEAST.format(0.001)]
    response = post_refused(
        client,
        reverse("surveys:setup_design", args=[study.pk]),
        {
            "design-population": population.pk,
            "design-name": "D",
            "design-n": "10",
            "design-allocation": "neyman",
            "design-sd": "Seoul|F = inf\nSeoul|M = 1\nBusan|F = 1\nBusan|M = 1",
        },
    )
    assert response.context["design_form"].errors["sd"] == [
        "Line 1: write a cell and its standard deviation, e.g. Seoul|F = 0.4."
    ]
    assert SampleDesign.objects.count() == 0


def test_question_fields_bounded_by_their_columns(api_as, researcher, study):
    from surveys.models import Question
    from surveys.services import block_create, survey_create

    survey = survey_create(study=study, title_en="S")
    block = block_create(survey=survey)
    body = {
        "block": block.pk, "code": "q1", "kind": "single", "text_en": "Q?",
        "required_approvals": 10**6, "subject": "s" * 101, "answer_key": "a" * 61,
        "options": [{"code": "a", "text_en": "A"}, {"code": "b", "text_en": "B" * 301}],
    }  # fmt: skip
    response = api_as(researcher).post(
        f"/api/surveys/surveys/{survey.pk}/questions/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "required_approvals": [AT_MOST.format(10)],
            "subject": ["Ensure this field has no more than 100 characters."],
            "answer_key": ["Ensure this field has no more than 60 characters."],
            "options.1.text_en": ["Ensure this field has no more than 300 characters."],
        }
    }
    assert Question.objects.count() == 0


NUMBER_QUESTION = {
    "block": "",
    "block_title_en": "Money",
    "code": "income",
    "kind": "numeric",
    "text_en": "Your yearly income?",
    "required": "on",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_value", "1e24"), ("min_value", "-1e24"), ("max_value", str(10**26))],
)
def test_number_question_limits_beyond_range_on_the_page(client, researcher, study, field, value):
    from surveys.models import Question
    from surveys.services import survey_create

    survey = survey_create(study=study, title_en="Money")
    client.force_login(researcher)
    response = post_refused(
        client, reverse("surveys:question_new", args=[survey.pk]), {**NUMBER_QUESTION, field: value}
    )
    assert list(response.context["form"].errors) == [field]
    assert Question.objects.count() == 0
    # The largest limit is taken.
    ok = client.post(
        reverse("surveys:question_new", args=[survey.pk]),
        {**NUMBER_QUESTION, "min_value": "-1e15", "max_value": "1e15"},
    )
    assert ok.status_code == 302
    assert Question.objects.get().max_value == 10**15


def test_number_question_limits_in_the_api_and_the_service(api_as, researcher, study):
    from django.core.exceptions import ValidationError

    from surveys.services import block_create, question_create, question_update, survey_create

    survey = survey_create(study=study, title_en="Money")
    block = block_create(survey=survey, title_en="All")
    api = api_as(researcher)
    body = {"block": block.pk, "code": "income", "kind": "numeric", "text_en": "Income?"}
    url = f"/api/surveys/surveys/{survey.pk}/questions/"
    response = api.post(url, {**body, "max_value": 1e24}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["max_value"]
    question = question_create(block=block, code="q", kind="numeric", text_en="N?", max_value=10)
    patched = api.patch(
        f"/api/surveys/questions/{question.pk}/", {"min_value": -1e24}, format="json"
    )
    assert patched.status_code == 400
    assert list(patched.json()["errors"]) == ["min_value"]
    with pytest.raises(ValidationError) as err:
        question_update(question=question, max_value=float("inf"))
    assert list(err.value.message_dict) == ["max_value"]
    with pytest.raises(ValidationError) as err:
        question_create(block=block, code="r", kind="numeric", text_en="N?", min_value=-1e16)
    assert list(err.value.message_dict) == ["min_value"]
    question.refresh_from_db()
    assert (question.min_value, question.max_value) == (None, 10)


def test_a_failed_form_comes_back_at_a_get_address_that_the_language_switch_keeps(
    client, researcher, study
):
    """A refused form is sent back (303) to its page's GET address, which names the kept
    form; the language switch returns to that address, and the page shows the form again in
    Korean, with the values typed and the error."""
    from surveys.services import survey_create

    survey = survey_create(study=study, title_en="Money")
    client.force_login(researcher)
    editor = reverse("surveys:questionnaire", args=[survey.pk])
    failed = client.post(
        reverse("surveys:question_new", args=[survey.pk]),
        {**NUMBER_QUESTION, "max_value": "1e24"},
    )
    assert failed.status_code == 303
    back = failed["Location"]
    assert back.startswith(f"{editor}?form=") and back.endswith("#add")
    address = back.split("#")[0]
    page = client.get(back).content.decode()
    assert f'name="next" type="hidden" value="{address}"' in page
    assert 'value="1e24"' in page and 'value="income"' in page
    english = list(client.get(back).context["form"].errors["max_value"])
    assert english == ["Ensure this value is less than or equal to 1000000000000000."]
    switched = client.post("/i18n/setlang/", {"language": "ko", "next": address})
    assert switched.status_code == 302 and switched["Location"] == address
    korean = client.get(address)
    assert korean.status_code == 200
    html = korean.content.decode()
    assert '<html lang="ko">' in html
    assert 'value="1e24"' in html and 'value="income"' in html
    assert list(korean.context["form"].errors["max_value"]) == [
        "값이 1000000000000000 이하이어야 합니다."
    ]
    assert survey.questions.count() == 0
    # Without the token the page shows a new form.
    assert 'value="1e24"' not in client.get(editor).content.decode()


def test_a_design_preview_has_an_address_the_language_switch_returns_to(
    client, researcher, study, population
):
    """A design's preview stores nothing, and is shown at an address of its own (the setup
    page with the kept form): the language switch returns there, and the preview is shown
    again in the other language."""
    client.force_login(researcher)
    preview = {
        "design-population": population.pk,
        "design-name": "Main",
        "design-n": "10",
        "design-allocation": "proportional",
        "design-minimum": "1",
        "action": "preview",
    }
    sent = client.post(reverse("surveys:setup_design", args=[study.pk]), preview)
    assert sent.status_code == 303
    address = sent["Location"].partition("#")[0]
    assert address.startswith(reverse("surveys:setup", args=[study.pk]) + "?")
    shown = client.get(sent["Location"])
    assert f'name="next" type="hidden" value="{address}"' in shown.content.decode()
    assert shown.context["preview"]["n"] == 10
    switched = client.post("/i18n/setlang/", {"language": "ko", "next": address}, follow=True)
    assert switched.context["preview"]["n"] == 10
    assert "표본 크기 n = 10." in switched.content.decode()
