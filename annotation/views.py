"""Pages: the annotator's work page (keyboard first), adjudication, and researcher dashboards."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import access_study, is_study_member
from accounts.selectors import user_named
from annotation import selectors, services
from annotation.access import (
    access_adjudication,
    access_exclusion,
    access_item_for_adjudication,
    access_item_media,
    access_project,
    access_project_for_work,
    access_project_invitation,
    access_project_membership,
)
from annotation.forms import (
    SKIP_REASONS,
    CategoryFormSet,
    ExclusionForm,
    ExpertSampleForm,
    ImportForm,
    MemberForm,
    ProjectForm,
    ProjectSettingsForm,
    RatingsImportForm,
    SkipForm,
    VotesExportForm,
    category_rows,
    labels_from_post,
    ratings_from_post,
)
from annotation.markup import guidelines_html
from annotation.models import Item, LabelMode, MemberRole, ProjectInvitation
from config.forms import flash_errors, form_errors_from, form_for_page, form_refused
from config.storage import StoredFileResponse, open_stored
from idempotency.keys import form_fingerprint, new_key, page_key, page_redirect
from idempotency.services import Outcome, idempotent_form_run

# --- annotators --------------------------------------------------------------------------


@login_required
def annotate(request, project_id: int):
    """The current item of the rater (a new lease when they have none)."""
    project, member = access_project_membership(
        user=request.user, project_id=project_id, roles=(MemberRole.ANNOTATOR, MemberRole.EXPERT)
    )
    assignment = services.assignment_next(project=project, user=request.user)
    mine = selectors.memberships_for_user(user=request.user, project=project)
    # An answer just taken back (U) is shown again on its item, ready to correct.
    undone = request.session.pop(_undone_key(project.pk), None)
    previous = _previous_answer(undone, assignment)
    categories = list(project.categories.all())
    context = {
        "project": project,
        "member": member,
        "assignment": assignment,
        "item": assignment.item if assignment else None,
        "categories": categories,
        "progress": mine[0] if mine else None,
        "skip_form": SkipForm(initial={"item": assignment.item_id}) if assignment else None,
        "scales": [
            {
                **s,
                "choices": list(range(s["min"], s["max"] + 1)),
                "selected": str(previous["ratings"].get(s["key"], "")),
            }
            for s in project.scales
        ],
        "previous": previous,
        "label_keys": [c.keyboard_key for c in categories if c.keyboard_key],
        "has_text_box": project.allow_comment or project.allow_evidence,
        "skip_reasons": SKIP_REASONS,
        "is_multi": project.mode == LabelMode.MULTI_LABEL,
        "has_secondary": project.mode == LabelMode.PRIMARY_SECONDARY,
        # Sent back with the answer: the same form sent twice is stored once.
        "idempotency_key": new_key(),
    }
    return render(request, "annotation/annotate.html", context)


def _undone_key(project_id: int) -> str:
    return f"annotation-undone-{project_id}"


def _previous_answer(undone: dict | None, assignment) -> dict:
    """The undone answer in the shape the page checks boxes from, if it is of this item."""
    empty: dict = {
        "primary": "",
        "secondary": [],
        "labels": [],
        "ratings": {},
        "comment": "",
        "evidence": "",
    }
    if not undone or assignment is None or undone.get("item") != assignment.item_id:
        return empty
    labels = undone.get("labels") or []
    return {
        "primary": next((x["category"] for x in labels if x["role"] == "primary"), ""),
        "secondary": [x["category"] for x in labels if x["role"] == "secondary"],
        "labels": [x["category"] for x in labels],
        "ratings": undone.get("ratings") or {},
        "comment": undone.get("comment") or "",
        "evidence": undone.get("evidence") or "",
    }


@login_required
@require_POST
def annotate_submit(request, project_id: int):
    project, _member = access_project_membership(
        user=request.user, project_id=project_id, roles=(MemberRole.ANNOTATOR, MemberRole.EXPERT)
    )
    try:
        item_id = int(request.POST.get("item", ""))
    except ValueError:
        messages.error(request, _("item: This item is not assigned to you."))
        return redirect("annotation:annotate", project_id=project.pk)
    time_ms = request.POST.get("time_ms", "")
    # Without JavaScript the page sends no time: the service reads it from the lease.
    # ASCII digits only ("²" is a digit to isdigit), and few enough for int(); a number too
    # large for the column is the service's to refuse, naming time_ms.
    elapsed = (
        int(time_ms) if time_ms.isascii() and time_ms.isdigit() and len(time_ms) <= 19 else None
    )

    def submit() -> Outcome:
        services.annotation_submit(
            project=project,
            user=request.user,
            item_id=item_id,
            labels=labels_from_post(project=project, data=request.POST),
            ratings=ratings_from_post(project=project, data=request.POST),
            comment=request.POST.get("comment", "").strip(),
            evidence=request.POST.get("evidence", "").strip(),
            time_ms=elapsed,
            time_from_lease=True,
        )
        location = reverse("annotation:annotate", args=[project.pk])
        return Outcome(
            status=302, location=location, body={"message": _("Saved. Press U to undo.")}
        )

    # A second sending of the same form (Enter pressed twice, a retry after a timeout) gets the
    # first one's answer instead of "already answered". time_ms is left out of the comparison:
    # the page measures it again at each sending.
    return _idempotent_page(
        request,
        scope=f"annotation.annotate:{request.user.pk}:{project.pk}",
        project=project,
        action=submit,
        ignore={"time_ms"},
    )


@login_required
@require_POST
def annotate_skip(request, project_id: int):
    project, _member = access_project_membership(user=request.user, project_id=project_id)
    form = SkipForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason to skip."))
        return redirect("annotation:annotate", project_id=project.pk)
    reason = str(dict(SKIP_REASONS)[form.cleaned_data["reason"]])

    def skip() -> Outcome:
        services.assignment_skip(
            project=project, user=request.user, item_id=form.cleaned_data["item"], reason=reason
        )
        location = reverse("annotation:annotate", args=[project.pk])
        return Outcome(status=302, location=location, body={"message": _("Skipped.")})

    return _idempotent_page(
        request,
        scope=f"annotation.skip:{request.user.pk}:{project.pk}",
        project=project,
        action=skip,
    )


@login_required
@require_POST
def annotate_undo(request, project_id: int):
    project, _member = access_project_membership(user=request.user, project_id=project_id)

    def undo() -> Outcome:
        _assignment, undone = services.annotation_take_back(project=project, user=request.user)
        # The page selects the earlier answer again (U re-selects; see annotate).
        request.session[_undone_key(project.pk)] = undone.as_dict()
        location = reverse("annotation:annotate", args=[project.pk])
        message = _("Your last answer was taken back. Answer it again.")
        return Outcome(status=302, location=location, body={"message": message})

    return _idempotent_page(
        request,
        scope=f"annotation.undo:{request.user.pk}:{project.pk}",
        project=project,
        action=undo,
    )


def _idempotent_page(
    request, *, scope: str, project, action, ignore: frozenset[str] | set[str] = frozenset()
) -> HttpResponse:
    """Run a submit, skip or undo once per rendered form: Enter, U or S pressed twice, or a
    retry after a timeout, gets the first answer back instead of acting on a second item.
    ``ignore`` names the form fields that may differ between two sendings of one form."""
    try:
        outcome = idempotent_form_run(
            scope=scope,
            key=page_key(request),
            fingerprint=form_fingerprint(request.POST, ignore=ignore),
            action=action,
        )
    except ValidationError as exc:
        flash_errors(request, exc, field_names=True)
        return redirect("annotation:annotate", project_id=project.pk)
    messages.success(request, outcome.body["message"])
    return page_redirect(outcome)


@login_required
def guidelines(request, project_id: int):
    project = access_project_for_work(user=request.user, project_id=project_id)
    return render(
        request,
        "annotation/guidelines.html",
        {
            "project": project,
            **_back_links(request, project),
            "guidelines_html": guidelines_html(project.guidelines),
            "categories": project.categories.all(),
        },
    )


@login_required
def media(request, item_id: int):
    """An item's media file, for the current members it is assigned to, the project's
    adjudicators and its researchers (:func:`access_item_media`, checked at every request)."""
    item = access_item_media(user=request.user, item_id=item_id)
    if not item.media:
        raise Http404
    try:
        stream = open_stored(item.media.name, storage=item.media.storage)
    except FileNotFoundError:
        raise Http404 from None
    response = StoredFileResponse(stream, content_type=item.media_type or None)
    # Revalidated at every play, so a member taken off the project loses it at once.
    response["Cache-Control"] = "private, no-cache"
    return response


# --- adjudicators ------------------------------------------------------------------------


@login_required
def adjudication_queue(request, project_id: int):
    project = access_adjudication(user=request.user, project_id=project_id)
    queue = selectors.adjudication_queue(project=project)
    return render(
        request,
        "annotation/adjudication_queue.html",
        {"project": project, "queue": queue, **_back_links(request, project)},
    )


def _back_links(request, project) -> dict[str, bool]:
    """Which ways back a page offers: to rating (members of the project) and to the project's
    page (researchers of its study)."""
    return {
        "back_to_rating": selectors.project_member_of(project=project, user=request.user)
        is not None,
        "back_to_project": is_study_member(user=request.user, study=project.study),
    }


@login_required
def adjudicate_item(request, item_id: int):
    item = access_item_for_adjudication(user=request.user, item_id=item_id)
    project = item.project
    if request.method == "POST":
        try:
            services.adjudication_record(
                item=item,
                user=request.user,
                labels=labels_from_post(project=project, data=request.POST),
                note=request.POST.get("note", "").strip(),
            )
        except ValidationError as exc:
            flash_errors(request, exc, field_names=True)
        else:
            messages.success(request, _("Decision recorded for %(item)s.") % {"item": item})
            return redirect("annotation:adjudication", project_id=project.pk)
    return render(
        request,
        "annotation/adjudicate.html",
        {
            "project": project,
            "item": item,
            "answers": selectors.item_labels_for_adjudication(item=item),
            "decisions": item.adjudications.select_related("decided_by"),
            "categories": list(project.categories.all()),
            "is_multi": project.mode == LabelMode.MULTI_LABEL,
            "has_secondary": project.mode == LabelMode.PRIMARY_SECONDARY,
        },
    )


# --- researchers -------------------------------------------------------------------------

ANNOTATORS_PER_PAGE = 100


@login_required
def project_new(request, study_id: int):
    """A new annotation project in one of the user's studies, schema included."""
    study = access_study(user=request.user, study_id=study_id)
    if request.method == "POST":
        form = ProjectForm(request.POST)
        if form.is_valid():
            try:
                project = services.project_create(
                    study=study, user=request.user, **form.service_arguments()
                )
            except ValidationError as exc:
                form_errors_from(form, exc, line_numbers=True)
            else:
                messages.success(request, _("Project created. Import items and add members next."))
                return redirect("annotation:project", project_id=project.pk)
        return form_refused(request, form, key="project", to=f"{request.path}#project-form")
    form = form_for_page(request, "project", ProjectForm)
    if form.is_bound:
        messages.error(request, _("Nothing was created: see the errors marked below."))
    return render(request, "annotation/project_new.html", {"study": study, "form": form})


