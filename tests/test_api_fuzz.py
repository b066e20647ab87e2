"""Property-based fuzzing of the REST API from its own OpenAPI schema (schemathesis).

Every operation of the schema (drf-spectacular's, generated in process) is called through the
WSGI application with inputs generated from it: its examples, the boundary values of valid
input (the coverage phase: longest strings, extreme numbers, every enum value;
``FUZZ_COVERAGE=all`` adds their invalid neighbours) and ``FUZZ_EXAMPLES`` random inputs,
valid and invalid. The caller is a researcher who owns a small study with surveys, an
annotation project and a dataset, and path parameters name those real objects, so requests
reach the code behind the permission checks. Two properties hold for every request:

- no 5xx: a crash is reported with the operation, the input and the server's traceback;
- every 4xx has the documented body ``{"errors": {"<field>": ["<message>", ...]}}``.

Generation is derandomized with a fixed seed (``FUZZ_SEED``), so a run replays exactly, CI
included. The world is built once for the module; each request runs in a savepoint that is
rolled back, so every input starts from the same world and a failure replays alone.
``FUZZ_EXAMPLES=100 FUZZ_SEED=7 FUZZ_COVERAGE=all`` digs deeper (about 10 minutes).
"""

from __future__ import annotations

import os
import traceback

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from schemathesis.config import SchemathesisConfig

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20260"))
FUZZ_COVERAGE = os.environ.get("FUZZ_COVERAGE", "positive")

# Operations left out while a 5xx they raise waits for its fix: (METHOD, path) -> the failure
# and its reproduction. Remove the entry with the fix.
KNOWN_5XX: dict[tuple[str, str], str] = {}


# --- the world the fuzzer works in ----------------------------------------------------------


def _build_world(researcher, study, colleague) -> dict[str, object]:
    """A small study with one of everything, made through the services; returns the ids that
    path parameters take."""
    from accounts.models import Study
    from accounts.services import researcher_grant, study_create, study_member_invite
    from annotation.models import MemberRole
    from annotation.services import (
        annotation_submit,
        assignment_next,
        exclusion_create,
        member_add,
        member_invite,
    )
    from benchmarks.services import (
        dataset_create,
        source_upload_create,
        version_build,
        version_export_start,
    )
    from evaluation.services.predictions import run_upload
    from surveys import services as surveys
    from tests.accounts.factories import UserFactory
    from tests.annotation.factories import emotion_project, raters, text_items
    from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame
    from tests.surveys import factories as survey_factories

    # Surveys: an open survey with a sample design (quotas) and a draft one being written.
    population = survey_factories.make_population(study)
    panel = survey_factories.make_panel(study, population, per_cell=3)
    design = surveys.design_create(
        study=study, population=population, panel=panel, name="Main", n=8
    )
    open_survey = survey_factories.make_survey(study, design, open_link=True, reviewer=colleague)
    draft = survey_factories.make_survey(study, approve=False)
    draft_questions = list(draft.questions.order_by("order", "id"))
    surveys.question_submit(question=draft_questions[-1], user=colleague)

    # Annotation: the researcher also rates, so next/submit/undo reach real work.
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 6, gold={0: "joy"})
    member_add(project=project, user=researcher, role=MemberRole.ANNOTATOR)
    ana, ben = raters(project, 2)
    assignment = assignment_next(project=project, user=ana)
    annotation = annotation_submit(
        project=project, user=ana, item_id=assignment.item_id, labels=[{"category": "joy"}]
    )
    exclusion = exclusion_create(project=project, rater=ben, reason="Fuzz", by=researcher)

    # Someone else's study and project invite the researcher (the accept/decline endpoints).
    other = UserFactory(username="olga")
    researcher_grant(user=other)
    other_study: Study = study_create(user=other, name="Other study")
    study_invitation = study_member_invite(study=other_study, user=researcher, by=other)
    other_project = emotion_project(study=other_study, user=other, name="Other project")
    project_invitation = member_invite(project=other_project, user=researcher, by=other)

    # Benchmarks: a dataset with an uploaded source, two versions, an export, a run.
    dataset = dataset_create(
        study=study,
        user=researcher,
        name="Emotions",
        categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 10},
        split_group="speaker",
    )
    source_upload_create(
        dataset=dataset, file_name="votes.csv", content=csv_bytes(vote_frame(n_items=12))
    )
    version_build(dataset=dataset, user=researcher)
    version = version_build(dataset=dataset, user=researcher)
    export = version_export_start(version=version, user=researcher)
    run = run_upload(
        dataset=dataset,
        version=version,
        user=researcher,
        name="model-a",
        raw=b"item,label\ni00,joy\ni01,anger\n",
        file_name="predictions.csv",
    )
    # Interop: one import of a small Prodigy export.
    from django.core.files.uploadedfile import SimpleUploadedFile

    from interop.services import label_import_start

    prodigy = b'{"text": "Fine.", "label": "joy", "answer": "accept", "_annotator_id": "a"}\n'
    label_import = label_import_start(
        study=study,
        user=researcher,
        tool="prodigy",
        name="Imported",
        upload=SimpleUploadedFile("prodigy.jsonl", prodigy),
    )
    return {
        "study_id": study.pk,
        "import_id": label_import.pk,
        "username": colleague.username,
        "job_id": str(export.pk),
        "population_id": population.pk,
        "panel_id": panel.pk,
        "design_id": design.pk,
        "open_survey_id": open_survey.pk,
        "draft_survey_id": draft.pk,
        "draft_question_id": draft_questions[0].pk,
        "review_question_id": draft_questions[-1].pk,
        "open_question_id": open_survey.questions.order_by("order", "id").first().pk,
        "project_id": project.pk,
        "annotation_id": annotation.pk,
        "exclusion_id": exclusion.pk,
        "item_id": assignment.item_id,
        "study_invitation_id": study_invitation.pk,
        "project_invitation_id": project_invitation.pk,
        "project_member": ben.username,
        "dataset_id": dataset.pk,
        "number": version.number,
        "other": version.number - 1,
        "run_id": run.pk,
    }


