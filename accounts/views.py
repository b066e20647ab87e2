from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.access import (
    access_study,
    access_study_creation,
    access_study_invitation,
    is_study_owner,
    may_create_studies,
    study_role,
)
from accounts.forms import InvitationSignUpForm, StudyForm, StudyInviteForm, StudyInviteLinkForm
from accounts.models import StudyRole
from accounts.selectors import (
    active_user_named,
    archived_study_count,
    invitation_by_link,
    invitations_for,
    study_list,
    study_members,
    study_pending_invitations,
)
from accounts.services import (
    study_archive,
    study_create,
    study_invitation_accept,
    study_invitation_cancel,
    study_invitation_decline,
    study_invitation_email,
    study_invitation_link_create,
    study_invitation_sign_up,
    study_member_invite,
    study_member_remove,
    study_unarchive,
    study_update,
)
from config.forms import flash_errors, form_errors_from, form_for_page, form_refused

logger = logging.getLogger(__name__)

# What each app's study partial (``<app>/partials/study_section.html``) lists for a study.
# Prefetched once for the whole home page, so the page costs the same few queries however many
# studies a researcher has.
STUDY_SECTION_RELATIONS = ("surveys", "annotation_projects", "datasets")


@login_required
def home(request):
    """The researcher's home: their studies, and in each its surveys, projects and datasets;
    a form to create a study for those who may. Archived studies are left out unless
    ``?archived=1`` asks for them too."""
    show_archived = request.GET.get("archived") == "1"
    studies = study_list(user=request.user, archived=None if show_archived else False)
    context = {
        "studies": studies.prefetch_related(*STUDY_SECTION_RELATIONS),
        "show_archived": show_archived,
        "archived_count": archived_study_count(user=request.user),
        "study_invitations": invitations_for(user=request.user),
        "may_create_studies": may_create_studies(user=request.user),
        "study_form": form_for_page(request, "study", StudyForm, prefix="study"),
    }
    return render(request, "accounts/home.html", context)


@login_required
@require_POST
def study_create_view(request):
    access_study_creation(user=request.user)
    form = StudyForm(request.POST, prefix="study")
    if form.is_valid():
        try:
            study = study_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(
                request,
                _("%(study)s is created. Invite the people you work with on its Members page.")
                % {"study": study.name},
            )
            return redirect("study_detail", study_id=study.pk)
    return form_refused(request, form, key="study", to=reverse("home") + "#study-create-form")


@login_required
def study_detail(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    role = study_role(user=request.user, study=study)
    context: dict[str, Any] = {
        "study": study,
        "role": role,
        "role_name": StudyRole(role).label if role else "",
        "read_only": role in (StudyRole.REVIEWER, StudyRole.VIEWER),
        "is_owner": role == StudyRole.OWNER,
    }
    if role == StudyRole.OWNER:
        context["study_form"] = form_for_page(
            request,
            "study-edit",
            StudyForm,
            prefix="study",
            initial={"name": study.name, "description": study.description},
        )
    return render(request, "accounts/study_detail.html", context)


@login_required
@require_POST
def study_edit(request, study_id: int):
    """Owners rename the study or change its description."""
    study = access_study(user=request.user, study_id=study_id, manage=True)
    form = StudyForm(request.POST, prefix="study")
    if form.is_valid():
        try:
            study_update(study=study, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("The study's name and description are saved."))
            return redirect("study_detail", study_id=study.pk)
    url = reverse("study_detail", args=[study.pk])
    return form_refused(request, form, key="study-edit", to=f"{url}#study-settings")


@login_required
@require_POST
def study_archive_view(request, study_id: int, archive: bool):
    """Owners archive the study, or unarchive it."""
    study = access_study(user=request.user, study_id=study_id, manage=True)
    if archive:
        study_archive(study=study)
        messages.success(
            request,
            _(
                "%(study)s is archived: it is left out of your home page's list, and no "
                "survey or annotation project can be created in it."
            )
            % {"study": study.name},
        )
    else:
        study_unarchive(study=study)
        messages.success(request, _("%(study)s is no longer archived.") % {"study": study.name})
    return redirect("study_detail", study_id=study.pk)


def invitation_link_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("invitation_link", args=[token]))