def _settings_page(request, project):
    """The settings page; the form refused last is shown again if the address names it."""
    keys = selectors.item_metadata_keys(project=project)
    settings_form = form_for_page(
        request, "settings", ProjectSettingsForm, initial=ProjectSettingsForm.initial_for(project)
    )
    initial = {
        "experts_per_item": project.expert_raters_per_item,
        "sample_rate": project.expert_sample_rate,
        "seed": 0,
    }
    sample_form = form_for_page(
        request, "sample", ExpertSampleForm, initial=initial, keys=keys, prefix="sample"
    )
    categories = form_for_page(
        request, "categories", CategoryFormSet, initial=category_rows(project), prefix="categories"
    )
    if settings_form.is_bound or sample_form.is_bound or categories.is_bound:
        messages.error(request, _("Nothing was changed: see the errors marked below."))
    context = {
        "project": project,
        "form": settings_form,
        "sample_form": sample_form,
        "categories": categories,
        "existing_keys": set(project.categories.values_list("key", flat=True)),
        "expert_items": Item.objects.filter(project=project, expert_slots_total__gt=0).count(),
    }
    return render(request, "annotation/project_settings.html", context)


def _settings_refused(request, project, form, key: str, anchor: str):
    url = reverse("annotation:settings", args=[project.pk])
    return form_refused(request, form, key=key, to=f"{url}#{anchor}")


