"""Survey pages read the same however many responses, questions, invitations, panelists and
setup rows they show; the dashboard reads each table once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from surveys import services
from surveys.models import Block
from surveys.services import design_create, response_start, sample_draw
from tests.surveys import factories
from tests.surveys.factories import AGREE, GOOD_ANSWERS, approve_all, complete, make_survey

pytestmark = pytest.mark.django_db


def link(token: str, **params) -> str:
    url = reverse("surveys:participant", args=[token])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def _respond(survey, invitations, *, family: str = "4") -> None:
    for invitation in invitations:
        response = response_start(survey=survey, invitation=invitation, language="en")
        complete(response, {**GOOD_ANSWERS, "family": family})


@pytest.fixture
def fielded(survey):
    """The survey with its sample drawn and 4 complete responses; ``grow()`` completes 12
    more (both regions agreeing and disagreeing) and computes the weights."""
    invitations = list(sample_draw(survey=survey, seed=3).invitations.order_by("id"))
    # One respondent of each cell first, so that the weights can be computed from the start.
    first = {invitation.panelist.cell_id: invitation for invitation in invitations}
    invitations = list(first.values()) + [i for i in invitations if i not in first.values()]
    _respond(survey, invitations[:4])
    services.weights_compute(survey=survey)

    def grow():
        for i, invitation in enumerate(invitations[4:16]):
            _respond(survey, [invitation], family=str(1 + i % 5))
        services.weights_compute(survey=survey)

    return survey, grow


# What a section reads twice, and why. The header's counts (every section) are two
# aggregates, one over responses and one over invitations (``selectors.survey_counts``); the
# sections that estimate read the respondents' own rows again: counting those rows in Python
# instead would load every response of a large survey on each section.
RESPONDENTS = {
    "surveys_response": "the header's aggregate over all responses; the respondents' rows",
    "surveys_weight": "counted in the header's aggregate; each respondent's weight",
    "surveys_cell": "each respondent's stratum, joined to its row; the population's cells "
    "with their census counts (the weighting targets)",
}
SECTIONS = {
    "results": {
        **RESPONDENTS,
        "surveys_question": "the header counts the questions waiting for review; the "
        "results read the questions they estimate",
    },
    "overview": {},
    "fieldwork": {
        "surveys_invitation": "the header counts invitations by status; the response rates "
        "count them per cell",
        "surveys_response": "the header's aggregate over all responses; the response rates "
        "join each invitation to its response",
    },
    "quotas": {},
    "representativeness": RESPONDENTS,
}


# Queries of each section, the same on PostgreSQL and SQLite.
PINNED = {"results": 17, "overview": 11, "fieldwork": 13, "quotas": 12, "representativeness": 14}


@pytest.mark.parametrize("section", SECTIONS)
def test_survey_dashboard(client, researcher, fielded, flat_page, section):
    survey, grow = fielded
    client.force_login(researcher)
    url = f"/surveys/{survey.id}/{section}/"
    flat_page(client, url, grow, pinned=PINNED[section], read_once=SECTIONS[section])


def test_invitees_page(client, researcher, fielded, flat_page):
    survey, grow = fielded
    client.force_login(researcher)
    flat_page(client, f"/surveys/{survey.id}/invitees/", grow, pinned=10)


def test_review_queue(client, researcher, study, colleague, flat_page):
    survey = make_survey(study, approve=False)
    first, second = list(survey.questions.all())[:2]
    for question in (first, second):
        services.question_submit(question=question, user=researcher)
    services.question_review(question=first, reviewer=colleague, decision="reject", comment="?")
    services.question_submit(question=first, user=researcher)
    block = Block.objects.filter(survey=survey).first()

    def grow():
        for i in range(8):
            question = services.question_create(
                block=block, code=f"extra{i}", kind="scale", text_en=f"Extra {i}.", options=AGREE
            )
            services.question_submit(question=question, user=researcher)
            if i % 2:
                services.question_review(
                    question=question, reviewer=colleague, decision="reject", comment="Vague."
                )
                services.question_submit(question=question, user=researcher)

    client.force_login(colleague)
    flat_page(client, f"/surveys/{survey.id}/review/", grow, pinned=10)


def test_setup_page(client, researcher, study, survey, flat_page):
    client.force_login(researcher)

    def grow():
        for i in range(4):
            population = factories.make_population(study, name=f"Korea {i}")
            panel = factories.make_panel(study, population, per_cell=2)
            design = design_create(
                study=study, population=population, panel=panel, name=f"D{i}", n=8
            )
            make_survey(study, design, approve=False)

    flat_page(client, f"/surveys/studies/{study.id}/setup/", grow, pinned=13)


def test_panel_page(client, researcher, study, population, flat_page):
    small = factories.make_panel(study, population, per_cell=1)
    client.force_login(researcher)

    def grow():
        return f"/surveys/panels/{factories.make_panel(study, population, per_cell=10).id}/"

    flat_page(client, f"/surveys/panels/{small.id}/", grow, pinned=8)


# --- participants ----------------------------------------------------------------------------


def test_consent_page(client, survey, flat_page):
    invitations = list(sample_draw(survey=survey, seed=3).invitations.order_by("id"))
    flat_page(
        client,
        link(invitations[0].token),
        lambda: _respond(survey, invitations[1:12]),
        pinned=2,
    )


def test_screener_page(client, study, open_survey, flat_page):
    client.post(link(open_survey.open_token), {"lang": "en", "consent": "yes"})
    token = client.get(link(open_survey.open_token))["Location"].split("/")[-2]

    def grow():
        counts = {(f"R{r}", g): 100 for r in range(8) for g in ("F", "M", "X")}
        population = factories.make_population(study, counts=counts, name="Wide")
        design = design_create(study=study, population=population, name="Wide", n=30)
        survey = make_survey(study, design, open_link=True, approve=False)
        approve_all(survey, open_survey.study.created_by)
        survey = services.survey_open(survey=survey)
        started = client.post(link(survey.open_token), {"lang": "en", "consent": "yes"})
        return started["Location"].split("?")[0]

    flat_page(client, link(token), grow, pinned=4)


def test_question_page(client, study, design, colleague, flat_page):
    def started(extra: int) -> str:
        survey = make_survey(study, design, approve=False)
        block = Block.objects.filter(survey=survey).first()
        for i in range(extra):
            services.question_create(
                block=block, code=f"extra{i}", kind="scale", text_en=f"Extra {i}.", options=AGREE
            )
        approve_all(survey, colleague)
        survey = services.survey_open(survey=survey)
        invitation = sample_draw(survey=survey, seed=3).invitations.order_by("id").first()
        response = response_start(survey=survey, invitation=invitation, language="en")
        services.answers_record(response=response, answers={"family": "4", "capital": "seoul"})
        return link(response.token, page=1)

    flat_page(client, started(0), lambda: started(12), pinned=5)
