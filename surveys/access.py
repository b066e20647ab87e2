"""Fetch survey objects only for people who may see them (404 for everyone else).

Every object belongs to a study; membership of that study is the one rule
(:func:`accounts.access.access_study`). Contact details need the study owner's rights.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404

from accounts.access import access_study, studies_visible_to
from surveys.models import (
    Panel,
    PanelistContact,
    Population,
    Question,
    SampleDesign,
    Survey,
)


def _get[M: Model](qs: QuerySet[M], pk, what: str) -> M:
    try:
        return qs.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404(f"No such {what}.") from None


def _check(obj, *, user, manage: bool = False):
    access_study(user=user, study_id=obj.study_id, manage=manage)
    return obj


def surveys_visible_to(*, user) -> QuerySet[Survey]:
    return Survey.objects.filter(study__in=studies_visible_to(user=user))


def access_population(*, user, population_id) -> Population:
    return _check(_get(Population.objects.all(), population_id, "population"), user=user)


def access_panel(*, user, panel_id) -> Panel:
    return _check(_get(Panel.objects.select_related("population"), panel_id, "panel"), user=user)


def access_panel_contacts(*, user, panel_id) -> QuerySet[PanelistContact]:
    """Contact details of a panel's members: the study's owners only."""
    panel = _get(Panel.objects.all(), panel_id, "panel")
    _check(panel, user=user, manage=True)
    return PanelistContact.objects.filter(panelist__panel=panel).select_related("panelist")


def access_design(*, user, design_id) -> SampleDesign:
    qs = SampleDesign.objects.select_related("population", "panel")
    return _check(_get(qs, design_id, "sample design"), user=user)


def access_survey(*, user, survey_id) -> Survey:
    qs = Survey.objects.select_related("study", "design")
    return _check(_get(qs, survey_id, "survey"), user=user)


def access_question(*, user, question_id, review: bool = False) -> Question:
    """The question, if ``user`` may see its survey; ``review=True`` lets the study's
    reviewers through on a write request too (to review it, nothing else)."""
    question = _get(Question.objects.select_related("survey"), question_id, "question")
    access_study(user=user, study_id=question.survey.study_id, review=review)
    return question
