from __future__ import annotations

from django.db.models import Count, QuerySet

from accounts.access import studies_visible_to
from accounts.models import InvitationStatus, Study, StudyInvitation, StudyMember, User


def study_list(*, user: User, archived: bool | None = None) -> QuerySet[Study]:
    """The studies of ``user``, newest first: all of them (``archived=None``), the archived
    ones only (True) or the others (False)."""
    studies = studies_visible_to(user=user)
    if archived is not None:
        studies = studies.filter(archived_at__isnull=not archived)
    return studies.annotate(member_count=Count("members", distinct=True)).order_by(
        "-created_at", "-id"
    )


def archived_study_count(*, user: User) -> int:
    return studies_visible_to(user=user).filter(archived_at__isnull=False).count()


def user_named(*, username: str) -> User | None:
    """The account with this username, active or not (an imported rater, say)."""
    return User.objects.filter(username=username.strip()).first()


def active_user_named(*, username: str) -> User | None:
    """The active account with this username (inactive ones, such as imported raters, are
    nobody to invite)."""
    return User.objects.filter(username=username.strip(), is_active=True).first()


def study_members(*, study: Study) -> QuerySet[StudyMember]:
    return study.members.select_related("user").order_by("role", "user__username")


def study_pending_invitations(*, study: Study) -> QuerySet[StudyInvitation]:
    return study.invitations.filter(status=InvitationStatus.PENDING).select_related("user")


def invitation_by_link(*, token: str) -> StudyInvitation | None:
    """The unused link invitation with this token (None for a used, declined or unknown one)."""
    if not token or len(token) > 64:
        return None
    return (
        StudyInvitation.objects.filter(
            token=token, status=InvitationStatus.PENDING, user__isnull=True
        )
        .select_related("study", "invited_by")
        .first()
    )


def invitations_for(*, user: User) -> QuerySet[StudyInvitation]:
    """The study invitations waiting for ``user``'s answer."""
    if not user.is_authenticated:
        return StudyInvitation.objects.none()
    return StudyInvitation.objects.filter(
        user=user, status=InvitationStatus.PENDING
    ).select_related("study", "invited_by")
