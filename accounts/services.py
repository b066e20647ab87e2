from __future__ import annotations

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import (
    InvitationStatus,
    Study,
    StudyInvitation,
    StudyMember,
    StudyRole,
    User,
)


@transaction.atomic
def study_create(*, user: User, name: str, description: str = "") -> Study:
    """Create a study owned by ``user``."""
    study = Study.objects.create(name=name, description=description, created_by=user)
    StudyMember.objects.create(study=study, user=user, role=StudyRole.OWNER)
    return study


@transaction.atomic
def study_member_add(*, study: Study, user: User, role: str = StudyRole.RESEARCHER) -> StudyMember:
    """Make ``user`` a member at once. For operators (shell, fixtures) and for an accepted
    invitation; pages and the API invite instead (:func:`study_member_invite`)."""
    member, _ = StudyMember.objects.update_or_create(
        study=study, user=user, defaults={"role": role}
    )
    return member


def researcher_grant(*, user: User) -> None:
    """Let ``user`` create studies (the ``can_create_studies`` permission). Idempotent."""
    permission = Permission.objects.get(
        content_type__app_label="accounts", codename="can_create_studies"
    )
    user.user_permissions.add(permission)
    # ``has_perm`` caches the permissions on the instance.
    for cache in ("_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)


@transaction.atomic
def study_member_invite(
    *, study: Study, user: User, role: str = StudyRole.RESEARCHER, by: User
) -> StudyInvitation:
    """Invite ``user`` into ``study`` as ``role``; they become a member only by accepting.

    Precondition: ``by`` is an owner of the study (checked by the caller with
    ``access_study(manage=True)``). A member's role changes at once (they agreed to be in the
    study already). Inviting someone who has a pending invitation updates its role, so a
    repeated request makes one invitation. Inactive accounts (imported raters) cannot be
    invited: nobody could accept.
    """
    if role not in StudyRole.values:
        raise ValidationError({"role": [f"Unknown role {role!r}."]})
    if not user.is_active:
        raise ValidationError({"username": ["No such user."]})
    if StudyMember.objects.filter(study=study, user=user).exists():
        raise ValidationError({"username": [f"{user.username} is a member already."]})
    invitation, created = StudyInvitation.objects.get_or_create(
        study=study,
        user=user,
        status=InvitationStatus.PENDING,
        defaults={"role": role, "invited_by": by},
    )
    if not created and invitation.role != role:
        invitation.role = role
        invitation.save(update_fields=["role"])
    return invitation


def _answer(invitation: StudyInvitation, status: str) -> bool:
    """Move a pending invitation to ``status``; False if it was answered meanwhile."""
    answered = StudyInvitation.objects.filter(
        pk=invitation.pk, status=InvitationStatus.PENDING
    ).update(status=status, answered_at=timezone.now())
    return answered == 1


@transaction.atomic
def study_invitation_accept(*, invitation: StudyInvitation) -> StudyMember:
    """The invitee accepts: they become a member with the invited role and may create
    studies of their own. The status moves by a conditional update, so a double click makes
    one membership; an answered invitation is refused."""
    if not _answer(invitation, InvitationStatus.ACCEPTED):
        raise ValidationError({"invitation": ["This invitation was answered already."]})
    member = study_member_add(study=invitation.study, user=invitation.user, role=invitation.role)
    researcher_grant(user=invitation.user)
    return member


@transaction.atomic
def study_invitation_decline(*, invitation: StudyInvitation) -> None:
    if not _answer(invitation, InvitationStatus.DECLINED):
        raise ValidationError({"invitation": ["This invitation was answered already."]})


@transaction.atomic
def study_member_remove(*, study: Study, user: User) -> None:
    """Take ``user`` out of ``study``: from the next request on they see none of it (pages,
    API, job files, media). The last owner stays: a study without owners could not be
    managed. The owners are locked, so two owners removing each other leave one."""
    owners = list(
        StudyMember.objects.select_for_update()
        .filter(study=study, role=StudyRole.OWNER)
        .values_list("user_id", flat=True)
    )
    if owners == [user.pk]:
        raise ValidationError({"username": ["The last owner of a study cannot be removed."]})
    deleted, _ = StudyMember.objects.filter(study=study, user=user).delete()
    if not deleted:
        raise ValidationError({"username": [f"{user.username} is not a member of this study."]})
