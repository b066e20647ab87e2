"""Admin: read-mostly views for staff; researchers use the survey pages and the API.

Contact details are deliberately not registered: they are read through the owners-only API.
"""

from __future__ import annotations

from django.contrib import admin

from surveys.models import (
    Answer,
    Cell,
    Invitation,
    Option,
    Panel,
    Population,
    Question,
    QuestionReview,
    QuotaCell,
    Response,
    SampleDesign,
    Survey,
)


class CellInline(admin.TabularInline):
    model = Cell
    extra = 0


@admin.register(Population)
class PopulationAdmin(admin.ModelAdmin):
    list_display = ["name", "study", "created_at"]
    inlines = [CellInline]


@admin.register(Panel)
class PanelAdmin(admin.ModelAdmin):
    list_display = ["name", "study", "population", "created_at"]


class QuotaInline(admin.TabularInline):
    model = QuotaCell
    extra = 0
    readonly_fields = ["filled", "reserved"]


@admin.register(SampleDesign)
class SampleDesignAdmin(admin.ModelAdmin):
    list_display = ["name", "study", "target_n", "allocation", "created_at"]
    inlines = [QuotaInline]


class OptionInline(admin.TabularInline):
    model = Option
    extra = 0


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["code", "survey", "kind", "review_state", "answer_key"]
    list_filter = ["review_state", "kind"]
    readonly_fields = ["review_state", "review_cycle"]
    inlines = [OptionInline]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["title_en", "study", "status", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["open_token"]


@admin.register(QuestionReview)
class QuestionReviewAdmin(admin.ModelAdmin):
    list_display = ["question", "reviewer", "cycle", "round", "decision", "created_at"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["id", "survey", "status", "sent_at", "reminders"]
    list_filter = ["status"]
    exclude = ["token"]
    raw_id_fields = ["panelist", "draw"]


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["id", "survey", "status", "cell", "flagged_attention", "completed_at"]
    list_filter = ["status", "flagged_attention"]
    exclude = ["token"]
    raw_id_fields = ["invitation", "cell"]
    inlines = [AnswerInline]
