"""The shell of the site: health, schema, docs, languages, errors, deploy settings, demo."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import call_command

from accounts.models import Study, User
from tests.conftest import REPO

pytestmark = pytest.mark.django_db


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_openapi_schema_and_docs_are_served(client, researcher):
    client.force_login(researcher)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/studies/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_the_openapi_schema_is_valid_without_warnings(tmp_path):
    """Every endpoint documents its request and responses: drf-spectacular's own validation
    against the OpenAPI 3 schema passes, and no view leaves it guessing (a warning fails)."""
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text(encoding="utf-8")
    for path in (
        "/api/annotation/projects/{project_id}/categories/",
        "/api/annotation/projects/{project_id}/members/{username}/",
        "/api/surveys/questions/{question_id}/move/",
    ):
        assert path in text


def test_login_page_in_korean(client):
    response = client.get("/accounts/login/", headers={"accept-language": "ko"})
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ko">' in body
    assert "Chorus에 로그인" in body


def test_language_switch_remembers_the_choice(client):
    response = client.post("/i18n/setlang/", {"language": "ko", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert "Chorus에 로그인" in client.get("/accounts/login/").content.decode()


def test_unknown_page_is_a_404_page(client, researcher):
    client.force_login(researcher)
    response = client.get("/no/such/page/")
    assert response.status_code == 404


def test_security_headers_on_pages(client):
    response = client.get("/accounts/login/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_production_settings_pass_the_deploy_check():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-secret-key-5c1e0f5a9b7d4e2f8a6c3b1d0e9f7a5b",
        "PSEUDONYM_KEY": "another-long-random-key-for-voter-pseudonyms-0d9c8b7a6f5e4d3c2b1a",
        "ALLOWED_HOSTS": "chorus.example.org",
        "DATABASE_URL": "sqlite:////tmp/chorus-deploy-check.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_refuse_a_missing_secret_key():
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "", "ALLOWED_HOSTS": "x"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_settings_refuse_a_missing_pseudonym_key():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-secret-key-5c1e0f5a9b7d4e2f8a6c3b1d0e9f7a5b",
        "PSEUDONYM_KEY": "",
        "ALLOWED_HOSTS": "x",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "PSEUDONYM_KEY must be set when DEBUG is off" in result.stderr


def test_demo_people_are_idempotent():
    call_command("demo", "--people-only")
    call_command("demo", "--people-only")
    assert sorted(User.objects.values_list("username", flat=True)) == [
        "annotator1",
        "annotator2",
        "expert",
        "researcher",
        "reviewer",
    ]
    assert Study.objects.count() == 1
    # The study has a reviewer: they see it and approve survey questions, nothing else.
    assert sorted(Study.objects.get().members.values_list("user__username", "role")) == [
        ("researcher", "owner"),
        ("reviewer", "reviewer"),
    ]
    assert User.objects.get(username="researcher").check_password("chorus-demo-2026")


def test_the_demo_researcher_browses_the_admin_and_exports_from_it(client):
    """Staff with view rights on the research apps: the rows show (read-only) and the export
    actions run; nothing can be changed there."""
    call_command("demo", "--people-only")
    client.force_login(User.objects.get(username="researcher"))
    for path in (
        "/admin/annotation/project/",
        "/admin/surveys/survey/",
        "/admin/benchmarks/version/",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/accounts/user/").status_code == 403
    assert client.get("/admin/annotation/project/add/").status_code == 403
    from annotation.models import Project
    from jobs.models import Job
    from tests.annotation.factories import emotion_project

    project = emotion_project(
        study=Study.objects.get(), user=User.objects.get(username="researcher"), k=1
    )
    started = client.post(
        "/admin/annotation/project/",
        {"action": "export_votes_csv", "_selected_action": [project.pk]},
    )
    assert started.status_code == 302
    assert Job.objects.filter(kind__contains="votes").count() == 1
    assert Project.objects.get(pk=project.pk).name == project.name


def test_every_korean_catalogue_passes_msgfmt_check():
    """gettext's own check (headers, plural forms, format strings), stricter than Django's."""
    import shutil

    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt (gettext) is not installed")
    catalogues = [
        *sorted(REPO.glob("*/locale/ko/LC_MESSAGES/django.po")),
        REPO / "locale" / "ko" / "LC_MESSAGES" / "django.po",
    ]
    assert len(catalogues) == 6  # annotation, benchmarks, evaluation, interop, surveys, site
    for po in catalogues:
        result = subprocess.run(
            ["msgfmt", "--check", "-o", os.devnull, str(po)], capture_output=True, text=True
        )
        assert result.returncode == 0, f"{po}: {result.stderr}"