@login_required
def project_settings(request, project_id: int):
    """Change a running project's settings: name, guidelines, k, gold rate, leases, rules."""
    project = access_project(user=request.user, project_id=project_id)
    if request.method != "POST":
        return _settings_page(request, project)
    form = ProjectSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.project_update(project=project, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("annotation:project", project_id=project.pk)
    return _settings_refused(request, project, form, "settings", "settings-form")


@login_required
@require_POST
def project_categories(request, project_id: int):
    """Revise the codebook: names, descriptions, examples, keyboard keys, order; add keys."""
    project = access_project(user=request.user, project_id=project_id)
    formset = CategoryFormSet(request.POST, initial=category_rows(project), prefix="categories")
    if formset.is_valid():
        # In the order the researcher numbered them (rows without a number keep their place
        # after the numbered ones); empty rows are left out.
        filled = [form for form in formset.ordered_forms if form.cleaned_data.get("key")]
        rows = [form.cleaned_data for form in filled]
        try:
            services.categories_update(project=project, categories=rows)
        except ValidationError as exc:
            _categories_errors(formset, filled, exc)
        else:
            messages.success(request, _("Categories saved."))
            return redirect(reverse("annotation:settings", args=[project.pk]) + "#categories")
    return _settings_refused(request, project, formset, "categories", "categories")


def _categories_errors(formset, filled: list, exc: ValidationError) -> None:
    """Put the service's ``categories.<i>.<field>`` errors on the row and field they name
    (``filled``: the rows in the order the service saw them)."""
    for name, msgs in exc.message_dict.items():
        _prefix, _dot, rest = name.partition(".")
        index, _dot, field = rest.partition(".")
        if index.isdigit() and int(index) < len(filled):
            form = filled[int(index)]
            for msg in msgs:
                form.add_error(field if field in form.fields else None, msg)
        else:
            # The formset's own list of errors, shown above the rows.
            formset.non_form_errors().extend(msgs)


@login_required
@require_POST
def expert_sample(request, project_id: int):
    """Set the experts' overlap and draw the stratified sample of items they rate."""
    project = access_project(user=request.user, project_id=project_id)
    keys = selectors.item_metadata_keys(project=project)
    form = ExpertSampleForm(request.POST, keys=keys, prefix="sample")
    if form.is_valid():
        try:
            n = services.expert_sample_set(project=project, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("%(n)d items are in the expert sample.") % {"n": n})
            return redirect(reverse("annotation:settings", args=[project.pk]) + "#experts")
    return _settings_refused(request, project, form, "sample", "experts")


@login_required
@require_POST
def member_add(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    form = MemberForm(request.POST, prefix="member")
    user = user_named(username=request.POST.get("member-username", ""))
    if not form.is_valid():
        for field, msgs in form.errors.items():
            for msg in msgs:
                messages.error(request, f"{field}: {msg}")
    elif user is None or not user.is_active:
        messages.error(request, _("username: No such user."))
    elif (
        (member := selectors.project_member_of(project=project, user=user)) is not None
        and (member.role, member.group) != (form.cleaned_data["role"], form.cleaned_data["group"])
        and request.POST.get("confirm") != "yes"
    ):
        # A member's role and group change at once: say what changes and ask first.
        context = {
            "project": project,
            "member": member,
            "role": MemberRole(form.cleaned_data["role"]).label,
            "group": form.cleaned_data["group"],
            "form": form,
        }
        return render(request, "annotation/member_confirm.html", context)
    elif member is not None and request.POST.get("confirm") != "yes":
        messages.info(
            request,
            _("%(user)s is a member with this role and group already; nothing changed.")
            % {"user": user.username},
        )
    else:
        try:
            outcome = services.member_invite(
                project=project,
                user=user,
                role=form.cleaned_data["role"],
                group=form.cleaned_data["group"],
                by=request.user,
            )
        except ValidationError as exc:
            flash_errors(request, exc, field_names=True)
        else:
            if isinstance(outcome, ProjectInvitation):
                text = _("%(user)s is invited; they become a member once they accept.")
            else:
                text = _("%(user)s's role and group are changed.")
            messages.success(request, text % {"user": user.username})
    return redirect("annotation:project", project_id=project.pk)


@login_required
@require_POST
def invitation_answer(request, invitation_id: int, answer: str):
    """Accept or decline a project invitation addressed to the user."""
    invitation = access_project_invitation(user=request.user, invitation_id=invitation_id)
    try:
        if answer == "accept":
            services.project_invitation_accept(invitation=invitation)
        else:
            services.project_invitation_decline(invitation=invitation)
    except ValidationError as exc:
        flash_errors(request, exc, field_names=True)
    else:
        if answer == "accept":
            messages.success(
                request, _("You joined %(project)s.") % {"project": invitation.project.name}
            )
        else:
            messages.success(request, _("Invitation declined."))
    return redirect("home")


@login_required
@require_POST
def member_remove(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    user = user_named(username=request.POST.get("username", ""))
    if user is None:
        messages.error(request, _("username: No such user."))
    else:
        try:
            ended = services.member_remove(project=project, user=user)
        except ValidationError as exc:
            flash_errors(request, exc, field_names=True)
        else:
            messages.success(
                request,
                _("%(user)s is no longer a member; %(n)d open item(s) went back to the pool.")
                % {"user": user.username, "n": ended},
            )
    return redirect(reverse("annotation:project", args=[project.pk]) + "#annotators-title")


@login_required
@require_POST
def ratings_import(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    form = RatingsImportForm(request.POST, request.FILES, prefix="ratings")
    if not form.is_valid():
        messages.error(request, _("file: Choose a CSV file."))
        return redirect("annotation:project", project_id=project.pk)
    try:
        report = services.ratings_import(project=project, source=form.cleaned_data["file"])
    except ValidationError as exc:
        flash_errors(request, exc, field_names=True)
        messages.error(request, _("Nothing was imported."))
    else:
        messages.success(
            request,
            _(
                "Imported %(labels)d labels in %(answers)d answers; %(skipped)d rows were there "
                "already; %(raters)d new raters."
            )
            % {
                "labels": report["labels"],
                "answers": report["answers"],
                "skipped": report["skipped_rows"],
                "raters": report["new_raters"],
            },
        )
    return redirect("annotation:project", project_id=project.pk)


QUEUE_COUNT_LIMIT = 200


@login_required
def project_detail(request, project_id: int):
    """The researcher's dashboard: progress, labels, agreement over time, annotators."""
    project = access_project(user=request.user, project_id=project_id)
    # Each table is read once, and what two parts of the page show is passed from one to the
    # other: the labels' tallies give the distribution and the report's basis (whose count
    # decides whether the queue is counted live), the assignments and imported answers give
    # the progress and each annotator's count, the exclusions the basis and the table.
    jobs = selectors.project_jobs(project=project)
    tallies = selectors.label_tallies(project=project)
    exclusions = selectors.active_exclusions(project=project)
    categories = selectors.project_categories(project=project)
    assignments = selectors.assignment_counts(project=project)
    imported = selectors.imported_answer_counts(project=project)
    # Agreement and annotator quality come from the last agreement job: loading the page
    # reads no vote table for them.
    basis = selectors.agreement_basis(project=project, tallies=tallies, exclusions=exclusions)
    report = selectors.agreement_report(
        project=project, basis=basis, job=jobs["agreement_succeeded"]
    )
    live = basis["n_labels"] <= selectors.LIVE_AGREEMENT_LIMIT
    # Imports can bring thousands of raters: the table is shown a page at a time.
    annotators = Paginator(
        selectors.annotator_table(
            project=project,
            quality_by_voter=report.get("annotators") or {},
            assignments=assignments,
            imported_answers=imported,
            exclusions=exclusions,
        ),
        ANNOTATORS_PER_PAGE,
    ).get_page(request.GET.get("annotators"))
    queue_size = None
    if live:
        queue = selectors.adjudication_queue(
            project=project, limit=QUEUE_COUNT_LIMIT + 1, categories=categories
        )
        queue_size = f"{QUEUE_COUNT_LIMIT}+" if len(queue) > QUEUE_COUNT_LIMIT else str(len(queue))
    over_time = report.get("over_time") or []
    for row in over_time:
        alpha = row.get("alpha")
        row["pct"] = round(max(0.0, alpha) * 100) if alpha is not None else 0
    return render(
        request,
        "annotation/project_detail.html",
        {
            "project": project,
            "progress": selectors.project_progress(
                project=project, assignments=assignments, imported_answers=imported
            ),
            "distribution": selectors.label_distribution(
                project=project, tallies=tallies, categories=categories
            ),
            "agreement": report,
            "over_time": over_time,
            "annotators": annotators,
            "import_form": ImportForm(),
            "ratings_form": RatingsImportForm(prefix="ratings"),
            "export_form": VotesExportForm(prefix="export"),
            "export_job": jobs["votes_export"],
            "member_form": MemberForm(prefix="member"),
            "pending_invitations": selectors.project_pending_invitations(project=project),
            "agreement_job": jobs["agreement"],
            # The queue reads every label: on large projects it has a page of its own.
            "queue_size": queue_size,
        },
    )


@login_required
@require_POST
def project_import(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a CSV or JSONL file."))
        return redirect("annotation:project", project_id=project.pk)
    upload, archive = form.cleaned_data["file"], form.cleaned_data.get("media_zip")
    try:
        report = services.items_import(
            project=project,
            data=upload.read(),
            filename=upload.name,
            media_zip=archive,  # the upload, read one media file at a time
        )
    except ValidationError as exc:
        flash_errors(request, exc, field_names=True)
        return redirect("annotation:project", project_id=project.pk)
    if not report.ok:
        for row in report.errors:
            messages.error(request, f"row {row['row']}: " + "; ".join(row["errors"]))
        messages.error(request, _("Nothing was imported."))
    else:
        messages.success(
            request,
            _("Imported: %(c)d new, %(u)d updated, %(n)d unchanged.")
            % {"c": report.created, "u": report.updated, "n": report.unchanged},
        )
    return redirect("annotation:project", project_id=project.pk)


@login_required
@require_POST
def exclusion_create(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    form = ExclusionForm(request.POST)
    rater = user_named(username=request.POST.get("username", ""))
    if rater is None:
        messages.error(request, _("username: No such user."))
    elif not form.is_valid():
        messages.error(request, _("reason: Give a reason for the exclusion."))
    else:
        try:
            services.exclusion_create(
                project=project, rater=rater, reason=form.cleaned_data["reason"], by=request.user
            )
        except ValidationError as exc:
            flash_errors(request, exc, field_names=True)
        else:
            messages.success(
                request,
                _("%(user)s's labels are left out from now on.") % {"user": rater.username},
            )
            services.agreement_refresh(project=project, user=request.user)
    return redirect("annotation:project", project_id=project.pk)


@login_required
@require_POST
def exclusion_lift(request, exclusion_id: int):
    exclusion = access_exclusion(user=request.user, exclusion_id=exclusion_id)
    try:
        services.exclusion_lift(exclusion=exclusion, by=request.user)
    except ValidationError as exc:
        flash_errors(request, exc, field_names=True)
    else:
        messages.success(
            request,
            _("%(user)s's labels count again.") % {"user": exclusion.rater.username},
        )
        services.agreement_refresh(project=exclusion.project, user=request.user)
    return redirect("annotation:project", project_id=exclusion.project_id)


@login_required
@require_POST
def votes_export(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    form = VotesExportForm(request.POST, prefix="export")
    if not form.is_valid():
        messages.error(request, _("format: Choose CSV or Parquet."))
    else:
        services.votes_export_start(
            project=project,
            user=request.user,
            fmt=form.cleaned_data["format"],
            raw=form.cleaned_data["raw"],
        )
        messages.success(request, _("The vote table is being exported; download it below."))
    return redirect(reverse("annotation:project", args=[project.pk]) + "#export-title")


@login_required
@require_POST
def agreement_refresh(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    services.agreement_job_start(project=project, user=request.user)
    messages.success(request, _("The agreement report is being computed."))
    return redirect("annotation:project", project_id=project.pk)


ITEMS_PER_PAGE = 25


@login_required
def project_items(request, project_id: int):
    """The project's items, a page at a time, with a search over ids and texts."""
    project = access_project(user=request.user, project_id=project_id)
    search = request.GET.get("q", "").strip()[:200]
    items = Paginator(
        selectors.project_items(project=project, search=search), ITEMS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "annotation/project_items.html",
        {
            "project": project,
            "items": items,
            "search": search,
            "extra": urlencode({"q": search}) if search else "",
        },
    )
