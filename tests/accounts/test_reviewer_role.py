"""Reviewers and viewers of a study: they see all of it, and change nothing but (reviewers)
the review of survey questions.

Checked against every route of the permission matrix (its world, with a reviewer and a viewer
added to the study): every write a researcher may make is refused to them, every study page a
researcher may read opens for them.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.accounts.test_permission_matrix import (  # noqa: F401 (fixtures)
    CASES,
    FORBIDDEN,
    GET,
    NOT_FOUND,
    OK,
    ROUTES,
    _answer,
    _media_in_tmp,
    world,
)

pytestmark = pytest.mark.django_db

# The one write a reviewer makes: a question's review (page and API).
REVIEW_ROUTES = {
    "surveys/<int:survey_id>/review/<int:question_id>/",
    "api/surveys/questions/<int:question_id>/reviews/",
}
# Routes a researcher of the study may use (the rules of researchers' things).
RESEARCHER_RULES = {"study", "project", "adjudication", "job"}
# Owner-only pages among them: the study's name and archive, the members' management and the
# panel's contact details.
OWNER_ONLY = {
    "studies/<int:study_id>/edit/",
    "studies/<int:study_id>/archive/",
    "studies/<int:study_id>/unarchive/",
    "studies/<int:study_id>/members/",
    "studies/<int:study_id>/members/remove/",
    "studies/<int:study_id>/invitations/<int:invitation_id>/cancel/",
    "api/studies/<int:study_id>/",
    "api/studies/<int:study_id>/members/",
    "api/studies/<int:study_id>/members/<str:username>/",
}


@pytest.fixture(scope="module")
def readers(world, django_db_blocker):  # noqa: F811
    """A reviewer and a viewer of the world's study, logged in."""
    from accounts.models import Study, StudyRole
    from accounts.services import study_member_add
    from tests.accounts.factories import UserFactory

    with django_db_blocker.unblock():
        study = Study.objects.get(pk=world.ids["study_id"])
        for persona, role in (("reviewer", StudyRole.REVIEWER), ("viewer", StudyRole.VIEWER)):
            user = UserFactory(username=f"{persona}-of-values")
            study_member_add(study=study, user=user, role=role)
            client = Client()
            client.force_login(user)
            world.sessions[persona] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return world


WRITES = [
    (route, method)
    for route, method in CASES
    if method != GET and ROUTES[route].methods[method] in RESEARCHER_RULES
]
READS = [
    (route, method)
    for route, method in CASES
    if method == GET
    and ROUTES[route].methods[method] in RESEARCHER_RULES
    and "contacts" not in route
]


@pytest.mark.parametrize(("route", "method"), WRITES, ids=[f"{m} /{r}" for r, m in WRITES])
def test_reviewers_and_viewers_change_nothing_but_reviews(readers, route, method):
    spec = ROUTES[route]
    reviewer = _answer(readers, "reviewer", route, method, spec)
    viewer = _answer(readers, "viewer", route, method, spec)
    if route in REVIEW_ROUTES:
        assert (reviewer, viewer) == (OK, FORBIDDEN)
    else:
        # 403 where the study is named; 404 where the object is looked up among the studies
        # the person may change (an annotation project's writes).
        assert reviewer in (FORBIDDEN, NOT_FOUND)
        assert viewer in (FORBIDDEN, NOT_FOUND)


@pytest.mark.parametrize(("route", "method"), READS, ids=[f"{m} /{r}" for r, m in READS])
def test_reviewers_and_viewers_see_the_study(readers, route, method):
    spec = ROUTES[route]
    got = {p: _answer(readers, p, route, method, spec) for p in ("reviewer", "viewer")}
    expected = FORBIDDEN if route in OWNER_ONLY and method != GET else OK
    assert got == {"reviewer": expected, "viewer": expected}


def test_the_panel_contacts_stay_the_owners(readers):
    route = next(r for r in ROUTES if "contacts" in r)
    got = {p: _answer(readers, p, route, GET, ROUTES[route]) for p in ("reviewer", "viewer")}
    assert got == {"reviewer": FORBIDDEN, "viewer": FORBIDDEN}
