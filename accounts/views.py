from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.access import access_study, access_study_invitation, is_study_owner
from accounts.forms import StudyInviteForm
from accounts.selectors import (
    active_user_named,
    invitations_for,
    study_list,
    study_members,
    study_pending_invitations,
)
from accounts.services import (
    study_invitation_accept,
    study_invitation_decline,
    study_member_invite,
    study_member_remove,
)

logger = logging.getLogger(__name__)

# What each app's study partial (``<app>/partials/study_section.html``) lists for a study.
# Prefetched once for the whole home page, so the page costs the same few queries however many
# studies a researcher has.
STUDY_SECTION_RELATIONS = ("surveys", "annotation_projects", "datasets")


@login_required
def home(request):
    """The researcher's home: their studies, and in each its surveys, projects and datasets."""
    studies = study_list(user=request.user).prefetch_related(*STUDY_SECTION_RELATIONS)
    context = {"studies": studies, "study_invitations": invitations_for(user=request.user)}
    return render(request, "accounts/home.html", context)


@login_required
def study_detail(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    return render(request, "accounts/study_detail.html", {"study": study})


def _messages_from(request, exc: ValidationError) -> None:
    for msgs in exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages]:
        for msg in msgs:
            messages.error(request, msg)


@login_required
def study_members_page(request, study_id: int):
    """Members and pending invitations; owners invite by username and remove members."""
    study = access_study(user=request.user, study_id=study_id)
    is_owner = is_study_owner(user=request.user, study=study)
    form = StudyInviteForm(prefix="invite")
    if request.method == "POST":
        study = access_study(user=request.user, study_id=study_id, manage=True)
        form = StudyInviteForm(request.POST, prefix="invite")
        if form.is_valid():
            user = active_user_named(username=form.cleaned_data["username"])
            if user is None:
                form.add_error("username", _("No such user."))
            else:
                try:
                    study_member_invite(
                        study=study, user=user, role=form.cleaned_data["role"], by=request.user
                    )
                except ValidationError as exc:
                    form.add_error("username", exc.message_dict.get("username", exc.messages))
                else:
                    messages.success(
                        request,
                        _("%(user)s is invited; they become a member once they accept.")
                        % {"user": user.username},
                    )
                    return redirect("study_members", study_id=study.pk)
    context = {
        "study": study,
        "is_owner": is_owner,
        "form": form,
        "members": study_members(study=study),
        "invitations": study_pending_invitations(study=study),
    }
    return render(request, "accounts/study_members.html", context)


@login_required
@require_POST
def study_member_remove_view(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id, manage=True)
    member = study_members(study=study).filter(user__username=request.POST.get("username")).first()
    if member is None:
        messages.error(request, _("No such member."))
    else:
        try:
            study_member_remove(study=study, user=member.user)
        except ValidationError as exc:
            _messages_from(request, exc)
        else:
            messages.success(
                request, _("%(user)s is no longer a member.") % {"user": member.user.username}
            )
    if member is not None and member.user_id == request.user.pk:
        return redirect("home")
    return redirect("study_members", study_id=study.pk)


@login_required
@require_POST
def invitation_answer(request, invitation_id: int, answer: str):
    """Accept or decline a study invitation addressed to the user."""
    invitation = access_study_invitation(user=request.user, invitation_id=invitation_id)
    try:
        if answer == "accept":
            study_invitation_accept(invitation=invitation)
        else:
            study_invitation_decline(invitation=invitation)
    except ValidationError as exc:
        _messages_from(request, exc)
        return redirect("home")
    if answer == "accept":
        messages.success(request, _("You joined %(study)s.") % {"study": invitation.study.name})
        return redirect("study_detail", study_id=invitation.study_id)
    messages.success(request, _("Invitation declined."))
    return redirect("home")


@never_cache
def healthz(request):
    """Liveness and database check for load balancers and monitors.

    Anyone may call it, so it says only "ok" or "not ok" (503). The driver's message names the
    database host and port: it goes to the log, never into the answer. (Staff cannot be told
    apart here either: with the database down there is no session to read.)
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("healthz: the database check failed")
        return JsonResponse({"status": "not ok", "database": "not ok"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
