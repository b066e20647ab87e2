from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

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
    """Create a study owned by ``user`` (a name of 1 to 200 characters, stripped)."""
    study = Study.objects.create(name=_study_name(name), description=description, created_by=user)
    StudyMember.objects.create(study=study, user=user, role=StudyRole.OWNER)
    return study


def _study_name(name: str) -> str:
    name = name.strip()
    limit = Study._meta.get_field("name").max_length or 200
    if not name or len(name) > limit:
        raise ValidationError(
            {"name": [_("A name of 1 to %(limit)d characters.") % {"limit": limit}]}
        )
    return name


@transaction.atomic
def study_update(
    *,
    study: Study,
    name: str | None = None,
    description: str | None = None,
    archived: bool | None = None,
) -> Study:
    """Rename the study, change its description, archive or unarchive it (``None`` leaves a
    value as it is), all or nothing.

    Precondition: the caller checked that the user is an owner (``access_study(manage=True)``).
    The name is stripped and must keep 1 to 200 characters. Archived studies may be renamed.
    """
    if archived is True:
        study = study_archive(study=study)
    elif archived is False:
        study = study_unarchive(study=study)
    fields = []
    if name is not None:
        study.name = _study_name(name)
        fields.append("name")
    if description is not None:
        study.description = description.strip()
        fields.append("description")
    if fields:
        study.save(update_fields=fields)
    return study


@transaction.atomic
def study_archive(*, study: Study) -> Study:
    """Archive the study: it leaves the home page's list (unless asked for), its pages say it
    is archived, and no survey or annotation project is created in it any more. Everything it
    has goes on working (open surveys, rating, datasets, exports).

    Precondition: the caller checked that the user is an owner. Idempotent: archiving an
    archived study keeps the date it was first archived (a conditional update)."""
    Study.objects.filter(pk=study.pk, archived_at__isnull=True).update(archived_at=timezone.now())
    study.refresh_from_db(fields=["archived_at"])
    return study


@transaction.atomic
def study_unarchive(*, study: Study) -> Study:
    """Undo :func:`study_archive` (idempotent). Precondition: the caller checked that the user
    is an owner."""
    Study.objects.filter(pk=study.pk).update(archived_at=None)
    study.archived_at = None
    return study


@transaction.atomic
def study_member_add(*, study: Study, user: User, role: str = StudyRole.RESEARCHER) -> StudyMember:
    """Make ``user`` a member at once. For operators (shell, fixtures) and for an accepted
    invitation; pages and the API invite instead (:func:`study_member_invite`)."""
    member, _created = StudyMember.objects.update_or_create(
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
        raise ValidationError({"role": [_("Unknown role %(role)r.") % {"role": role}]})
    if not user.is_active:
        raise ValidationError({"username": [_("No such user.")]})
    if StudyMember.objects.filter(study=study, user=user).exists():
        raise ValidationError(
            {"username": [_("%(user)s is a member already.") % {"user": user.username}]}
        )
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
def study_invitation_link_create(
    *, study: Study, role: str = StudyRole.RESEARCHER, email: str = "", by: User
) -> StudyInvitation:
    """A single-use invitation link to ``study`` as ``role``, for whoever the owner gives it
    to (``email`` is a note of whom). Precondition: ``by`` is an owner of the study."""
    if role not in StudyRole.values:
        raise ValidationError({"role": [_("Unknown role %(role)r.") % {"role": role}]})
    return StudyInvitation.objects.create(
        study=study,
        role=role,
        email=email.strip(),
        invited_by=by,
        token=secrets.token_urlsafe(32),
    )


def study_invitation_email(*, invitation: StudyInvitation, link: str) -> None:
    """Mail a link invitation to the address noted on it (English and Korean). The link is
    on the members page as well, so a mail that cannot leave loses nothing; the caller says
    so. Precondition: ``invitation.email`` is set."""
    study = invitation.study
    by = invitation.invited_by
    subject = f"Invitation to {study.name} / {study.name} 초대"
    body = (
        f"{by} invites you to the study {study.name} on Chorus.\n"
        f"{by} 님이 Chorus의 스터디 {study.name}에 초대했습니다.\n\n"
        f"{link}\n\n"
        "The link works once: open it to join with your account or to create one.\n"
        "이 링크는 한 번만 쓸 수 있습니다. 열어서 계정으로 참여하거나 계정을 만드십시오.\n"
    )
    with mailers.default as backend:
        backend.send_messages(
            [EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])]
        )


