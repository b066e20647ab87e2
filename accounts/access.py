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

from accounts.models import InvitationStatus, Study, StudyInvitation, StudyMember, StudyRole, User

CREATE_STUDIES = "accounts.can_create_studies"


def studies_visible_to(*, user: User) -> QuerySet[Study]:
    """The studies ``user`` is a member of, checked now (a removed member loses them at once).

    Staff and superuser status give nothing here: staff see studies through the admin only.
    """
    if not user.is_authenticated:
        return Study.objects.none()
    return Study.objects.filter(members__user=user).distinct()


def access_study(*, user: User, study_id: int, manage: bool = False) -> Study:
    """Return the study if ``user`` is a member.

    ``manage=True`` asks for the owner's rights (members, contact details).
    """
    try:
        study = studies_visible_to(user=user).get(pk=study_id)
    except (Study.DoesNotExist, ValueError, TypeError):
        raise Http404("No such study.") from None
    if manage and not is_study_owner(user=user, study=study):
        raise PermissionDenied("Only the study's owners may do this.")
    return study


def is_study_member(*, user: User, study: Study) -> bool:
    if not user.is_authenticated:
        return False
    return StudyMember.objects.filter(study=study, user=user).exists()


def is_study_owner(*, user: User, study: Study) -> bool:
    if not user.is_authenticated:
        return False
    return StudyMember.objects.filter(study=study, user=user, role=StudyRole.OWNER).exists()


def may_create_studies(*, user: User) -> bool:
    return bool(user.is_authenticated and user.has_perm(CREATE_STUDIES))


def access_study_creation(*, user: User) -> None:
    """Refuse (403) anyone without the ``can_create_studies`` permission."""
    if not may_create_studies(user=user):
        raise PermissionDenied(
            "You may not create studies. Staff grant this right; accepting an invitation "
            "to a study grants it too."
        )


def access_study_invitation(*, user: User, invitation_id) -> StudyInvitation:
    """A pending invitation addressed to ``user``; 404 for anyone else's or an answered one."""
    if not user.is_authenticated:
        raise Http404("No such invitation.")
    try:
        return StudyInvitation.objects.select_related("study", "invited_by").get(
            pk=invitation_id, user=user, status=InvitationStatus.PENDING
        )
    except (StudyInvitation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such invitation.") from None
