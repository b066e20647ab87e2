"""Pages: upload another tool's export, follow its import, and export a project's labels in a
tool's format."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.access import access_study, studies_visible_to
from interop import services
from interop.forms import ExportForm, ImportForm
from interop.models import LabelImport
from interop.writers import WRITERS
from sources import registry
from sources.registry import SourceRef, SourceUnavailable


def _projects(user) -> list[tuple[str, str]]:
    """``(study:project, title)`` of the annotation projects of the user's studies."""
    try:
        source = registry.get("annotation")
    except SourceUnavailable:
        return []
    out = []
    for study in studies_visible_to(user=user).order_by("name"):
        for pk, title in source.choices(study_id=study.pk):
            out.append((f"{study.pk}:{pk}", f"{study.name} · {title}"))
    return out


@login_required
def import_page(request):
    studies = studies_visible_to(user=request.user).order_by("name")
    form = ImportForm(request.POST or None, request.FILES or None, studies=studies)
    if request.method == "POST" and form.is_valid():
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
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            return redirect("interop:detail", import_id=label_import.pk)
    imports = (
        LabelImport.objects.filter(study__in=studies)
        .select_related("study", "job", "project")
        .order_by("-created_at")[:20]
    )
    return render(
        request,
        "interop/import.html",
        {
            "form": form,
            "imports": imports,
            "export_form": ExportForm(projects=_projects(request.user)),
        },
        status=400 if form.errors else 200,
    )


@login_required
def import_detail(request, import_id: int):
    label_import = (
        LabelImport.objects.filter(pk=import_id, study__in=studies_visible_to(user=request.user))
        .select_related("study", "job", "project")
        .first()
    )
    if label_import is None:
        raise Http404("No such import.")
    return render(request, "interop/detail.html", {"label_import": label_import})


@login_required
def export_project(request):
    """An annotation project's labels in a tool's import format, read through the source
    registry like any dataset source."""
    form = ExportForm(request.GET or None, projects=_projects(request.user))
    if not request.GET:
        return render(
            request, "interop/import.html", {"export_form": form, "form": None, "imports": []}
        )
    if not form.is_valid():
        return render(
            request,
            "interop/import.html",
            {"export_form": form, "form": None, "imports": []},
            status=400,
        )
    study_id, project_id = (int(v) for v in form.cleaned_data["project"].split(":"))
    study = access_study(user=request.user, study_id=study_id)
    ref = SourceRef(kind="annotation", study_id=study.pk, object_id=project_id)
    try:
        votes = registry.vote_table(ref)
        items = registry.item_table(ref)
        title = registry.get("annotation").describe(ref=ref)["name"]
    except SourceUnavailable as exc:
        raise Http404(str(exc)) from None
    if not len(votes):
        form.add_error("project", _("This project has no labels yet."))
        return render(
            request, "interop/import.html", {"export_form": form, "form": None, "imports": []},
            status=400,
        )  # fmt: skip
    write, suffix = WRITERS[form.cleaned_data["tool"]]
    content = write(votes, items)
    response = HttpResponse(content, content_type="application/octet-stream")
    name = f"{slugify(title) or 'project'}-{suffix}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
