"""The researcher's setup page: population, panel, design (preview and create) and survey
forms, through the Django client. Every failure is a 400 that names the field and creates
nothing; people outside the study get a 404."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.services import study_create
from surveys.models import (
    Cell,
    Panel,
    Panelist,
    PanelistContact,
    Population,
    QuotaCell,
    SampleDesign,
    Survey,
    SurveyStatus,
)
from surveys.services import design_sample_size
from tests.conftest import post_refused
from tests.surveys import factories

pytestmark = pytest.mark.django_db


def panel_csv(population, per_cell: int = 3, start: int = 1) -> str:
    """The factories' panel shape: external_id, the population's variables, email."""
    lines = ["external_id,region,gender,email"]
    i = start - 1
    for cell in population.cells.order_by("id"):
        for _ in range(per_cell):
            i += 1
            lines.append(
                f"P{i:04d},{cell.values['region']},{cell.values['gender']},p{i}@example.org"
            )
    return "\n".join(lines) + "\n"


def upload(text: str, name: str = "data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def url(study, step: str = "") -> str:
    if not step:
        return reverse("surveys:setup", args=[study.pk])
    return reverse(f"surveys:setup_{step}", args=[study.pk])


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def as_researcher(client, researcher):
    client.force_login(researcher)
    return client


@pytest.fixture
def as_outsider(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture
def other_study(outsider):
    return study_create(user=outsider, name="Elsewhere")


# --- the page and the study card --------------------------------------------------------------


def test_page_lists_what_the_study_has_with_dashboard_links(as_researcher, study, survey):
    response = as_researcher.get(url(study))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Korea" in html  # the population
    panel = survey.design.panel
    population = survey.design.population
    assert f'<td><a href="/surveys/panels/{panel.pk}/">Panel</a></td><td>Korea</td>' in html
    assert f'<td><a href="/surveys/populations/{population.pk}/">Korea</a></td>' in html
    assert "<td>Main</td><td>Korea</td><td>Panel</td>" in html
    assert f'href="{reverse("surveys:dashboard", args=[survey.pk])}">Values</a>' in html
    assert [p.n_cells for p in response.context["populations"]] == [4]
    assert [p.people for p in response.context["populations"]] == [1500]
    assert [p.people for p in response.context["panels"]] == [40]


def test_study_card_links_to_the_setup_page(as_researcher, study):
    for page in (reverse("home"), reverse("study_detail", args=[study.pk])):
        html = as_researcher.get(page).content.decode()
        assert f'<a href="{url(study)}">Set up surveys</a>' in html


def test_page_is_in_korean_for_korean_readers(as_researcher, study, population, settings):
    as_researcher.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    html = as_researcher.get(url(study)).content.decode()
    for text in (
        "설문조사 준비",
        "모집단 가져오기",
        "패널 가져오기",
        "미리 보기",
        "설문조사 만들기",
    ):
        assert text in html


def test_anonymous_visitors_are_sent_to_log_in(client, study):
    response = client.get(url(study))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_outsiders_get_404_on_every_setup_address(as_outsider, study, population):
    assert as_outsider.get(url(study)).status_code == 404
    posts = {
        "population": {
            "population-name": "X",
            "population-file": upload(factories.population_csv()),
        },
        "panel": {
            "panel-population": population.pk,
            "panel-name": "X",
            "panel-file": upload(panel_csv(population)),
        },
        "design": {"design-population": population.pk, "design-name": "X", "design-n": 10},
        "survey": {"survey-title_en": "X"},
    }
    for step, data in posts.items():
        assert as_outsider.post(url(study, step), data).status_code == 404, step
    assert Population.objects.count() == 1
    assert Panel.objects.count() == 0
    assert SampleDesign.objects.count() == 0
    assert Survey.objects.count() == 0


def test_a_colleague_may_set_up_too(client, colleague, study):
    client.force_login(colleague)
    response = client.post(url(study, "survey"), {"survey-title_en": "Trust"})
    assert response.status_code == 302
    assert Survey.objects.get().title_en == "Trust"


# --- population -------------------------------------------------------------------------------


def test_population_import_creates_the_cells(as_researcher, study):
    response = as_researcher.post(
        url(study, "population"),
        {"population-name": "Korean adults", "population-file": upload(factories.population_csv())},
    )
    assert response.status_code == 302
    assert response["Location"] == url(study) + "#populations"
    population = Population.objects.get()
    assert (population.study, population.name, population.variables) == (
        study,
        "Korean adults",
        ["region", "gender"],
    )
    assert list(population.cells.order_by("id").values_list("key", "count", "values")) == [
        ("Seoul|F", 600, {"region": "Seoul", "gender": "F"}),
        ("Seoul|M", 400, {"region": "Seoul", "gender": "M"}),
        ("Busan|F", 300, {"region": "Busan", "gender": "F"}),
        ("Busan|M", 200, {"region": "Busan", "gender": "M"}),
    ]
    assert flash(response) == ["Population Korean adults imported: 4 cells."]


def test_population_with_bad_rows_is_400_naming_each_row_and_creates_nothing(as_researcher, study):
    bad = "region,gender,count\nSeoul,F,600\nSeoul,,10\nBusan,F,-3\nSeoul,F,5\n"
    response = post_refused(
        as_researcher,
        url(study, "population"),
        {"population-name": "KR", "population-file": upload(bad)},
    )
    assert response.context["population_form"].errors == {
        "file": [
            "Row 3: missing gender.",
            "Row 4: count -3 is negative.",
            "Row 5: cell Seoul|F repeats row 2.",
        ]
    }
    html = response.content.decode()
    assert "Row 4: count -3 is negative." in html
    assert "Nothing was created: see the errors marked below." in html
    assert f'action="{url(study, "population")}#population-form"' in html
    assert Population.objects.count() == 0
    assert Cell.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"population-file": "region,gender,count\nSeoul,F,1\n"},
            {"name": ["This field is required."]},
        ),
        ({"population-name": "KR"}, {"file": ["This field is required."]}),
        (
            {"population-name": "KR", "population-file": "region,gender\nSeoul,F\n"},
            {"file": ["The header must have a 'count' column."]},
        ),
        (
            {"population-name": "KR", "population-file": b"region,count\n\xff\xfe,1\n"},
            {"file": ["The file is not UTF-8 text."]},
        ),
    ],
)
def test_population_form_errors_name_the_field(as_researcher, study, data, errors):
    data = {
        k: upload(v) if k.endswith("file") and isinstance(v, str) else v for k, v in data.items()
    }
    if isinstance(data.get("population-file"), bytes):
        data["population-file"] = SimpleUploadedFile("x.csv", data["population-file"])
    response = post_refused(as_researcher, url(study, "population"), data)
    assert response.context["population_form"].errors == errors
    assert Population.objects.count() == 0


# --- panel ------------------------------------------------------------------------------------


def test_panel_import_creates_the_panel_and_reports_each_outcome(as_researcher, study, population):
    response = as_researcher.post(
        url(study, "panel"),
        {
            "panel-population": population.pk,
            "panel-name": "Online",
            "panel-file": upload(panel_csv(population, per_cell=3)),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url(study) + "#panels"
    panel = Panel.objects.get()
    assert (panel.study, panel.population, panel.name) == (study, population, "Online")
    assert sorted(panel.panelists.values_list("external_id", "cell__key", "contact__email")) == [
        (f"P{i:04d}", key, f"p{i}@example.org")
        for i, key in zip(
            range(1, 13),
            [k for k in ("Seoul|F", "Seoul|M", "Busan|F", "Busan|M") for _ in range(3)],
            strict=True,
        )
    ]
    assert flash(response) == ["Panel Online: 12 created, 0 updated, 0 unchanged."]


def test_panel_import_again_by_name_updates_the_same_panel(as_researcher, study, population):
    post = {"panel-population": population.pk, "panel-name": "Online"}
    as_researcher.post(url(study, "panel"), {**post, "panel-file": upload(panel_csv(population))})
    moved = panel_csv(population).replace("P0001,Seoul,F", "P0001,Busan,M")
    extra = "P0099,Seoul,M,new@example.org\n"
    response = as_researcher.post(
        url(study, "panel"), {**post, "panel-file": upload(moved + extra)}
    )
    assert response.status_code == 302
    assert flash(response)[-1] == "Panel Online: 1 created, 1 updated, 11 unchanged."
    assert Panel.objects.count() == 1
    assert Panelist.objects.get(external_id="P0001").cell.key == "Busan|M"
    assert Panelist.objects.count() == 13


def test_panel_with_bad_rows_is_400_naming_each_row_and_creates_nothing(
    as_researcher, study, population
):
    bad = (
        "external_id,region,gender,email\n"
        "A1,Seoul,F,a@example.org\n"
        "A1,Seoul,M,\n"
        "A3,Daegu,F,\n"
        "A4,Busan,M,not-an-email\n"
    )
    response = post_refused(
        as_researcher,
        url(study, "panel"),
        {"panel-population": population.pk, "panel-name": "Online", "panel-file": upload(bad)},
    )
    assert response.context["panel_form"].errors == {
        "file": [
            "Row 3: external_id A1 repeats row 2.",
            "Row 4: no cell Daegu|F in population Korea.",
            "Row 5: email 'not-an-email' is not valid.",
        ]
    }
    assert "Row 4: no cell Daegu|F in population Korea." in response.content.decode()
    assert Panel.objects.count() == 0
    assert Panelist.objects.count() == 0
    assert PanelistContact.objects.count() == 0


def test_panel_file_without_the_population_columns_is_400(as_researcher, study, population):
    response = post_refused(
        as_researcher,
        url(study, "panel"),
        {
            "panel-population": population.pk,
            "panel-name": "Online",
            "panel-file": upload("external_id,region\nA1,Seoul\n"),
        },
    )
    assert response.context["panel_form"].errors == {
        "file": ["The header lacks the columns gender."]
    }
    assert Panel.objects.count() == 0


def test_panel_into_another_studys_population_is_400(as_researcher, study, other_study):
    foreign = factories.make_population(other_study)
    response = post_refused(
        as_researcher,
        url(study, "panel"),
        {
            "panel-population": foreign.pk,
            "panel-name": "Online",
            "panel-file": upload(panel_csv(foreign)),
        },
    )
    assert list(response.context["panel_form"].errors) == ["population"]
    assert Panel.objects.count() == 0


# --- sample design ----------------------------------------------------------------------------


def design_post(population, panel=None, **fields):
    data = {
        "design-population": population.pk,
        "design-panel": panel.pk if panel else "",
        "design-name": "Main",
        "design-n": "",
        "design-margin": "",
        "design-confidence": "0.95",
        "design-p": "0.5",
        "design-deff": "1.0",
        "design-response_rate": "1.0",
        "design-fpc": "on",
        "design-allocation": "proportional",
        "design-minimum": "1",
        "design-sd": "",
    }
    data.update({f"design-{k}": v for k, v in fields.items()})
    return data


QUOTAS_20 = {"Seoul|F": 8, "Seoul|M": 5, "Busan|F": 4, "Busan|M": 3}


def test_preview_shows_the_quota_per_cell_and_creates_nothing(
    as_researcher, study, population, panel
):
    sent = as_researcher.post(
        url(study, "design"), {**design_post(population, panel, n="20"), "action": "preview"}
    )
    # The preview has an address of its own (a reload shows it again and sends nothing).
    assert sent.status_code == 303 and sent["Location"].endswith("#design-preview")
    for _load in ("shown", "reloaded"):
        response = as_researcher.get(sent["Location"])
        assert response.status_code == 200
        preview = response.context["preview"]
        assert preview["n"] == 20
        assert [(r["key"], r["count"], r["available"], r["quota"]) for r in preview["rows"]] == [
            ("Seoul|F", 600, 10, 8),
            ("Seoul|M", 400, 10, 5),
            ("Busan|F", 300, 10, 4),
            ("Busan|M", 200, 10, 3),
        ]
        assert "<td>Busan|M</td>" in response.content.decode()
        assert SampleDesign.objects.count() == 0
        assert QuotaCell.objects.count() == 0


def test_preview_with_a_margin_computes_n_like_the_service(as_researcher, study, population):
    response = as_researcher.post(
        url(study, "design"),
        {**design_post(population, margin="0.05", deff="1.5"), "action": "preview"},
        follow=True,
    )
    assert response.status_code == 200
    expected = design_sample_size(population=population, margin=0.05, deff=1.5)
    assert response.context["preview"]["n"] == expected
    assert sum(r["quota"] for r in response.context["preview"]["rows"]) == expected
    assert SampleDesign.objects.count() == 0


def test_create_stores_the_design_and_its_quotas(as_researcher, study, population, panel):
    response = as_researcher.post(
        url(study, "design"), {**design_post(population, panel, n="20"), "action": "create"}
    )
    assert response.status_code == 302
    assert response["Location"] == url(study) + "#designs"
    design = SampleDesign.objects.get()
    assert (
        design.study,
        design.population,
        design.panel,
        design.name,
        design.target_n,
        design.size_parameters,
        design.allocation,
        design.parameters,
    ) == (study, population, panel, "Main", 20, {}, "proportional", {})
    assert dict(design.quotas.values_list("cell__key", "target")) == QUOTAS_20
    assert flash(response) == ["Sample design Main created: n = 20."]


def test_create_from_a_margin_stores_how_n_was_computed(as_researcher, study, population):
    response = as_researcher.post(
        url(study, "design"),
        design_post(population, margin="0.05", confidence="0.9", response_rate="0.5", fpc=""),
    )
    assert response.status_code == 302
    design = SampleDesign.objects.get()
    size = {
        "margin": 0.05,
        "confidence": 0.9,
        "p": 0.5,
        "deff": 1.0,
        "response_rate": 0.5,
        "fpc": False,
    }
    assert design.size_parameters == size
    assert design.target_n == design_sample_size(population=population, **size)
    assert sum(design.quotas.values_list("target", flat=True)) == design.target_n


def test_minimum_and_neyman_allocations_store_their_parameters(as_researcher, study, population):
    as_researcher.post(
        url(study, "design"),
        design_post(population, name="Min", n="10", allocation="minimum", minimum="2"),
    )
    sd = "Seoul|F = 1\nSeoul|M = 1\nBusan|F = 3\nBusan|M = 3\n"
    as_researcher.post(
        url(study, "design"),
        design_post(population, name="Ney", n="10", allocation="neyman", sd=sd),
    )
    minimum = SampleDesign.objects.get(name="Min")
    assert (minimum.allocation, minimum.parameters) == ("minimum", {"minimum": 2})
    assert min(minimum.quotas.values_list("target", flat=True)) >= 2
    neyman = SampleDesign.objects.get(name="Ney")
    assert (neyman.allocation, neyman.parameters) == (
        "neyman",
        {"sd": {"Seoul|F": 1.0, "Seoul|M": 1.0, "Busan|F": 3.0, "Busan|M": 3.0}},
    )
    assert sum(neyman.quotas.values_list("target", flat=True)) == 10


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, {"n": ["Give n, or a margin of error to compute it."]}),
        ({"n": "20", "margin": "0.05"}, {"n": ["Give n or a margin of error, not both."]}),
        ({"n": "0"}, {"n": ["Ensure this value is greater than or equal to 1."]}),
        ({"n": "20", "name": ""}, {"name": ["This field is required."]}),
        (
            {"n": "20", "allocation": "minimum", "minimum": ""},
            {"minimum": ["Give the minimum number of people per cell."]},
        ),
        (
            {"n": "20", "allocation": "neyman", "sd": "Seoul|F = 1\nSeoul|M = x"},
            {"sd": ["Line 2: write a cell and its standard deviation, e.g. Seoul|F = 0.4."]},
        ),
        (
            {"n": "20", "allocation": "neyman", "sd": "Seoul|F = 1\nJeju|F = 2"},
            {
                "sd": [
                    "Not cells of the population: Jeju|F.",
                    "Cells without a value: Seoul|M, Busan|F, Busan|M.",
                ]
            },
        ),
        (
            {"margin": "1.5"},
            {"margin": ["Ensure this value is less than or equal to 0.5."]},
        ),
    ],
)
@pytest.mark.parametrize("action", ["preview", "create"])
def test_bad_design_input_is_400_naming_the_field(
    as_researcher, study, population, fields, errors, action
):
    response = post_refused(
        as_researcher, url(study, "design"), {**design_post(population, **fields), "action": action}
    )
    assert response.context["design_form"].errors == errors
    assert "preview" not in response.context
    assert SampleDesign.objects.count() == 0
    assert QuotaCell.objects.count() == 0


def test_more_people_than_the_panel_has_is_400(as_researcher, study, population, panel):
    for action in ("preview", "create"):
        response = post_refused(
            as_researcher,
            url(study, "design"),
            {**design_post(population, panel, n="41"), "action": action},
        )
        errors = response.context["design_form"].non_field_errors()
        assert len(errors) == 1 and "41" in errors[0]
    assert SampleDesign.objects.count() == 0


def test_a_panel_of_another_population_is_400(as_researcher, study, population, panel):
    second = factories.make_population(study, name="Other")
    response = post_refused(as_researcher, url(study, "design"), design_post(second, panel, n="10"))
    assert response.context["design_form"].errors == {
        "panel": ["The panel is drawn from another population."]
    }
    assert SampleDesign.objects.count() == 0


def test_another_studys_population_is_400(as_researcher, study, other_study):
    foreign = factories.make_population(other_study)
    response = post_refused(as_researcher, url(study, "design"), design_post(foreign, n="10"))
    assert list(response.context["design_form"].errors) == ["population"]
    assert SampleDesign.objects.count() == 0


# --- survey -----------------------------------------------------------------------------------


def test_survey_is_created_on_the_design(as_researcher, study, design):
    response = as_researcher.post(
        url(study, "survey"),
        {
            "survey-title_en": "Values",
            "survey-title_ko": "가치관",
            "survey-design": design.pk,
            "survey-open_link_enabled": "on",
            "survey-intro_en": "We ask about your values.",
            "survey-intro_ko": "가치관에 대해 묻습니다.",
            "survey-randomize_options": "on",
        },
    )
    assert response.status_code == 302
    survey = Survey.objects.get()
    assert response["Location"] == reverse("surveys:questionnaire", args=[survey.pk])
    assert (survey.intro_en, survey.intro_ko) == (
        "We ask about your values.", "가치관에 대해 묻습니다.",
    )  # fmt: skip
    assert (survey.randomize_options, survey.randomize_questions) == (True, False)
    assert (
        survey.study,
        survey.title_en,
        survey.title_ko,
        survey.design,
        survey.open_link_enabled,
        survey.status,
        survey.languages,
        survey.reservation_minutes,
    ) == (study, "Values", "가치관", design, True, SurveyStatus.DRAFT, ["ko", "en"], 60)
    assert flash(response) == ["Survey Values created: now write its questions."]


def test_survey_without_a_title_is_400(as_researcher, study, design):
    response = post_refused(as_researcher, url(study, "survey"), {"survey-design": design.pk})
    assert response.context["survey_form"].errors == {"title_en": ["This field is required."]}
    assert Survey.objects.count() == 0


def test_survey_on_another_studys_design_is_400(as_researcher, study, other_study):
    population = factories.make_population(other_study)
    from surveys.services import design_create

    foreign = design_create(study=other_study, population=population, name="D", n=5)
    response = post_refused(
        as_researcher,
        url(study, "survey"),
        {"survey-title_en": "Values", "survey-design": foreign.pk},
    )
    assert list(response.context["survey_form"].errors) == ["design"]
    assert Survey.objects.count() == 0
