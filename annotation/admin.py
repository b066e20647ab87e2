from __future__ import annotations

from django.contrib import admin

from annotation.models import (
    Adjudication,
    Category,
    Exclusion,
    Item,
    Project,
    ProjectMember,
)


class CategoryInline(admin.TabularInline):
    model = Category
    extra = 0
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


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "kind", "is_gold", "slots_taken", "slots_total"]
    list_filter = ["kind", "is_gold"]
    search_fields = ["external_id"]
    raw_id_fields = ["project", "gold_label"]
    # The slot counters are kept by the assignment services only.
    readonly_fields = ["slots_taken", "expert_slots_taken"]


@admin.register(Exclusion)
class ExclusionAdmin(admin.ModelAdmin):
    list_display = ["project", "rater", "active", "reason", "created_at"]
    list_filter = ["active"]
    raw_id_fields = ["project", "rater", "created_by", "lifted_by"]


@admin.register(Adjudication)
class AdjudicationAdmin(admin.ModelAdmin):
    list_display = ["item", "decided_by", "created_at"]
    raw_id_fields = ["item", "decided_by"]
