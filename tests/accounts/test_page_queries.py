"""The researcher's home, a study's page and its members page read the same however many
studies, surveys, projects, datasets, members and invitations there are."""

from __future__ import annotations

import pytest

from accounts.models import StudyRole
from accounts.services import (
    study_create,
    study_invitation_link_create,
    study_member_add,
    study_member_invite,
)
from benchmarks.services import dataset_create
from surveys.services import survey_create
from tests.accounts.factories import UserFactory
from tests.annotation.factories import emotion_project
from tests.page_queries import HOME

pytestmark = pytest.mark.django_db


def _fill(study, user, n: int, tag: str) -> None:
    """``n`` surveys, annotation projects and datasets in ``study``."""
    for i in range(n):
        survey_create(study=study, title_en=f"Survey {tag}{i}")
        emotion_project(study=study, user=user, name=f"Project {tag}{i}")
        dataset_create(study=study, user=user, name=f"Dataset {tag}{i}", categories=["a", "b"])


def test_home_with_many_studies(client, researcher, flat_page):
    first = study_create(user=researcher, name="First")
    _fill(first, researcher, 1, "a")
    client.force_login(researcher)

    def grow():
        for i in range(5):
            study = study_create(user=researcher, name=f"More {i}")
            _fill(study, researcher, 2, f"s{i}")
            study_member_add(study=study, user=UserFactory(username=f"member{i}"))
            other = study_create(user=UserFactory(username=f"owner{i}"), name=f"Theirs {i}")
            study_member_invite(study=other, user=researcher, by=other.created_by)

    flat_page(client, "/", grow, pinned=12, read_once=HOME)


def test_study_page(client, researcher, study, flat_page):
    _fill(study, researcher, 1, "a")
    client.force_login(researcher)
    flat_page(client, f"/studies/{study.id}/", lambda: _fill(study, researcher, 6, "b"), pinned=9)


def test_study_members_page(client, researcher, study, flat_page):
    client.force_login(researcher)

    def grow():
        for i in range(6):
            study_member_add(study=study, user=UserFactory(username=f"member{i}"))
            study_member_invite(
                study=study, user=UserFactory(username=f"guest{i}"), role=StudyRole.VIEWER,
                by=researcher,
            )  # fmt: skip
            study_invitation_link_create(study=study, email=f"x{i}@example.org", by=researcher)

    flat_page(client, f"/studies/{study.id}/members/", grow, pinned=8)
