from __future__ import annotations

from django.db import transaction

from accounts.models import Study, StudyMember, StudyRole, User


@transaction.atomic
def study_create(*, user: User, name: str, description: str = "") -> Study:
    """Create a study owned by ``user``."""
    study = Study.objects.create(name=name, description=description, created_by=user)
    StudyMember.objects.create(study=study, user=user, role=StudyRole.OWNER)
    return study


@transaction.atomic
def study_member_add(*, study: Study, user: User, role: str = StudyRole.RESEARCHER) -> StudyMember:
    member, _ = StudyMember.objects.update_or_create(
        study=study, user=user, defaults={"role": role}
    )
    return member
