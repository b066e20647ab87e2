"""Admin: read-mostly views for staff; researchers use the survey pages and the API.

Contact details are deliberately not registered: they are read through the owners-only API.
"""

from __future__ import annotations

from django.contrib import admin

from config.admin import ShownOnlyAdmin, page_link
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
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Option._meta.fields]


@admin.register(Question)
class QuestionAdmin(ShownOnlyAdmin):
    """Read-only: a change here would skip the review (editing sends a question back to
    draft), so questions change in the survey's questionnaire editor or through the API."""

    list_display = ["code", "survey", "kind", "review_state", "answer_key"]
    list_filter = ["review_state", "kind"]
    inlines = [OptionInline]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    """The status opens and closes through the questionnaire page (opening checks that every
    question is approved); the consent text is fixed once fieldwork starts."""

    list_display = ["title_en", "study", "status", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["open_token", "status", "opened_at", "questionnaire"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and obj.status != "draft":
            fields += ["title_en", "title_ko", "intro_en", "intro_ko", "languages", "design"]
        return fields

    @admin.display(description="questionnaire")
    def questionnaire(self, survey: Survey) -> str:
        text = "Questions, review, opening and closing"
        return page_link("surveys:questionnaire", survey.pk, text)


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
