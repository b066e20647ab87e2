"""Permission checks: fetch an object only if the user may use it.

Every page and API endpoint goes through an ``access_*`` helper instead of querying models
itself, so a permission rule lives in exactly one place. A helper raises ``Http404`` when the
object does not exist *or* the user may not know that it exists (outsiders cannot probe ids),
and ``PermissionDenied`` when a member lacks the right for a write.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Study, StudyMember, StudyRole, User


def studies_visible_to(*, user: User) -> QuerySet[Study]:
    if not user.is_authenticated:
        return Study.objects.none()
    if user.is_staff:
        return Study.objects.all()
    return Study.objects.filter(members__user=user).distinct()


def access_study(*, user: User, study_id: int, manage: bool = False) -> Study:
    """Return the study if ``user`` is a member (or staff).

    ``manage=True`` asks for the owner's rights (changing members, deleting).
    """
    try:
        study = studies_visible_to(user=user).get(pk=study_id)
    except (Study.DoesNotExist, ValueError, TypeError):
        raise Http404("No such study.") from None
    if manage and not user.is_staff:
        is_owner = StudyMember.objects.filter(study=study, user=user, role=StudyRole.OWNER).exists()
        if not is_owner:
            raise PermissionDenied("Only the study's owners may do this.")
    return study


def is_study_member(*, user: User, study: Study) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_staff or StudyMember.objects.filter(study=study, user=user).exists()
