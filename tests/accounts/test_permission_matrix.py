"""The permission matrix: every route of the site and the API, every method, eight personas.

The routes come from the URL resolver (``get_resolver()``), so a URL added without a line in
``ROUTES`` fails ``test_every_route_is_in_the_matrix``: no new URL escapes the matrix. Each
route lists its methods and, per method, a rule (``RULES``) saying which class of answer
each persona gets:

======================  ====================================================================
``ok``                  GET: 200. Other methods: the request got past the permission check
                        (2xx, 3xx other than to the login page, or a 4xx about the input).
``login``               pages: 302 to the login page; the API: 401.
``403`` / ``404``       a member without the right / anyone who may not know the object.
``405``                 a method the route does not take (checked for every route whose
                        methods can be told: the API's, and pages that take POST only).
======================  ====================================================================

The personas: ``anonymous``; ``participant`` (a survey invitation's token holder, not logged
in); ``annotator`` and ``expert`` (members of the annotation project); ``other_researcher``
(owner of another study); ``removed`` (was a researcher of the study and an annotator of its
project, started a job, rated an audio clip, then was removed from both); ``staff`` (staff
with the admin's view-only group, member of nothing); ``owner`` (owner of the study).

One world is built per module (``world``); each request of the matrix runs in a savepoint
that is rolled back, so a write of one persona never changes what the next one sees.
The admin's routes follow one rule (``test_admin_routes``): only staff get past its login.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

PERSONAS = (
    "anonymous",
    "participant",
    "annotator",
    "expert",
    "other_researcher",
    "removed",
    "staff",
    "owner",
)
LOGGED_OUT = ("anonymous", "participant")

OK, LOGIN, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = "ok", "login", "403", "404", "405"
REDIRECT = "redirect"  # GET answered by a redirect elsewhere than the login page


def _rule(default: str = NOT_FOUND, **answers: str) -> dict[str, str]:
    """Answers per logged-in persona (``default`` for the others); logged-out personas get
    ``login`` unless named."""
    rule = {p: answers.get(p, default) for p in PERSONAS}
    for p in LOGGED_OUT:
        rule[p] = answers.get(p, LOGIN)
    return rule


RULES: dict[str, dict[str, str]] = {
    # Anyone, logged in or not.
    "public": {p: OK for p in PERSONAS},
    # Anyone logged in (their own things: home, password, their invitations, lists).
    "user": _rule(OK),
    # Those who may create studies (``can_create_studies``).
    "creator": _rule(FORBIDDEN, owner=OK, other_researcher=OK),
    # The study's members (owners for the owner-only routes: no non-owner member here).
    "study": _rule(owner=OK),
    # The project's researchers; its members get 403.
    "project": _rule(owner=OK, annotator=FORBIDDEN, expert=FORBIDDEN),
    # Annotators and experts rate; the researcher is no member of the project.
    "work": _rule(annotator=OK, expert=OK, owner=FORBIDDEN),
    # Members and researchers (guidelines, the schema, one's own answers).
    "viewer": _rule(owner=OK, annotator=OK, expert=OK),
    "adjudication": _rule(owner=OK, annotator=FORBIDDEN, expert=FORBIDDEN),
    # The audio of an item: researchers and the current member it was assigned to.
    "media": _rule(owner=OK, annotator=OK),
    # One annotation: its rater and the researchers.
    "annotation": _rule(owner=OK, annotator=OK),
    # A study's job and its file: the study's members now (not the removed one who started it).
    "job": _rule(owner=OK),
    # A pending invitation: only its invitee answers it.
    "study_invitation": _rule(annotator=OK),
    "project_invitation": _rule(other_researcher=OK),
    # Logging out sends anyone to the login page; choosing a language sends them back.
    "logout": {p: LOGIN for p in PERSONAS},
    "redirect": {p: REDIRECT for p in PERSONAS},
    # The participant page under the invitation's token; anyone else tries a made-up token.
    "participant": {**_rule(), "participant": OK, "anonymous": NOT_FOUND},
    # An invitation link that does not exist (or was used): nobody gets past it.
    "no_link": {p: NOT_FOUND for p in PERSONAS},
}

GET, POST, PUT, PATCH, DELETE = "GET", "POST", "PUT", "PATCH", "DELETE"
METHODS = (GET, POST, PUT, PATCH, DELETE)


@dataclass(frozen=True)
class Route:
    """A route's methods with their rules; ``kwargs`` replace the world's defaults; ``body``
    is sent as JSON to the API (as a form to pages) with every non-GET method."""

    methods: dict[str, str]
    kwargs: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


def R(rule: str, *methods: str, **extra: Any) -> Route:
    return Route({m: rule for m in methods or (GET,)}, **extra)


S = "surveys/<int:survey_id>/"
Q = S + "questions/<int:question_id>/"
P = "annotation/projects/<int:project_id>/"
D = "benchmarks/datasets/<int:dataset_id>/"
V = D + "versions/<int:number>/"
AS = "api/surveys/"
AP = "api/annotation/projects/<int:project_id>/"
AD = "api/benchmarks/datasets/<int:dataset_id>/"
AV = AD + "versions/<int:number>/"

# Bodies that pass validation, so that a refusal can only come from the permission check.
POPULATION = {"study": "{study}", "name": "P2", "csv": "region,count\nA,10\nB,20\n"}
PROJECT = {"study": "{study}", "name": "P2", "categories": [{"key": "a", "name": "A"}]}

ROUTES: dict[str, Route] = {
    # accounts and the site
    "": R("user"),
    "studies/new/": R("creator", POST, body={"study-name": "S2"}),
    "studies/<int:study_id>/": R("study"),
    "join/<str:token>/": R("no_link", GET, POST),
    "favicon.ico": R("redirect"),
    "studies/<int:study_id>/edit/": R("study", POST, body={"study-name": "Values 2026 (2)"}),
    "studies/<int:study_id>/archive/": R("study", POST),
    "studies/<int:study_id>/unarchive/": R("study", POST),
    "studies/<int:study_id>/members/": Route(
        {GET: "study", POST: "study"}, body={"invite-username": "eunji", "invite-role": "owner"}
    ),
    "studies/<int:study_id>/members/remove/": R("study", POST, body={"username": "colin"}),
    "studies/<int:study_id>/invitations/<int:invitation_id>/cancel/": R("study", POST),
    "invitations/<int:invitation_id>/accept/": R("study_invitation", POST),
    "invitations/<int:invitation_id>/decline/": R("study_invitation", POST),
    "accounts/login/": R("public", GET, POST),
    "accounts/logout/": R("logout", POST),
    "accounts/password/": R("user", GET, POST),
    "accounts/password/done/": R("user"),
    "healthz": R("public"),
    "i18n/setlang/": Route({GET: "redirect", POST: "public"}, body={"language": "ko", "next": "/"}),
    # jobs
    "jobs/<uuid:job_id>/": R("job"),
    "jobs/<uuid:job_id>/progress/": R("job"),
    "jobs/<uuid:job_id>/download/": R("job"),
    # survey pages
    "surveys/r/<str:token>/": R("participant", GET, POST),
    S: R("study"),
    S + "review/": R("study"),
    S + "invitees/": R("study"),
    "surveys/<int:survey_id>/invitees.csv": R("study"),
    "surveys/<int:survey_id>/open-link-qr.svg": R("study"),
    S + "review/<int:question_id>/": R("study", POST),
    S + "questions/": R("study"),
    S + "questions/new/": R("study", POST),
    S + "settings/": R("study", POST),
    S + "blocks/<int:block_id>/<str:action>/": R("study", POST, kwargs={"action": "down"}),
    Q + "edit/": R("study", GET, POST),
    Q + "delete/": R("study", POST),
    Q + "move/<str:direction>/": R("study", POST),
    Q + "submit/": R("study", POST),
    S + "status/<str:action>/": R("study", POST),
    S + "draw/<str:kind>/": R("study", POST),
    S + "send/<str:kind>/": R("study", POST, kwargs={"kind": "reminders"}),
    S + "export/<str:fmt>/": R("study", POST),
    S + "weights/": R("study", POST),
    S + "<section:section>/": R("study", kwargs={"section": "quotas"}),
    S + "quotas/save/": R("study", POST),
    S + "weights/merge/": R("study", POST),
    "surveys/populations/<int:population_id>/": R("study"),
    "surveys/panels/<int:panel_id>/": R("study"),
    "surveys/studies/<int:study_id>/setup/": R("study"),
    "surveys/studies/<int:study_id>/setup/population/": R("study", POST),
    "surveys/studies/<int:study_id>/setup/panel/": R("study", POST),
    "surveys/studies/<int:study_id>/setup/design/": R("study", POST),
    "surveys/studies/<int:study_id>/setup/survey/": R("study", POST),
    # annotation pages
    P: R("project"),
    "annotation/studies/<int:study_id>/new/": R("study", GET, POST),
    P + "settings/": R("project", GET, POST),
    P + "items/": R("project"),
    P + "expert-sample/": R("project", POST),
    P + "categories/": R("project", POST),
    P + "import/": R("project", POST),
    P + "ratings/": R("project", POST),
    P + "members/": R("project", POST),
    P + "members/remove/": R("project", POST, body={"username": "ana"}),
    P + "agreement/": R("project", POST),
    P + "votes/export/": R("project", POST),
    P + "exclusions/": R("project", POST),
    "annotation/exclusions/<int:exclusion_id>/lift/": R("project", POST),
    P + "guidelines/": R("viewer"),
    P + "annotate/": R("work"),
    P + "annotate/submit/": R("work", POST),
    P + "annotate/skip/": R("work", POST),
    P + "annotate/undo/": R("work", POST),
    P + "adjudication/": R("adjudication"),
    "annotation/items/<int:item_id>/adjudicate/": R("adjudication", GET, POST),
    "annotation/items/<int:item_id>/media/": R("media"),
    "annotation/invitations/<int:invitation_id>/accept/": R(
        "project_invitation", POST, kwargs={"invitation_id": "project_invitation"}
    ),
    "annotation/invitations/<int:invitation_id>/decline/": R(
        "project_invitation", POST, kwargs={"invitation_id": "project_invitation"}
    ),
    # benchmark pages
    "benchmarks/studies/<int:study_id>/datasets/": R("study", GET, POST),
    D: R("study"),
    D + "sources/": R("study", POST),
    D + "sources/link/": R("study", POST),
    D + "build/": R("study", POST),
    V: R("study"),
    V + "items/": R("study"),
    V + "media/<str:name>": R("study"),
    V + "diff/<int:other>/": R("study"),
    V + "export/": R("study", POST),
    V + "exports/<uuid:job_id>/download/": R("study", kwargs={"job_id": "export_job"}),
    # the accounts and jobs API
    "api/studies/": Route({GET: "user", POST: "creator"}, body={"name": "New study"}),
    "api/studies/<int:study_id>/": Route({GET: "study", PATCH: "study"}, body={"name": "V2"}),
    "api/studies/<int:study_id>/members/": Route(
        {GET: "study", POST: "study"}, body={"username": "eunji"}
    ),
    "api/studies/<int:study_id>/members/<str:username>/": R(
        "study", DELETE, kwargs={"username": "colin"}
    ),
    "api/invitations/": R("user"),
    "api/invitations/<int:invitation_id>/accept/": R("study_invitation", POST),
    "api/invitations/<int:invitation_id>/decline/": R("study_invitation", POST),
    "api/jobs/<uuid:job_id>/": R("job"),
    # the surveys API
    AS + "populations/": R("study", POST, body=POPULATION),
    AS + "populations/<int:population_id>/": R("study"),
    AS + "panels/": R("study", POST, body={"population": "{population}", "name": "Panel 2"}),
    AS + "panels/<int:panel_id>/import/": R("study", POST),
    AS + "panels/<int:panel_id>/contacts/": R("study"),
    AS + "designs/": R("study", POST, body={"population": "{population}", "n": 10}),
    AS + "designs/preview/": R("study", POST, body={"population": "{population}", "n": 10}),
    AS + "designs/<int:design_id>/": R("study"),
    AS + "surveys/": Route(
        {GET: "user", POST: "study"}, body={"study": "{study}", "title_en": "T"}
    ),
    AS + "surveys/<int:survey_id>/": R("study", GET, PATCH),
    AS + "surveys/<int:survey_id>/blocks/": R("study", POST),
    AS + "surveys/<int:survey_id>/questions/": R("study", POST),
    AS + "surveys/<int:survey_id>/open/": R("study", POST),
    AS + "surveys/<int:survey_id>/close/": R("study", POST),
    AS + "surveys/<int:survey_id>/draws/": R("study", POST),
    AS + "surveys/<int:survey_id>/invitations/send/": R("study", POST),
    AS + "surveys/<int:survey_id>/weights/": R("study", POST),
    AS + "surveys/<int:survey_id>/exports/": R("study", POST),
    AS + "surveys/<int:survey_id>/ground-truth/": R("study"),
    AS + "surveys/<int:survey_id>/responses/": R("study"),
    AS + "questions/<int:question_id>/": R("study", GET, PATCH, DELETE),
    AS + "questions/<int:question_id>/move/": R("study", POST),
    AS + "questions/<int:question_id>/submit/": R("study", POST),
    AS + "questions/<int:question_id>/reviews/": R("study", POST),
    # the annotation API
    "api/annotation/projects/": Route({GET: "user", POST: "study"}, body=PROJECT),
    AP: Route({GET: "viewer", PATCH: "project"}),
    AP + "members/": Route({GET: "project", POST: "project"}, body={"username": "otto"}),
    AP + "members/<str:username>/": R("project", DELETE, kwargs={"username": "ana"}),
    AP + "invitations/": R("project"),
    "api/annotation/invitations/": R("user"),
    "api/annotation/invitations/<int:invitation_id>/accept/": R(
        "project_invitation", POST, kwargs={"invitation_id": "project_invitation"}
    ),
    "api/annotation/invitations/<int:invitation_id>/decline/": R(
        "project_invitation", POST, kwargs={"invitation_id": "project_invitation"}
    ),
    AP + "items/": R("project", GET, POST),
    AP + "ratings/": R("project", GET, POST),
    AP + "next/": R("work", POST),
    AP + "submit/": R("work", POST),
    AP + "skip/": R("work", POST),
    AP + "undo/": R("work", POST),
    AP + "annotations/": R("viewer"),
    AP + "votes/": R("project"),
    AP + "expert-sample/": R("project", POST),
    AP + "categories/": R("project", PUT),
    AP + "votes/export/": R("project", POST),
    AP + "agreement/": R("project", GET, POST),
    AP + "annotators/": R("project"),
    AP + "exclusions/": R("project", GET, POST),
    AP + "adjudication/": R("adjudication"),
    "api/annotation/annotations/<int:annotation_id>/": R("annotation"),
    "api/annotation/exclusions/<int:exclusion_id>/lift/": R("project", POST),
    "api/annotation/items/<int:item_id>/adjudication/": R("adjudication", GET, POST),
    # the benchmarks API
    "api/benchmarks/studies/<int:study_id>/datasets/": R("study", GET, POST),
    AD: R("study"),
    AD + "sources/": R("study", POST),
    AD + "sources/link/": R("study", POST),
    AD + "build/": R("study", POST),
    AD + "versions/": R("study"),
    AV: R("study"),
    AV + "items/": R("study"),
    AV + "diff/<int:other>/": R("study"),
    AV + "exports/": R("study", POST),
    AV + "exports/<uuid:job_id>/download/": R("study", kwargs={"job_id": "export_job"}),
    # evaluation pages and API (everything through the dataset's study)
    "evaluation/datasets/<int:dataset_id>/": R("study"),
    "evaluation/datasets/<int:dataset_id>/reference/": R("study", POST),
    "evaluation/datasets/<int:dataset_id>/endpoints/": R("study", POST),
    "evaluation/datasets/<int:dataset_id>/endpoint-runs/": R("study", POST),
    "evaluation/runs/<int:run_id>/": R("study"),
    "api/evaluation/datasets/<int:dataset_id>/runs/": R("study", GET, POST),
    "api/evaluation/datasets/<int:dataset_id>/reference/": R("study", PUT),
    "api/evaluation/datasets/<int:dataset_id>/endpoint-runs/": R("study", POST),
    "api/evaluation/runs/<int:run_id>/": R("study"),
    "api/evaluation/studies/<int:study_id>/endpoints/": R("study", GET, POST),
    # imports from other tools: the page and the export list the user's own studies' things
    "interop/": R("user", GET, POST),
    "interop/imports/<int:import_id>/": R("study"),
    "interop/imports/<int:import_id>/suggestions.csv": R("study"),
    "interop/export/": R("user", POST),
    "api/interop/imports/": R("user", POST),
    "api/interop/imports/<int:import_id>/": R("study"),
    # the API's description
    "api/schema/": R("public"),
    "api/docs/": R("public"),
}


def _routes(resolver: URLResolver | None = None, prefix: str = ""):
    """(route, view) for every URL pattern, includes flattened."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


