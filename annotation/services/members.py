"""Project members and invitations; erasing or anonymising a rater."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import InvitationStatus, User
from annotation.models import (
    Annotation,
    Assignment,
    AssignmentStatus,
    Exclusion,
    ImportedRating,
    Item,
    MemberRole,
    Project,
    ProjectInvitation,
    ProjectMember,
)
from annotation.services.work import _leases_end, _release_slots


@transaction.atomic
def member_add(
    *, project: Project, user: User, role: str = MemberRole.ANNOTATOR, group: str = ""
) -> ProjectMember:
    """Make ``user`` a member at once (or change their role and group). For operators (the
    ``annotation_member`` command, fixtures), an accepted invitation and a member's new role;
    pages and the API invite newcomers instead (:func:`member_invite`)."""
    if role not in MemberRole.values:
        raise ValidationError({"role": [_("Unknown role %(role)r.") % {"role": role}]})
    member, _created = ProjectMember.objects.update_or_create(
        project=project, user=user, defaults={"role": role, "group": group}
    )
    return member


@transaction.atomic
def member_invite(
    *, project: Project, user: User, role: str = MemberRole.ANNOTATOR, group: str = "", by: User
) -> ProjectMember | ProjectInvitation:
    """Ask ``user`` to join ``project``: returns a pending :class:`ProjectInvitation`; they
    become a member only by accepting it (:func:`project_invitation_accept`).

    Precondition: ``by`` is a researcher of the project's study. A current member has agreed
    to be in the project already, so their role and group change at once (the member is
    returned). A repeated invitation updates the pending one. Inactive accounts (imported
    raters, anonymised raters) cannot be invited: nobody could accept.
    """
    if role not in MemberRole.values:
        raise ValidationError({"role": [_("Unknown role %(role)r.") % {"role": role}]})
    if not user.is_active:
        raise ValidationError({"username": [_("No such user.")]})
    if ProjectMember.objects.filter(project=project, user=user).exists():
        return member_add(project=project, user=user, role=role, group=group)
    invitation, created = ProjectInvitation.objects.get_or_create(
        project=project,
        user=user,
        status=InvitationStatus.PENDING,
        defaults={"role": role, "group": group, "invited_by": by},
    )
    if not created and (invitation.role, invitation.group) != (role, group):
        invitation.role, invitation.group = role, group
        invitation.save(update_fields=["role", "group"])
    return invitation


def _invitation_answer(invitation: ProjectInvitation, status: str) -> None:
    """Move a pending invitation to ``status`` by a conditional update (a double click
    answers once); refuse one answered meanwhile."""
    answered = ProjectInvitation.objects.filter(
        pk=invitation.pk, status=InvitationStatus.PENDING
    ).update(status=status, answered_at=timezone.now())
    if answered != 1:
        raise ValidationError({"invitation": [_("This invitation was answered already.")]})


@transaction.atomic
def project_invitation_accept(*, invitation: ProjectInvitation) -> ProjectMember:
    """The invitee accepts: they become a member with the invited role and group."""
    _invitation_answer(invitation, InvitationStatus.ACCEPTED)
    return member_add(
        project=invitation.project,
        user=invitation.user,
        role=invitation.role,
        group=invitation.group,
    )


@transaction.atomic
def project_invitation_decline(*, invitation: ProjectInvitation) -> None:
    _invitation_answer(invitation, InvitationStatus.DECLINED)


@transaction.atomic
def member_remove(*, project: Project, user: User, now: datetime | None = None) -> int:
    """Take a person off the project. Their open leases end now, so those items go back to
    the pool at once; the answers they gave stay in the data (exclude the rater to leave them
    out). Returns how many leases ended."""
    now = now or timezone.now()
    deleted, _by_model = ProjectMember.objects.filter(project=project, user=user).delete()
    if not deleted:
        raise ValidationError(
            {
                "username": [
                    _("%(username)s is not a member of this project.") % {"username": user.username}
                ]
            }
        )
    rows = list(
        Assignment.objects.select_for_update(of=("self",))
        .filter(item__project=project, rater=user, status=AssignmentStatus.LEASED)
        .values_list("id", "item_id", "pool")
    )
    _leases_end(rows, now=now)
    return len(rows)


@transaction.atomic
def rater_erase(*, user: User) -> dict[str, int]:
    """Delete a rater's account with everything they rated, in every project, and give their
    k slots back so that the items go to other raters.

    Deleting the account alone is refused (the ratings protect it): it would drop the ratings
    and leave the slot counters too high for good. Adjudications, exclusions decided and
    projects created by the account are kept, so an account with any of them is refused with
    the reason, and nothing is deleted.
    """
    from django.db.models import ProtectedError

    # The row lock waits for a running ratings import that names this rater (it holds the row
    # FOR KEY SHARE) and keeps new leases off this account until commit.
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:
        raise ValidationError({"user": [_("No such user.")]})
    held = list(
        Assignment.objects.select_for_update()
        .filter(rater=user)
        .values_list("item_id", "pool", "status")
    )
    _release_slots(
        (item_id, pool)
        for item_id, pool, status in held
        if status in (AssignmentStatus.LEASED, AssignmentStatus.DONE)
    )
    imported_items = (
        ImportedRating.objects.filter(rater=user).values_list("item_id", flat=True).distinct()
    )
    # Imported ratings on gold items never took a slot.
    Item.objects.filter(pk__in=imported_items, is_gold=False).update(
        slots_taken=F("slots_taken") - 1
    )
    n_imported, _by_model = ImportedRating.objects.filter(rater=user).delete()
    n_answers = Annotation.objects.filter(assignment__rater=user).count()
    Assignment.objects.filter(rater=user).delete()
    Exclusion.objects.filter(rater=user).delete()
    try:
        locked.delete()
    except ProtectedError as exc:
        kinds = sorted({type(obj)._meta.verbose_name_plural for obj in exc.protected_objects})
        message = _("%(user)s is still referred to by %(kinds)s; deactivate the account instead.")
        raise ValidationError(
            {"user": [message % {"user": user.username, "kinds": ", ".join(map(str, kinds))}]}
        ) from None
    return {"assignments": len(held), "answers": n_answers, "imported_labels": n_imported}


@transaction.atomic
def rater_anonymise(*, user: User, now: datetime | None = None) -> str:
    """Keep a rater's ratings but not who they are: the account loses its name, email and
    password and becomes inactive, under a username made from the rater's pseudonymous key
    (the one the vote table already shows, so exports stay the same). Their memberships end
    and their open leases go back to the pool. Returns the new username."""
    from annotation.selectors import voter_key

    now = now or timezone.now()
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:
        raise ValidationError({"user": [_("No such user.")]})
    rows = list(
        Assignment.objects.select_for_update(of=("self",))
        .filter(rater=locked, status=AssignmentStatus.LEASED)
        .values_list("id", "item_id", "pool")
    )
    _leases_end(rows, now=now)
    ProjectMember.objects.filter(user=locked).delete()
    locked.username = f"rater-{voter_key(locked.pk)}"
    locked.first_name = locked.last_name = locked.email = locked.display_name = ""
    locked.is_active = locked.is_staff = locked.is_superuser = False
    locked.set_unusable_password()
    locked.save()
    return locked.username
