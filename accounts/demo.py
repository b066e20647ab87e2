"""The demo people and study. Other apps add their demo data through ``<app>/demo.py``."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.models import Study, StudyMember, StudyRole, User
from accounts.services import researcher_grant

DEMO_PASSWORD = "chorus-demo-2026"
STUDY_NAME = "Demo: values and emotions"
# The demo researcher's admin rights: to view the research apps' rows and run their export
# actions (changes go through the pages and the API).
ADMIN_GROUP = "Researchers (demo)"
ADMIN_APPS = ("annotation", "surveys", "benchmarks", "jobs")


@dataclass(frozen=True)
class DemoPeople:
    researcher: User
    annotators: tuple[User, User]
    expert: User
    # A reviewer of the study: approves the demo survey's questions, changes nothing.
    reviewer: User
    study: Study


PEOPLE = [
    ("researcher", "Rosa Researcher", True),
    ("annotator1", "Ana Annotator", False),
    ("annotator2", "Ben Annotator", False),
    ("expert", "Eun-ji Expert", False),
    ("reviewer", "Rhee Reviewer", False),
]


def _user(username: str, display_name: str, is_staff: bool) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"display_name": display_name, "is_staff": is_staff}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def load_people() -> DemoPeople:
    """Create (once) the demo researcher, two annotators, an expert, a reviewer of the study
    and the study."""
    users = {name: _user(name, display, staff) for name, display, staff in PEOPLE}
    researcher = users["researcher"]
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=ADMIN_APPS, codename__startswith="view_"
        )
    )
    researcher.groups.add(group)
    # The demo researcher is staff only to view the admin (the group above); staff status
    # shows no study outside the admin. Creating studies is this permission's business.
    researcher_grant(user=researcher)
    study = Study.objects.filter(name=STUDY_NAME, created_by=researcher).first()
    if study is None:
        study = Study.objects.create(
            name=STUDY_NAME,
            description="A values survey and two annotation projects, ready to explore.",
            created_by=researcher,
        )
    StudyMember.objects.get_or_create(
        study=study, user=researcher, defaults={"role": StudyRole.OWNER}
    )
    StudyMember.objects.get_or_create(
        study=study, user=users["reviewer"], defaults={"role": StudyRole.REVIEWER}
    )
    return DemoPeople(
        researcher=researcher,
        annotators=(users["annotator1"], users["annotator2"]),
        expert=users["expert"],
        reviewer=users["reviewer"],
        study=study,
    )