@login_required
def study_members_page(request, study_id: int):
    """Members and pending invitations; owners invite by username or by a single-use link,
    and remove members."""
    study = access_study(user=request.user, study_id=study_id)
    is_owner = is_study_owner(user=request.user, study=study)
    if request.method == "POST":
        study = access_study(user=request.user, study_id=study_id, manage=True)
        if "link-role" in request.POST:
            return _invite_by_link(request, study)
        return _invite(request, study)
    # The links are the owners' to pass on: other members do not see them.
    invitations = [
        (
            invitation,
            invitation_link_url(request, invitation.token) if is_owner and invitation.token else "",
        )
        for invitation in study_pending_invitations(study=study)
    ]
    context = {
        "study": study,
        "is_owner": is_owner,
        "form": form_for_page(request, "invite", StudyInviteForm, prefix="invite"),
        "link_form": form_for_page(request, "link", StudyInviteLinkForm, prefix="link"),
        "members": study_members(study=study),
        "invitations": invitations,
    }
    return render(request, "accounts/study_members.html", context)


def _invite_by_link(request, study):
    """A single-use invitation link (mailed to the address noted on it, if any)."""
    members_url = reverse("study_members", args=[study.pk])
    link_form = StudyInviteLinkForm(request.POST, prefix="link")
    if not link_form.is_valid():
        return form_refused(request, link_form, key="link", to=f"{members_url}#invite-link-form")
    invitation = study_invitation_link_create(
        study=study,
        role=link_form.cleaned_data["role"],
        email=link_form.cleaned_data["email"],
        by=request.user,
    )
    messages.success(
        request,
        _(
            "The invitation link is ready: copy it below and send it. It works once, "
            "for a new account or an existing one."
        ),
    )
    if invitation.email:
        try:
            study_invitation_email(
                invitation=invitation,
                link=invitation_link_url(request, invitation.token or ""),
            )
        except OSError:
            logger.exception("The invitation mail to %s could not be sent", invitation.pk)
            messages.warning(
                request,
                _("The mail could not be sent; copy the link below and send it yourself."),
            )
        else:
            messages.info(
                request,
                _("The link was mailed to %(email)s.") % {"email": invitation.email},
            )
    return redirect(f"{members_url}#link-{invitation.pk}")


def _invite(request, study):
    """An invitation to someone with an account (they accept it on their home page)."""
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
    members_url = reverse("study_members", args=[study.pk])
    return form_refused(request, form, key="invite", to=f"{members_url}#invite-form")


def invitation_link(request, token: str):
    """The page an invitation link opens: join with the account you are logged in with, or
    sign up for one here (or log in and come back)."""
    invitation = invitation_by_link(token=token)
    if invitation is None:
        raise Http404(_("This invitation link was used already, or it does not exist."))
    form = None
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                study_invitation_accept(invitation=invitation, user=request.user)
            except ValidationError as exc:
                flash_errors(request, exc)
                return redirect("home")
            messages.success(request, _("You joined %(study)s.") % {"study": invitation.study.name})
            return redirect("study_detail", study_id=invitation.study_id)
    elif request.method == "POST":
        form = InvitationSignUpForm(request.POST)
        if form.is_valid():
            try:
                user = study_invitation_sign_up(
                    invitation=invitation,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                    email=form.cleaned_data.get("email") or "",
                )
            except ValidationError as exc:
                flash_errors(request, exc)
                return redirect("login")
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("You joined %(study)s.") % {"study": invitation.study.name})
            return redirect("study_detail", study_id=invitation.study_id)
        # The passwords are not kept: they are typed again.
        return form_refused(request, form, key="signup", to=f"{request.path}#signup-form")
    else:
        form = form_for_page(
            request, "signup", InvitationSignUpForm, initial={"email": invitation.email}
        )
    context = {
        "invitation": invitation,
        "form": form,
        "login_url": f"{reverse('login')}?next={request.path}",
    }
    return render(request, "accounts/invitation_link.html", context)


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
            flash_errors(request, exc)
        else:
            messages.success(
                request, _("%(user)s is no longer a member.") % {"user": member.user.username}
            )
    if member is not None and member.user_id == request.user.pk:
        return redirect("home")
    return redirect("study_members", study_id=study.pk)


@login_required
@require_POST
def study_invitation_cancel_view(request, study_id: int, invitation_id: int):
    """Owners withdraw a pending invitation of their study (its link stops working)."""
    study = access_study(user=request.user, study_id=study_id, manage=True)
    invitation = study_pending_invitations(study=study).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    try:
        study_invitation_cancel(invitation=invitation)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("The invitation is withdrawn; its link no longer works."))
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
        flash_errors(request, exc)
        return redirect("home")
    if answer == "accept":
        messages.success(request, _("You joined %(study)s.") % {"study": invitation.study.name})
        return redirect("study_detail", study_id=invitation.study_id)
    messages.success(request, _("Invitation declined."))
    return redirect("home")


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page's ``<link rel="icon">`` says."""
    # Resolved per request: the static files' manifest exists only after collectstatic.
    return redirect(static("chorus/favicon.svg"), permanent=True)


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