ALL_ROUTES = dict(_routes())
SITE_ROUTES = sorted(r for r in ALL_ROUTES if not r.startswith("admin/"))
ADMIN_ROUTES = sorted(r for r in ALL_ROUTES if r.startswith("admin/"))


def _api_methods(view) -> set[str] | None:
    """The methods a DRF view takes (None for a plain Django view)."""
    cls = getattr(view, "cls", None)
    if cls is None:
        return None
    return {m for m in METHODS if hasattr(cls, m.lower())}


# --- the world --------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, Any]
    ids: dict[str, Any]
    participant_token: str
    media_root: str
    # Session cookies per persona, made once (logging in for every request costs).
    sessions: dict[str, str] = field(default_factory=dict)


def _build(media_root: str) -> World:
    from accounts.demo import ADMIN_APPS, ADMIN_GROUP
    from accounts.models import StudyInvitation, StudyRole
    from accounts.services import (
        researcher_grant,
        study_create,
        study_member_add,
        study_member_remove,
    )
    from annotation.models import Annotation, Item, MemberRole, ProjectInvitation
    from annotation.services import (
        annotation_submit,
        assignment_next,
        assignment_skip,
        exclusion_create,
        member_add,
        member_remove,
    )
    from benchmarks.models import EXPORT_JOB_KIND
    from benchmarks.services import dataset_create, source_annotation_create, version_build
    from jobs.models import Job
    from surveys.services import design_create, sample_draw
    from tests.accounts.factories import UserFactory
    from tests.annotation.factories import EMOTIONS, audio_items, emotion_project, tones
    from tests.surveys import factories as survey_factories

    names = {
        "owner": "rosa",
        "annotator": "ana",
        "expert": "eunji",
        "other_researcher": "oscar",
        "removed": "remy",
        "staff": "stella",
    }
    users = {persona: UserFactory(username=name) for persona, name in names.items()}
    owner, annotator, expert = users["owner"], users["annotator"], users["expert"]
    colleague = UserFactory(username="colin")  # a researcher member (reviews questions)
    UserFactory(username="otto")  # nobody, for invitations
    researcher_grant(user=owner)
    researcher_grant(user=users["other_researcher"])
    staff = users["staff"]
    staff.is_staff = True
    staff.save()
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=ADMIN_APPS, codename__startswith="view_"
        )
    )
    staff.groups.add(group)

    study = study_create(user=owner, name="Values 2026")
    study_create(user=users["other_researcher"], name="Elsewhere")
    study_member_add(study=study, user=colleague, role=StudyRole.RESEARCHER)
    study_member_add(study=study, user=users["removed"], role=StudyRole.RESEARCHER)

    # surveys: a population, a panel with contact details, a design, an open survey, a draw
    population = survey_factories.make_population(study)
    panel = survey_factories.make_panel(study, population, per_cell=3)
    design = design_create(study=study, population=population, panel=panel, name="D", n=8)
    survey = survey_factories.make_survey(study, design, reviewer=colleague)
    invitation = sample_draw(survey=survey, seed=5).invitations.first()
    question = survey.questions.order_by("id").first()

    # annotation: six audio clips rated by three imported raters (k = 5 leaves room)
    project = emotion_project(study=study, user=owner, k=5, scales=[])
    clips = tones()
    audio_items(project, clips)
    member_add(project=project, user=annotator, role=MemberRole.ANNOTATOR)
    member_add(project=project, user=expert, role=MemberRole.EXPERT)
    member_add(project=project, user=users["removed"], role=MemberRole.ANNOTATOR)
    # The removed one was given the clip first (and skipped it), then the annotator rated it:
    # both had it assigned, so its audio tells their access apart.
    removed_lease = assignment_next(project=project, user=users["removed"])
    assignment_skip(
        project=project, user=users["removed"], item_id=removed_lease.item_id, reason="matrix"
    )
    lease = assignment_next(project=project, user=annotator)
    assert lease.item_id == removed_lease.item_id
    annotation_submit(
        project=project, user=annotator, item_id=lease.item_id, labels=[{"category": "joy"}]
    )
    item = Item.objects.get(pk=lease.item_id)
    assignment_next(project=project, user=annotator)  # an open lease for skip and undo
    exclusion = exclusion_create(project=project, rater=users["removed"], reason="matrix", by=owner)

    # benchmarks: a dataset of the project, version 1, an export with its file
    dataset = dataset_create(
        study=study,
        user=owner,
        name="Clips",
        categories=EMOTIONS,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 10},
    )
    source_annotation_create(dataset=dataset, project_id=project.pk, name="Clips")
    version = version_build(dataset=dataset, user=owner)
    export_job = Job.objects.create(
        kind=EXPORT_JOB_KIND,
        status="succeeded",
        study=study,
        created_by=owner,
        params={"version_id": version.pk, "dataset_id": dataset.pk},
        result={"file": "clips.zip"},
        result_file=ContentFile(b"PK\x05\x06" + b"\0" * 18, name="clips.zip"),
    )
    # a job started by the researcher who is removed below
    job = Job.objects.create(
        kind="surveys.export",
        status="succeeded",
        study=study,
        created_by=users["removed"],
        result_file=ContentFile(b"id\n1\n", name="responses.csv"),
    )

    study_invitation = StudyInvitation.objects.create(study=study, user=annotator, invited_by=owner)
    project_invitation = ProjectInvitation.objects.create(
        project=project, user=users["other_researcher"], invited_by=owner
    )

    # The removal: from the study and the project, after all of the above.
    study_member_remove(study=study, user=users["removed"])
    member_remove(project=project, user=users["removed"])
    assert removed_lease is not None and Annotation.objects.count() == 1

    clip = hashlib.sha256(clips[f"{item.external_id}.wav"]).hexdigest() + ".wav"
    ids = {
        "study_id": study.pk,
        "invitation_id": study_invitation.pk,
        "project_invitation": project_invitation.pk,
        "job_id": job.pk,
        "export_job": export_job.pk,
        "survey_id": survey.pk,
        "question_id": question.pk,
        "block_id": question.block_id,
        "action": "close",
        "direction": "down",
        "kind": "initial",
        "fmt": "csv",
        "population_id": population.pk,
        "panel_id": panel.pk,
        "design_id": design.pk,
        "project_id": project.pk,
        "item_id": item.pk,
        "exclusion_id": exclusion.pk,
        "annotation_id": Annotation.objects.get().pk,
        "username": "ana",
        "dataset_id": dataset.pk,
        "number": 1,
        "other": 1,
        "name": clip,
        # placeholders of request bodies
        "study": study.pk,
        "population": population.pk,
    }
    if apps.is_installed("evaluation"):
        ids["run_id"] = (
            apps.get_model("evaluation", "Run")
            .objects.create(
                dataset=dataset, version=version, name="m", kind="upload", created_by=owner
            )
            .pk
        )
    if apps.is_installed("interop"):
        ids["import_id"] = (
            apps.get_model("interop", "LabelImport")
            .objects.create(
                study=study,
                tool="prodigy",
                name="Imported",
                source_name="answers.jsonl",
                source_file=ContentFile(b"{}\n", name="answers.jsonl"),
                suggestions_file=ContentFile(b"item,field,agent,label,score\n", name="s.csv"),
                created_by=owner,
            )
            .pk
        )
    built = World(users=users, ids=ids, participant_token=invitation.token, media_root=media_root)
    for persona in PERSONAS:
        client = Client()
        if persona in users:
            client.force_login(users[persona])
        elif persona == "participant":
            # The participant has been to their page: a session of their own, no account.
            client.get(f"/surveys/r/{invitation.token}/")
        cookie = client.cookies.get(django_settings.SESSION_COOKIE_NAME)
        if cookie is not None:
            built.sessions[persona] = cookie.value
    return built


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once per module inside a transaction that is rolled back at its end; each test
    works in a savepoint of it."""
    media_root = str(tmp_path_factory.mktemp("matrix-media"))
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with override_settings(MEDIA_ROOT=media_root, PASSWORD_HASHERS=fast):
                built = _build(media_root)
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, world):
    """This module's files live in the world's folder (replaces the suite's per-test one)."""
    settings.MEDIA_ROOT = world.media_root
    settings.RATE_LIMITS_ENABLED = False


# --- asking ---------------------------------------------------------------------------------


PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def _url(route: str, world: World, persona: str, kwargs: dict[str, str]) -> str:
    """The route with the world's objects in its parameters (``kwargs`` name other ones);
    the participant's token for the participant, a made-up one for everyone else."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "token":
            return world.participant_token if persona == "participant" else "no-such-token"
        key = kwargs.get(name, name)
        return str(world.ids.get(key, key))

    return "/" + PARAMETER.sub(value, route)


def _client(world: World, persona: str) -> Client:
    client = Client()
    if persona in world.sessions:
        client.cookies[django_settings.SESSION_COOKIE_NAME] = world.sessions[persona]
    return client


def _body(route: Route, world: World) -> dict[str, Any]:
    text = json.dumps(route.body or {})
    for key, value in world.ids.items():
        text = text.replace(f'"{{{key}}}"', json.dumps(value, default=str))
    return json.loads(text)


def _ask(client: Client, method: str, url: str, body: dict[str, Any], api: bool):
    if method == GET:
        return client.get(url)
    if api:
        return client.generic(method, url, json.dumps(body), content_type="application/json")
    return client.post(url, body) if method == POST else client.generic(method, url)


def _class_of(response, method: str) -> str:
    code = response.status_code
    if code in (401, 403, 404, 405):
        return str(code) if code != 401 else LOGIN
    if code == 302 and "/accounts/login/" in response.get("Location", ""):
        return LOGIN
    if code >= 500:
        return f"server error {code}"
    if method == GET and code in (301, 302, 303, 307):
        return REDIRECT
    if method == GET and code != 200:
        return f"GET answered {code}"
    return OK


def _answer(world: World, persona: str, route: str, method: str, spec: Route) -> str:
    """The class of answer, the request made in a savepoint rolled back afterwards."""
    url = _url(route, world, persona, spec.kwargs)
    client = _client(world, persona)
    with transaction.atomic():
        response = _ask(client, method, url, _body(spec, world), route.startswith("api/"))
        transaction.set_rollback(True)
    return _class_of(response, method)


# --- the tests --------------------------------------------------------------------------------


def test_every_route_is_in_the_matrix():
    missing = sorted(set(SITE_ROUTES) - set(ROUTES))
    assert missing == [], f"Add these routes to ROUTES with their rules: {missing}"
    gone = sorted(set(ROUTES) - set(SITE_ROUTES))
    assert gone == [], f"These routes no longer exist: {gone}"


@pytest.mark.parametrize("route", sorted(r for r in ROUTES if _api_methods(ALL_ROUTES.get(r))))
def test_the_api_methods_are_the_ones_in_the_matrix(route):
    assert set(ROUTES[route].methods) == _api_methods(ALL_ROUTES[route])


CASES = [(route, method) for route in sorted(ROUTES) for method in ROUTES[route].methods]


@pytest.mark.parametrize(("route", "method"), CASES, ids=[f"{m} /{r}" for r, m in CASES])
def test_matrix(world, route, method):
    spec = ROUTES[route]
    expected = RULES[spec.methods[method]]
    got = {persona: _answer(world, persona, route, method, spec) for persona in PERSONAS}
    assert got == expected


# Routes that do not ask to log in first.
PUBLIC_RULES = {"public", "logout", "redirect", "participant"}


def _wrong_method(route: str) -> str | None:
    spec = ROUTES[route]
    api = _api_methods(ALL_ROUTES[route])
    if api is not None:
        return next(m for m in METHODS if m not in api)
    if set(spec.methods) == {POST}:
        return GET
    return None


WRONG = [(r, m) for r in sorted(ROUTES) if (m := _wrong_method(r)) is not None]


@pytest.mark.parametrize(("route", "method"), WRONG, ids=[f"{m} /{r}" for r, m in WRONG])
def test_wrong_methods_are_405(world, route, method):
    """A method a route does not take: 405 for anyone logged in; the logged-out are asked to
    log in first (the public routes answer them 405 too)."""
    spec = ROUTES[route]
    public = set(spec.methods.values()) <= PUBLIC_RULES
    expected = {p: NOT_ALLOWED for p in PERSONAS}
    if not public:
        expected.update(dict.fromkeys(LOGGED_OUT, LOGIN))
    got = {persona: _answer(world, persona, route, method, spec) for persona in PERSONAS}
    assert got == expected


ADMIN_KWARGS = {
    "app_label": "surveys",
    "object_id": "1",
    "content_type_id": "1",
}


@pytest.mark.parametrize("route", ADMIN_ROUTES)
def test_admin_routes(world, route):
    """Every admin route: everyone but staff is sent to the admin's login (its login page
    itself answers, and logging out needs POST); staff pass (no server error here; what the
    view-only group sees is in the next test)."""
    url = "/" + PARAMETER.sub(lambda m: ADMIN_KWARGS.get(m.group(1), "1"), route)
    for persona in PERSONAS:
        response = _client(world, persona).get(url)
        code, location = response.status_code, response.get("Location", "")
        if route == "admin/login/":
            assert code in (200, 302), persona
        elif route == "admin/logout/":
            # GET is not how one logs out; the admin sends non-staff to its index first.
            expected = (405, "") if persona == "staff" else (302, "/admin/")
            assert (code, location) == expected, persona
        elif persona != "staff":
            assert (code, location.split("?")[0]) == (302, "/admin/login/"), persona
        else:
            assert code < 500, (persona, code)
    staff = _client(world, "staff")
    if route == "admin/<app_label>/":
        assert staff.get("/admin/surveys/").status_code == 200
        assert staff.get("/admin/accounts/").status_code == 404


def test_staff_see_the_research_apps_in_the_admin_and_nothing_of_accounts(world):
    staff = _client(world, "staff")
    assert staff.get("/admin/").status_code == 200
    for path in ("/admin/surveys/survey/", "/admin/annotation/project/", "/admin/jobs/job/"):
        assert staff.get(path).status_code == 200, path
    for path in ("/admin/accounts/study/", "/admin/accounts/user/", "/admin/auth/group/"):
        assert staff.get(path).status_code == 403, path
