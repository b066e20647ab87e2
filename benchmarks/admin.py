from django.contrib import admin, messages
from django.db import transaction

from benchmarks.models import Dataset, DatasetSource, Version
from benchmarks.services import version_export_start
from config.admin import (
    file_field_names,
    job_started_message,
    readonly_without_files,
    stored_file,
)

# Shown and read-only alike.
_SOURCE_FIELDS = ("kind", "name", "survey_id", "project_id", "n_votes", "created_at")


class DatasetSourceInline(admin.TabularInline):
    model = DatasetSource
    extra = 0
    fields = _SOURCE_FIELDS
    readonly_fields = _SOURCE_FIELDS


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "study", "created_at"]
    search_fields = ["name"]
    list_select_related = ["study"]
    inlines = [DatasetSourceInline]


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    """Versions are immutable: every field is read-only and none can be added by hand."""

    list_display = ["dataset", "number", "built_by", "built_at", "sha256"]
    list_select_related = ["dataset", "built_by"]
    actions = ["export_versions"]
    # The frozen files by name only: they are read through the version's pages and exports,
    # which check access, never through a storage URL.
    exclude = file_field_names(Version)
    frozen_votes = stored_file("votes_file", label="votes file")
    frozen_items = stored_file("items_file", label="items file")
    frozen_contents = stored_file("contents_file", label="contents file")

    def get_readonly_fields(self, request, obj=None):
        return [*readonly_without_files(Version), "frozen_votes", "frozen_items", "frozen_contents"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Export (CSV, JSONL, Parquet, Hugging Face, Croissant zip)")
    def export_versions(self, request, queryset):
        with transaction.atomic():
            jobs = [version_export_start(version=v, user=request.user) for v in queryset]
        for job in jobs:
            messages.info(request, job_started_message("Started the export", job))
