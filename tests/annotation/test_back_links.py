"""Guidelines, adjudication and job pages link back to where their reader came from."""

from __future__ import annotations

import pytest

from annotation.models import MemberRole
from annotation.services import votes_export_start
from tests.annotation.factories import emotion_project, raters

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(study, researcher):
    return emotion_project(study=study, user=researcher)


def test_guidelines_link_back_to_rating_and_to_the_project(client, researcher, project):
    (rater,) = raters(project, 1)
    client.force_login(rater)
    page = client.get(f"/annotation/projects/{project.pk}/guidelines/").content.decode()
    assert f'href="/annotation/projects/{project.pk}/annotate/">Back to rating</a>' in page
    assert f'href="/annotation/projects/{project.pk}/">' not in page
    client.force_login(researcher)
    page = client.get(f"/annotation/projects/{project.pk}/guidelines/").content.decode()
    assert f'href="/annotation/projects/{project.pk}/">Back to {project.name}</a>' in page
    assert "Back to rating" not in page


def test_adjudication_pages_link_back(client, researcher, project):
    (judge,) = raters(project, 1, prefix="judge", role=MemberRole.ADJUDICATOR)
    client.force_login(researcher)
    page = client.get(f"/annotation/projects/{project.pk}/adjudication/").content.decode()
    assert f'href="/annotation/projects/{project.pk}/">Back to {project.name}</a>' in page
    client.force_login(judge)
    page = client.get(f"/annotation/projects/{project.pk}/adjudication/").content.decode()
    # An adjudicator is a member of the project (the annotate page is theirs too).
    assert f'href="/annotation/projects/{project.pk}/annotate/">Back to rating</a>' in page


def test_a_job_page_links_back_to_what_it_worked_on(client, researcher, study, project):
    job = votes_export_start(project=project, user=researcher, fmt="csv")
    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'<a href="/annotation/projects/{project.pk}/" id="job-back">' in page
