from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.access import access_study
from accounts.selectors import study_list

# What each app's study partial (``<app>/partials/study_section.html``) lists for a study.
# Prefetched once for the whole home page, so the page costs the same few queries however many
# studies a researcher has.
STUDY_SECTION_RELATIONS = ("surveys", "annotation_projects", "datasets")


@login_required
def home(request):
    """The researcher's home: their studies, and in each its surveys, projects and datasets."""
    studies = study_list(user=request.user).prefetch_related(*STUDY_SECTION_RELATIONS)
    return render(request, "accounts/home.html", {"studies": studies})


@login_required
def study_detail(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    return render(request, "accounts/study_detail.html", {"study": study})


@never_cache
def healthz(request):
    """Liveness and database check for load balancers and monitors."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
