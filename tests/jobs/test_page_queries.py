"""A job's page reads the same however many jobs and members its study has."""

from __future__ import annotations

import pytest

from accounts.services import study_member_add
from jobs.services import job_create
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_job_page(client, researcher, study, flat_page):
    job = job_create(kind="selftest", user=researcher, study=study, params={"dataset_id": 1})
    client.force_login(researcher)

    def grow():
        for i in range(6):
            job_create(kind="selftest", user=researcher, study=study, params={"dataset_id": i})
            study_member_add(study=study, user=UserFactory(username=f"member{i}"))

    flat_page(client, f"/jobs/{job.pk}/", grow, pinned=6)
