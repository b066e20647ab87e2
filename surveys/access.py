"""Fetch survey objects only for people who may see them (404 for everyone else).

Every object belongs to a study; membership of that study is the one rule
(:func:`accounts.access.access_study`). Contact details need the study owner's rights.
"""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.access import access_study, get_or_404, studies_visible_to
from surveys.models import (
    Panel,
    PanelistContact,
    Population,
    Question,
    SampleDesign,
    Survey,
)


def _check(obj, *, user, manage: bool = False):
    access_study(user=user, study_id=obj.study_id, manage=manage)
    return obj


def surveys_visible_to(*, user) -> QuerySet[Survey]:
    return Survey.objects.filter(study__in=studies_visible_to(user=user))


def access_population(*, user, population_id) -> Population:
    return _check(get_or_404(Population.objects.all(), "population", pk=population_id), user=user)


def access_panel(*, user, panel_id) -> Panel:
    return _check(
        get_or_404(Panel.objects.select_related("population"), "panel", pk=panel_id), user=user
    )


def access_panel_contacts(*, user, panel_id) -> QuerySet[PanelistContact]:
    """Contact details of a panel's members: the study's owners only."""
    panel = get_or_404(Panel.objects.all(), "panel", pk=panel_id)
    _check(panel, user=user, manage=True)
    return PanelistContact.objects.filter(panelist__panel=panel).select_related("panelist")


def access_design(*, user, design_id) -> SampleDesign:
    qs = SampleDesign.objects.select_related("population", "panel")
    return _check(get_or_404(qs, "sample design", pk=design_id), user=user)


def access_survey(*, user, survey_id) -> Survey:
    qs = Survey.objects.select_related("study", "design")
    return _check(get_or_404(qs, "survey", pk=survey_id), user=user)


def access_question(*, user, question_id, review: bool = False) -> Question:
    """The question, if ``user`` may see its survey; ``review=True`` lets the study's
    reviewers through on a write request too (to review it, nothing else)."""
    question = get_or_404(Question.objects.select_related("survey"), "question", pk=question_id)
    access_study(user=user, study_id=question.survey.study_id, review=review)
    return question
