from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction

from annotation.models import (
    Adjudication,
    Category,
    Exclusion,
    Item,
    Project,
    ProjectMember,
)
from annotation.services import votes_export_start
from config.admin import ShownOnlyAdmin, job_started_message, page_link, stored_file


class CategoryInline(admin.TabularInline):
    model = Category
    extra = 0
    # Answers and imported ratings may use any category: the codebook keeps them all.
    can_delete = False
    fields = ["order", "key", "name", "keyboard_key", "is_secondary_allowed", "is_none"]


class MemberInline(admin.TabularInline):
    model = ProjectMember
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "study", "mode", "raters_per_item", "gold_rate", "created_at"]
    list_filter = ["mode"]
    search_fields = ["name"]
    inlines = [CategoryInline, MemberInline]
    raw_id_fields = ["study", "created_by"]
    # k and the expert sample live in every item's slot counters: they change through the
    # project's settings page (one transaction over the items), never by editing this row.
    readonly_fields = [
        "mode",
        "raters_per_item",
        "expert_raters_per_item",
        "expert_sample_rate",
        "settings_page",
    ]
    actions = ["export_votes_csv", "export_votes_parquet"]

    @admin.display(description="settings")
    def settings_page(self, project: Project) -> str:
        text = "Change k, the expert sample and the codebook"
        return page_link("annotation:settings", project.pk, text)

    def _export(self, request, queryset, fmt: str) -> None:
        with transaction.atomic():
            jobs = [votes_export_start(project=p, user=request.user, fmt=fmt) for p in queryset]
        for job in jobs:
            messages.info(request, job_started_message("Started the vote table export", job))

    @admin.action(description="Export the vote table (CSV)")
    def export_votes_csv(self, request, queryset):
        self._export(request, queryset, "csv")

    @admin.action(description="Export the vote table (Parquet)")
    def export_votes_parquet(self, request, queryset):
        self._export(request, queryset, "parquet")


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "kind", "is_gold", "slots_taken", "slots_total"]
    list_filter = ["kind", "is_gold"]
    search_fields = ["external_id"]
    raw_id_fields = ["project", "gold_label"]
    # The clip through the media view (it checks access at every play), never a storage URL;
    # media come in through the import.
    exclude = ["media"]
    media_file = stored_file("media", "annotation:media", label="media")
    # The slot counters are kept by the services only, and whether an item is gold decides
    # whether it has slots at all: items come in through the import, k through the settings.
    readonly_fields = [
        "media_file",
        "is_gold",
        "slots_taken",
        "slots_total",
        "expert_slots_taken",
        "expert_slots_total",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(Exclusion)
class ExclusionAdmin(ShownOnlyAdmin):
    """A record of a decision (who, when, why): excluded and lifted from the dashboard."""

    list_display = ["project", "rater", "active", "reason", "created_at"]
    list_filter = ["active"]


@admin.register(Adjudication)
class AdjudicationAdmin(ShownOnlyAdmin):
    list_display = ["item", "decided_by", "created_at"]
