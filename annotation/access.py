"""Who may see and do what in an annotation project.

* Researchers (members of the project's study) see everything of the project. Staff status
  gives nothing here: staff see projects in the admin only.
* Project members (annotators, experts, adjudicators) see the project's work pages; an
  annotator sees their own assignments and labels and nobody else's. Researcher pages answer
  them with 403; everyone else gets 404 (they may not know the project exists).
* Adjudicators see every label of the items they decide on.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.access import get_or_404, is_study_member, pending_invitation, studies_visible_to
from accounts.models import User
from annotation.models import (
    Annotation,
    Exclusion,
    Item,
    MemberRole,
    Project,
    ProjectInvitation,
    ProjectMember,
)


def projects_researched_by(*, user: User) -> QuerySet[Project]:
    return Project.objects.filter(study__in=studies_visible_to(user=user))


def _member(*, user: User, project: Project) -> ProjectMember | None:
    if not user.is_authenticated:
        return None
    return ProjectMember.objects.filter(project=project, user=user).first()


def _get_project(project_id) -> Project:
    return get_or_404(Project.objects.select_related("study"), "project", pk=project_id)


def is_researcher(*, user: User, project: Project) -> bool:
    # The rule of projects_researched_by, asked of the study's membership alone (the project
    # is read already).
    return is_study_member(user=user, study=project.study)


def access_project(*, user: User, project_id) -> Project:
    """The project for its researchers; 403 for its members, 404 for everyone else."""
    project = _get_project(project_id)
    if is_researcher(user=user, project=project):
        return project
    if _member(user=user, project=project) is not None:
        raise PermissionDenied("Only the study's researchers may see this.")
    raise Http404("No such project.")


def access_project_membership(
    *, user: User, project_id, roles: tuple[str, ...] | None = None
) -> tuple[Project, ProjectMember]:
    """The project and the user's membership; 403 for a member without one of ``roles``."""
    project = _get_project(project_id)
    member = _member(user=user, project=project)
    if member is None:
        if is_researcher(user=user, project=project):
            raise PermissionDenied("You are not a member of this project.")
        raise Http404("No such project.")
    if roles is not None and member.role not in roles:
        raise PermissionDenied("Your role in this project does not allow this.")
    return project, member


def access_project_viewer(*, user: User, project_id) -> tuple[Project, bool]:
    """The project for its researchers and members, and whether the user is a researcher."""
    project = _get_project(project_id)
    if is_researcher(user=user, project=project):
        return project, True
    if _member(user=user, project=project) is not None:
        return project, False
    raise Http404("No such project.")


def access_project_for_work(*, user: User, project_id) -> Project:
    """Project pages every member may see (guidelines): researchers and members."""
    return access_project_viewer(user=user, project_id=project_id)[0]


def access_adjudication(*, user: User, project_id) -> Project:
    """Adjudication is for the project's adjudicators and its researchers."""
    project = _get_project(project_id)
    if is_researcher(user=user, project=project):
        return project
    member = _member(user=user, project=project)
    if member is None:
        raise Http404("No such project.")
    if member.role != MemberRole.ADJUDICATOR:
        raise PermissionDenied("Only adjudicators may see every label of an item.")
    return project


def access_item_for_adjudication(*, user: User, item_id) -> Item:
    item = get_or_404(Item.objects.select_related("project"), "item", pk=item_id)
    access_adjudication(user=user, project_id=item.project_id)
    return item


def access_annotation(*, user: User, annotation_id) -> Annotation:
    """An annotation for its own rater and the project's researchers; 404 for anyone else."""
    annotation = get_or_404(
        Annotation.objects.select_related("assignment__item__project", "assignment__rater"),
        "annotation",
        pk=annotation_id,
    )
    if annotation.assignment.rater_id == user.pk:
        return annotation
    if is_researcher(user=user, project=annotation.assignment.item.project):
        return annotation
    raise Http404("No such annotation.")


def access_exclusion(*, user: User, exclusion_id) -> Exclusion:
    exclusion = get_or_404(
        Exclusion.objects.select_related("project"), "exclusion", pk=exclusion_id
    )
    access_project(user=user, project_id=exclusion.project_id)
    return exclusion


def access_item_media(*, user: User, item_id) -> Item:
    """An item whose media ``user`` may play, checked at every request: the project's
    researchers, its adjudicators, and a current member the item was assigned to. A member
    taken off the project (or whose study membership ended) gets 404 at once."""
    item = get_or_404(Item.objects.select_related("project"), "item", pk=item_id)
    if is_researcher(user=user, project=item.project):
        return item
    member = _member(user=user, project=item.project)
    if member is not None and (
        member.role == MemberRole.ADJUDICATOR or item.assignments.filter(rater=user).exists()
    ):
        return item
    raise Http404("No such item.")


def access_project_invitation(*, user: User, invitation_id) -> ProjectInvitation:
    return pending_invitation(
        ProjectInvitation.objects.select_related("project__study", "invited_by"),
        user=user,
        invitation_id=invitation_id,
    )