@transaction.atomic
def study_invitation_accept(
    *, invitation: StudyInvitation, user: User | None = None
) -> StudyMember:
    """The invitee accepts: they become a member with the invited role and may create
    studies of their own. The status moves by a conditional update, so a double click makes
    one membership; an answered invitation is refused.

    A link invitation (no ``user`` yet) is accepted by ``user``, who is written on it; a
    member of the study cannot use a link (it would change their role behind the owner's
    back), and the link stays unused for someone else.
    """
    if invitation.user_id is None:
        if user is None:
            raise ValidationError({"invitation": [_("Who accepts this invitation?")]})
        if StudyMember.objects.filter(study_id=invitation.study_id, user=user).exists():
            raise ValidationError(
                {
                    "invitation": [
                        _("%(user)s is a member of this study already.") % {"user": user.username}
                    ]
                }
            )
        claimed = StudyInvitation.objects.filter(
            pk=invitation.pk, status=InvitationStatus.PENDING, user__isnull=True
        ).update(status=InvitationStatus.ACCEPTED, answered_at=timezone.now(), user=user)
        if claimed != 1:
            raise ValidationError({"invitation": [_("This invitation was answered already.")]})
        invitation.user = user
    elif not _answer(invitation, InvitationStatus.ACCEPTED):
        raise ValidationError({"invitation": [_("This invitation was answered already.")]})
    invitee = invitation.user
    assert invitee is not None
    member = study_member_add(study=invitation.study, user=invitee, role=invitation.role)
    researcher_grant(user=invitee)
    return member


@transaction.atomic
def study_invitation_sign_up(
    *, invitation: StudyInvitation, username: str, password: str, email: str = ""
) -> User:
    """Create an account through an invitation link and accept the invitation with it, in
    one transaction: an invitation answered meanwhile leaves no account behind.

    Precondition: the caller validated the username and the password (Django's
    ``UserCreationForm`` and the password validators)."""
    locked = StudyInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.status != InvitationStatus.PENDING or locked.user_id is not None:
        raise ValidationError({"invitation": [_("This invitation was answered already.")]})
    user = User.objects.create_user(username=username, email=email, password=password)
    study_invitation_accept(invitation=locked, user=user)
    return user


@transaction.atomic
def study_invitation_cancel(*, invitation: StudyInvitation) -> None:
    """The owner withdraws a pending invitation: its link stops working at once. Nobody
    answered it, so no record is kept (a conditional delete: an invitation answered
    meanwhile stays). Precondition: the caller checked the owner's rights on its study."""
    deleted, _by_model = StudyInvitation.objects.filter(
        pk=invitation.pk, status=InvitationStatus.PENDING
    ).delete()
    if not deleted:
        raise ValidationError({"invitation": [_("This invitation was answered already.")]})


@transaction.atomic
def study_invitation_decline(*, invitation: StudyInvitation) -> None:
    if not _answer(invitation, InvitationStatus.DECLINED):
        raise ValidationError({"invitation": [_("This invitation was answered already.")]})


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
        raise ValidationError({"username": [_("The last owner of a study cannot be removed.")]})
    deleted, _by_model = StudyMember.objects.filter(study=study, user=user).delete()
    if not deleted:
        raise ValidationError(
            {"username": [_("%(user)s is not a member of this study.") % {"user": user.username}]}
        )
