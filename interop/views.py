"""Pages: upload another tool's export, follow its import, and export a project's labels in a
tool's format."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.access import access_study, studies_visible_to
from config.forms import form_errors_from, form_for_page, form_refused
from config.storage import stored_download
from interop import services
from interop.access import access_import
from interop.forms import ExportForm, ImportForm
from interop.models import LabelImport
from sources import registry
from sources.registry import SourceUnavailable

# The report's statuses (interop.parsers.common), as the page shows them.
STATUS_LABELS = {
    "ok": _("read"),
    "skipped": _("skipped"),
    "no votes": _("no votes"),
    "replaced": _("replaced by a later answer"),
    "other field": _("another question"),
}


def _projects(user) -> list[tuple[str, str]]:
    """``(study:project, title)`` of the annotation projects of the user's studies."""
    try:
        source = registry.get("annotation")
    except SourceUnavailable:
        return []
    studies = list(studies_visible_to(user=user).order_by("name"))
    # One query for the projects of every study, not one per study.
    by_study = source.choices_by_study(study_ids=[study.pk for study in studies])
    out = []
    for study in studies:
        for pk, title in by_study.get(study.pk, []):
            out.append((f"{study.pk}:{pk}", f"{study.name} · {title}"))
    return out


@login_required
def import_page(request):
    studies = studies_visible_to(user=request.user).order_by("name")
    # Archived studies take no new annotation project.
    open_studies = studies.filter(archived_at=None)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, studies=open_studies)
        if form.is_valid():
            data = form.cleaned_data
            try:
                label_import = services.label_import_start(
                    study=access_study(user=request.user, study_id=data["study"].pk),
                    user=request.user,
                    tool=data["tool"],
                    name=data["name"],
                    field=data["field"],
                    upload=data["file"],
                )
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                return redirect("interop:detail", import_id=label_import.pk)
        return form_refused(request, form, key="import", to=f"{request.path}#import-form")
    imports = (
        LabelImport.objects.filter(study__in=studies)
        .select_related("study", "job", "project")
        .order_by("-created_at")[:20]
    )
    return render(
        request,
        "interop/import.html",
        {
            "form": form_for_page(request, "import", ImportForm, studies=open_studies),
            "imports": imports,
            "export_form": form_for_page(
                request, "export", ExportForm, projects=_projects(request.user)
            ),
        },
    )


@login_required
def import_suggestions(request, import_id: int):
    """The model suggestions of an import, for the people who may see the import."""
    label_import = access_import(user=request.user, import_id=import_id)
    return stored_download(label_import.suggestions_file, content_type="text/csv")


@login_required
def import_detail(request, import_id: int):
    label_import = access_import(user=request.user, import_id=import_id)
    counts = (label_import.summary or {}).get("records_by_status", {})
    statuses = [(STATUS_LABELS.get(status, status), n) for status, n in sorted(counts.items())]
    return render(
        request, "interop/detail.html", {"label_import": label_import, "statuses": statuses}
    )


@login_required
@require_POST
def export_project(request):
    """Start an export of an annotation project's labels in a tool's import format (a job;
    its page offers the file). The form is on the import page."""
    refused = f"{reverse('interop:import')}#export-form"
    form = ExportForm(request.POST, projects=_projects(request.user))
    if not form.is_valid():
        return form_refused(request, form, key="export", to=refused)
    study_id, project_id = (int(v) for v in form.cleaned_data["project"].split(":"))
    study = access_study(user=request.user, study_id=study_id)
    try:
        job = services.labels_export_start(
            study=study, user=request.user, project_id=project_id, tool=form.cleaned_data["tool"]
        )
    except ValidationError as exc:
        form_errors_from(form, exc)
        return form_refused(request, form, key="export", to=refused)
    return redirect("jobs:detail", job_id=job.pk)
