"""The import page reads the same however many studies, projects and imports the user has."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.services import study_create
from interop.services import label_import_start
from tests.annotation.factories import emotion_project
from tests.interop.test_parsers import FIXTURES

# The imports run when their transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)


def _import(study, user, name: str) -> None:
    label_import_start(
        study=study, user=user, tool="label-studio", name=name,
        upload=SimpleUploadedFile("ls.json", (FIXTURES / "label-studio.json").read_bytes()),
    )  # fmt: skip


def test_import_page(client, researcher, study, flat_page):
    _import(study, researcher, "First")
    client.force_login(researcher)

    def grow():
        for i in range(4):
            other = study_create(user=researcher, name=f"Study {i}")
            emotion_project(study=other, user=researcher, name=f"Project {i}")
            emotion_project(study=other, user=researcher, name=f"Project {i}b")
            _import(other, researcher, f"Import {i}")

    flat_page(client, "/interop/", grow, pinned=8)