def _path_parameters(world: dict[str, object], method: str, path: str, given: dict) -> dict:
    """Real ids for the operation's path parameters (the generated ones would all be 404s)."""
    editing = path.startswith("/api/surveys/questions/") or "/blocks/" in path
    editing = editing or path.endswith("/questions/") or method == "PATCH"
    values = {
        "survey_id": world["draft_survey_id" if editing else "open_survey_id"],
        "question_id": world[
            "review_question_id"
            if path.endswith("/reviews/")
            else "draft_question_id"
            if editing
            else "open_question_id"
        ],
        "invitation_id": world[
            "project_invitation_id"
            if path.startswith("/api/annotation/")
            else "study_invitation_id"
        ],
        "username": world["project_member" if path.startswith("/api/annotation/") else "username"],
    }
    values = {**world, **values}
    unknown = sorted(set(given) - set(values))
    assert not unknown, f"No object for the path parameters {unknown}: add one to the world"
    return {name: values[name] for name in given}


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once for the module and committed (so jobs run on commit as in
    production); the database is flushed afterwards, as after a transactional test."""
    from django.core.management import call_command
    from django.test import override_settings
    from rest_framework.authtoken.models import Token

    from accounts.services import researcher_grant, study_create, study_member_add
    from tests.accounts.factories import UserFactory

    media = tmp_path_factory.mktemp("fuzz-media")
    with (
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=str(media),
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
    ):
        try:
            researcher = UserFactory(username="rosa")
            researcher_grant(user=researcher)
            study = study_create(user=researcher, name="Values 2026")
            colleague = UserFactory(username="colin")
            study_member_add(study=study, user=colleague)
            world = _build_world(researcher, study, colleague)
            world["token"] = Token.objects.create(user=researcher).key
            world["media"] = str(media)
            yield world
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def server_errors(fuzz_world, db, settings):
    """Tracebacks of the exceptions the views raised (Django answers them with a bare 500)."""
    settings.MEDIA_ROOT = fuzz_world["media"]
    caught: list[str] = []

    def record(sender, request=None, **kwargs):
        caught.append(traceback.format_exc())

    signals.got_request_exception.connect(record)
    # As Django's test client does: the WSGI handler would otherwise close the connection at
    # the end of each request, and with it the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield caught
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    signals.got_request_exception.disconnect(record)


def _plain(value):
    """drf-spectacular's schema with its lazy strings and ordered dicts made plain JSON."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _load_schema():
    from drf_spectacular.generators import SchemaGenerator

    config = SchemathesisConfig.from_dict(
        {
            "seed": FUZZ_SEED,
            "suppress-health-check": ["all"],
            "generation": {
                "max-examples": FUZZ_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            # Stateful chains need a server that keeps state between calls; ours rolls back.
            "phases": {
                "stateful": {"enabled": False},
                # Boundary values of valid input (longest strings, extreme numbers, every
                # enum value); FUZZ_COVERAGE=all adds their invalid neighbours (about twice
                # the requests).
                "coverage": {"generation": {"mode": FUZZ_COVERAGE}},
            },
        }
    )
    raw = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(_plain(raw), config=config)
    loaded.app = WSGIHandler()
    for method, path in KNOWN_5XX:
        loaded = loaded.exclude(method=method, path=path)
    return loaded


schema = _load_schema()


def _describe(case, response) -> str:
    body = case.body if not isinstance(case.body, bytes | bytearray) else case.body[:500]
    return (
        f"{case.method} {case.formatted_path}\n  query: {case.query}\n  headers: "
        f"{ {k: v for k, v in (case.headers or {}).items() if k != 'Authorization'} }\n"
        f"  body: {body!r}\n  -> {response.status_code}: {response.content[:500]!r}"
    )


def _check_error_body(case, response) -> None:
    try:
        body = response.json()
    except ValueError:
        pytest.fail(f"4xx without a JSON body:\n{_describe(case, response)}")
    ok = (
        isinstance(body, dict)
        and set(body) == {"errors"}
        and isinstance(body["errors"], dict)
        and body["errors"]
        and all(
            isinstance(field, str)
            and isinstance(messages, list)
            and messages
            and all(isinstance(m, str) for m in messages)
            for field, messages in body["errors"].items()
        )
    )
    assert ok, f"4xx body is not {{'errors': {{field: [messages]}}}}:\n{_describe(case, response)}"


@schema.parametrize()
def test_api_fuzz(case, fuzz_world, server_errors):
    case.path_parameters = _path_parameters(
        fuzz_world, case.method.upper(), case.path, case.path_parameters or {}
    )
    if case.headers:
        # A generated Authorization header would replace the researcher's token.
        case.headers.pop("Authorization", None)
    server_errors.clear()
    with transaction.atomic():
        response = case.call(headers={"Authorization": f"Token {fuzz_world['token']}"})
        transaction.set_rollback(True)
    if response.status_code >= 500:
        crash = server_errors[-1] if server_errors else "(no exception was raised)"
        pytest.fail(f"{response.status_code} from\n{_describe(case, response)}\n{crash}")
    if 400 <= response.status_code < 500:
        _check_error_body(case, response)
