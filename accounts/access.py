"""Permission checks: fetch an object only if the user may use it.

Every page and API endpoint goes through an ``access_*`` helper instead of querying models
itself, so a permission rule lives in exactly one place. A helper raises ``Http404`` when the
object does not exist *or* the user may not know that it exists (outsiders cannot probe ids),
and ``PermissionDenied`` when a member lacks the right for a write.

Reviewers and viewers see a whole study but change nothing of it. That rule is kept here,
once, rather than in every view: :class:`accounts.middleware.StudyWriteMiddleware` marks each
request that may write (any method but GET, HEAD, OPTIONS and TRACE), and while a request is
so marked the helpers below count only the studies where the user is an owner or researcher.
The one write a reviewer may make (a question review) asks for it with ``review=True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import (
    EDITOR_ROLES,
    InvitationStatus,
    Study,
    StudyInvitation,
    StudyMember,
    StudyRole,
    User,
)

CREATE_STUDIES = "accounts.can_create_studies"


def get_or_404[M: Model](queryset: QuerySet[M], what: str, **lookup: Any) -> M:
    """The one object of ``queryset`` that matches ``lookup``; 404 ("No such <what>.") when
    there is none or the key is malformed, so that every app answers a bad id alike."""
    try:
        return queryset.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404(f"No such {what}.") from None


_writing: ContextVar[bool] = ContextVar("study_write_request", default=False)


@contextmanager
def write_request(writing: bool) -> Iterator[None]:
    """Mark the code inside as serving a request that may write (see the module's docstring)."""
    token = _writing.set(writing)
    try:
        yield
    finally:
        _writing.reset(token)


def studies_visible_to(*, user: User, review: bool = False) -> QuerySet[Study]:
    """The studies ``user`` is a member of, checked now (a removed member loses them at once).

    During a write request only the studies ``user`` may change (owner, researcher; with
    ``review=True`` reviewer too). Staff and superuser status give nothing here: staff see
    studies through the admin only.
    """
    if not user.is_authenticated:
        return Study.objects.none()
    if _writing.get():
        roles = [*EDITOR_ROLES, StudyRole.REVIEWER] if review else list(EDITOR_ROLES)
        return Study.objects.filter(members__user=user, members__role__in=roles).distinct()
    return Study.objects.filter(members__user=user).distinct()


def study_role(*, user: User, study: Study) -> str | None:
    if not user.is_authenticated:
        return None
    return StudyMember.objects.filter(study=study, user=user).values_list("role", flat=True).first()


def may_edit_study(*, user: User, study: Study) -> bool:
    return study_role(user=user, study=study) in EDITOR_ROLES


def access_study(*, user: User, study_id: int, manage: bool = False, review: bool = False) -> Study:
    """Return the study if ``user`` is a member.

    ``manage=True`` asks for the owner's rights (members, contact details). During a write
    request a reviewer or viewer is refused (403), except a reviewer with ``review=True``.
    """
    if not user.is_authenticated:
        raise Http404("No such study.")
    study = get_or_404(Study.objects.filter(members__user=user).distinct(), "study", pk=study_id)
    if manage and not is_study_owner(user=user, study=study):
        raise PermissionDenied(_("Only the study's owners may do this."))
    if _writing.get():
        role = study_role(user=user, study=study)
        allowed = [*EDITOR_ROLES, StudyRole.REVIEWER] if review else list(EDITOR_ROLES)
        if role not in allowed:
            raise PermissionDenied(_("Reviewers and viewers see this study but cannot change it."))
    return study


def refuse_if_archived(*, study: Study) -> None:
    """Refuse a new survey or annotation project in an archived study (a ``ValidationError``
    naming ``study``: a 400 in the API, an error on the page's form). What the study has
    goes on working; an owner unarchives it on the study's page."""
    if study.archived_at is not None:
        raise ValidationError(
            {
                "study": [
                    _(
                        "%(study)s is archived: no survey or annotation project can be "
                        "created in it. Its owners can unarchive it on the study's page."
                    )
                    % {"study": study.name}
                ]
            }
        )


def is_study_member(*, user: User, study: Study) -> bool:
    """A member of ``study``; during a write request, one who may change it."""
    if not user.is_authenticated:
        return False
    members = StudyMember.objects.filter(study=study, user=user)
    if _writing.get():
        members = members.filter(role__in=EDITOR_ROLES)
    return members.exists()


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


def pending_invitation[M: Model](queryset: QuerySet[M], *, user: User, invitation_id) -> M:
    """The pending invitation of ``queryset`` addressed to ``user``; 404 for anyone else's or
    an answered one (study and project invitations alike)."""
    if not user.is_authenticated:
        raise Http404("No such invitation.")
    return get_or_404(
        queryset, "invitation", pk=invitation_id, user=user, status=InvitationStatus.PENDING
    )


def access_study_invitation(*, user: User, invitation_id) -> StudyInvitation:
    return pending_invitation(
        StudyInvitation.objects.select_related("study", "invited_by"),
        user=user,
        invitation_id=invitation_id,
    )
