"""Surveys: populations and panels, sample designs and draws, questionnaires, responses.

Population -> Cell (stratum values, census count)
Panel -> Panelist (stratum attributes) + PanelistContact (kept apart, never exported)
SampleDesign -> QuotaCell (target, filled, reserved) ; Draw (seed) -> Invitation (token)
Survey -> Block -> Question (review state, optional key) -> Option ; QuestionReview
Response (one per invitation or open-link entrant) -> Answer ; QuotaReservation ; Weight

Participants are not users: they reach their pages through unguessable tokens.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


def new_token() -> str:
    """32 URL-safe characters carrying 192 random bits."""
    return secrets.token_urlsafe(24)


KEY_SEPARATOR = "|"


def cell_key(values: list[str] | tuple[str, ...]) -> str:
    """The stable key of a cell: its stratum values joined in the population's variable order."""
    return KEY_SEPARATOR.join(str(v) for v in values)


# --- populations and panels ------------------------------------------------------------------


class Population(models.Model):
    study = models.ForeignKey(
        "accounts.Study", on_delete=models.CASCADE, related_name="populations"
    )
    name = models.CharField(_("name"), max_length=200)
    # Names of the stratification variables, in order, e.g. ["region", "age", "gender"].
    variables = models.JSONField(default=list)
    # Optional display labels for stratum values, shown by the screener:
    # {"gender": {"F": {"en": "Female", "ko": "여성"}}, ...}; the raw value when absent.
    labels = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def label(self, variable: str, value: str, language: str) -> str:
        entry = self.labels.get(variable, {}).get(value, {})
        return entry.get(language) or entry.get("en") or value

    @property
    def total(self) -> int:
        return sum(c.count for c in self.cells.all())


class Cell(models.Model):
    population = models.ForeignKey(Population, on_delete=models.CASCADE, related_name="cells")
    key = models.CharField(max_length=300)
    # {"region": "Seoul", "age": "30-39", "gender": "F"}
    values = models.JSONField(default=dict)
    count = models.BigIntegerField(_("census count"))

    class Meta:
        ordering = ["population", "id"]
        constraints = [
            models.UniqueConstraint(fields=["population", "key"], name="survey_cell_unique"),
            models.CheckConstraint(condition=Q(count__gte=0), name="survey_cell_count_gte_0"),
        ]

    def __str__(self) -> str:
        return self.key


class Panel(models.Model):
    study = models.ForeignKey("accounts.Study", on_delete=models.CASCADE, related_name="panels")
    population = models.ForeignKey(Population, on_delete=models.PROTECT, related_name="panels")
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Panelist(models.Model):
    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="panelists")
    external_id = models.CharField(max_length=100)
    attributes = models.JSONField(default=dict)
    cell = models.ForeignKey(Cell, null=True, on_delete=models.PROTECT, related_name="panelists")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["panel", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["panel", "external_id"], name="survey_panelist_external_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class PanelistContact(models.Model):
    """How to reach a panelist. A table of its own so that no query for answers or exports
    ever touches it; only the study's owners read it (``access.access_panel_contacts``)."""

    panelist = models.OneToOneField(Panelist, on_delete=models.CASCADE, related_name="contact")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return f"contact of {self.panelist_id}"


# --- sample designs, draws, invitations ----------------------------------------------------


class Allocation(models.TextChoices):
    PROPORTIONAL = "proportional", _("Proportional")
    NEYMAN = "neyman", _("Neyman")
    EQUAL = "equal", _("Equal")
    MINIMUM = "minimum", _("Minimum per cell, then proportional")


class SampleDesign(models.Model):
    study = models.ForeignKey("accounts.Study", on_delete=models.CASCADE, related_name="designs")
    population = models.ForeignKey(Population, on_delete=models.PROTECT, related_name="designs")
    panel = models.ForeignKey(
        Panel, null=True, blank=True, on_delete=models.PROTECT, related_name="designs"
    )
    name = models.CharField(_("name"), max_length=200)
    target_n = models.PositiveIntegerField(_("sample size"))
    # How target_n was computed when it was not given (margin, confidence, p, deff,
    # response_rate, fpc); empty when given directly.
    size_parameters = models.JSONField(default=dict, blank=True)
    allocation = models.CharField(
        max_length=20, choices=Allocation.choices, default=Allocation.PROPORTIONAL
    )
    # {"minimum": 2} or {"sd": {cell key: sd}}
    parameters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.name


class QuotaCell(models.Model):
    """The quota of one cell: ``reserved`` places are held by participants who have started,
    ``filled`` by those who completed. The database refuses any over-fill."""

    design = models.ForeignKey(SampleDesign, on_delete=models.CASCADE, related_name="quotas")
    cell = models.ForeignKey(Cell, on_delete=models.PROTECT, related_name="quotas")
    target = models.PositiveIntegerField()
    filled = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["design", "cell_id"]
        constraints = [
            models.UniqueConstraint(fields=["design", "cell"], name="survey_quota_cell_unique"),
            models.CheckConstraint(
                condition=Q(filled__lte=F("target")), name="survey_quota_filled_lte_target"
            ),
            models.CheckConstraint(
                condition=Q(filled__lte=F("target") - F("reserved")),
                name="survey_quota_filled_reserved_lte_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cell} {self.filled}/{self.target}"


class DrawKind(models.TextChoices):
    INITIAL = "initial", _("Initial")
    REPLACEMENT = "replacement", _("Replacement")


class Draw(models.Model):
    survey = models.ForeignKey("Survey", on_delete=models.CASCADE, related_name="draws")
    design = models.ForeignKey(SampleDesign, on_delete=models.PROTECT, related_name="draws")
    seed = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=DrawKind.choices, default=DrawKind.INITIAL)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"draw {self.pk} (seed {self.seed})"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Not sent")
    SENT = "sent", _("Sent")
    STARTED = "started", _("Started")
    COMPLETED = "completed", _("Completed")
    SCREENED_OUT = "screened_out", _("Screened out")
    # The invitee said on the consent page that they do not want to take part.
    REFUSED = "refused", _("Refused")


class Invitation(models.Model):
    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="invitations")
    survey = models.ForeignKey("Survey", on_delete=models.CASCADE, related_name="invitations")
    panelist = models.ForeignKey(Panelist, on_delete=models.PROTECT, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_token)
    status = models.CharField(
        max_length=20, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(default=0)
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "panelist"], name="survey_invitation_once_per_panelist"
            ),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk}"


# --- questionnaires ---------------------------------------------------------------------------


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class WeightingMethod(models.TextChoices):
    AUTO = "auto", _("Automatic (post-stratification, raking if a cell is empty)")
    POSTSTRATIFY = "poststratify", _("Post-stratification to the population cells")
    RAKE = "rake", _("Raking to each variable's margins")
    NONE = "none", _("None (every respondent weighs the same)")


class Survey(models.Model):
    study = models.ForeignKey("accounts.Study", on_delete=models.CASCADE, related_name="surveys")
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_ko = models.CharField(_("title (Korean)"), max_length=200, blank=True)
    intro_en = models.TextField(_("consent text (English)"), blank=True)
    intro_ko = models.TextField(_("consent text (Korean)"), blank=True)
    languages = models.JSONField(default=list)  # ["ko", "en"]
    design = models.ForeignKey(
        SampleDesign, null=True, blank=True, on_delete=models.PROTECT, related_name="surveys"
    )
    open_token = models.CharField(max_length=64, unique=True, default=new_token)
    open_link_enabled = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT
    )
    randomize_questions = models.BooleanField(default=False)
    randomize_options = models.BooleanField(default=False)
    # How long a started participant holds a quota place.
    reservation_minutes = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    # Weighting: the method, an optional cap on weights (a multiple of the mean weight) and
    # categories merged for weighting, {variable: {category: merged into}}.
    weighting_method = models.CharField(
        _("weighting method"),
        max_length=20,
        choices=WeightingMethod.choices,
        default=WeightingMethod.AUTO,
    )
    weight_trim = models.FloatField(_("largest weight (times the mean)"), null=True, blank=True)
    weighting_merges = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.title_en

    def title(self, language: str) -> str:
        return (self.title_ko if language == "ko" else self.title_en) or self.title_en

    def intro(self, language: str) -> str:
        return (self.intro_ko if language == "ko" else self.intro_en) or self.intro_en


class Block(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="blocks")
    order = models.PositiveIntegerField(default=0)
    title_en = models.CharField(max_length=200, blank=True)
    title_ko = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["survey", "order", "id"]

    def __str__(self) -> str:
        return self.title_en or f"block {self.order}"

    def title(self, language: str) -> str:
        return (self.title_ko if language == "ko" else self.title_en) or self.title_en


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    SCALE = "scale", _("Agreement scale")
    NUMERIC = "numeric", _("Number")
    TEXT = "text", _("Free text")


CHOICE_KINDS = {QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.SCALE}


class ReviewState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    block = models.ForeignKey(Block, on_delete=models.CASCADE, related_name="questions")
    code = models.SlugField(max_length=60)
    order = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=QuestionKind.choices)
    text_en = models.TextField()
    text_ko = models.TextField(blank=True)
    required = models.BooleanField(default=True)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    review_state = models.CharField(
        max_length=10, choices=ReviewState.choices, default=ReviewState.DRAFT
    )
    required_approvals = models.PositiveSmallIntegerField(default=1)
    # Each submission for review starts a new cycle; approvals count within the cycle.
    review_cycle = models.PositiveIntegerField(default=0)
    answer_key = models.CharField(max_length=60, blank=True)  # option code of the right answer
    subject = models.CharField(max_length=100, blank=True)
    is_attention_check = models.BooleanField(default=False)
    expected_option = models.CharField(max_length=60, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["block__order", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "code"], name="survey_question_code_unique"),
            models.CheckConstraint(
                condition=Q(required_approvals__gte=1), name="survey_question_approvals_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def key(self) -> str:
        """Stable item key for the vote table."""
        return f"{self.survey_id}:{self.code}"

    def text(self, language: str) -> str:
        return (self.text_ko if language == "ko" else self.text_en) or self.text_en

    @property
    def is_choice(self) -> bool:
        return self.kind in CHOICE_KINDS


class Option(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    code = models.CharField(max_length=60)
    text_en = models.CharField(max_length=300)
    text_ko = models.CharField(max_length=300, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["question", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["question", "code"], name="survey_option_code_unique"),
        ]

    def __str__(self) -> str:
        return self.code

    def text(self, language: str) -> str:
        return (self.text_ko if language == "ko" else self.text_en) or self.text_en


class ReviewDecision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Request changes")


class QuestionReview(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="question_reviews"
    )
    cycle = models.PositiveIntegerField()
    round = models.PositiveSmallIntegerField()
    decision = models.CharField(max_length=10, choices=ReviewDecision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["question", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "cycle", "reviewer"], name="survey_review_once_per_cycle"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} by {self.reviewer_id}"


# --- responses ------------------------------------------------------------------------------


class ResponseStatus(models.TextChoices):
    STARTED = "started", _("Started")
    COMPLETED = "completed", _("Completed")
    SCREENED_OUT = "screened_out", _("Screened out")


class Response(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.CASCADE, related_name="response"
    )
    token = models.CharField(max_length=64, unique=True, default=new_token)
    cell = models.ForeignKey(
        Cell, null=True, blank=True, on_delete=models.PROTECT, related_name="responses"
    )
    status = models.CharField(
        max_length=20, choices=ResponseStatus.choices, default=ResponseStatus.STARTED
    )
    language = models.CharField(max_length=8, default="ko")
    screener = models.JSONField(default=dict, blank=True)
    flagged_attention = models.BooleanField(default=False)
    seed = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invitation"],
                condition=Q(invitation__isnull=False),
                name="survey_response_once_per_invitation",
            ),
        ]

    def __str__(self) -> str:
        return f"response {self.pk} ({self.status})"


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    # Option codes chosen (one for single choice and scales, any number for multiple choice).
    choices = models.JSONField(default=list, blank=True)
    number = models.FloatField(null=True, blank=True)
    text = models.TextField(blank=True)
    answered_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["response", "question"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question"], name="survey_answer_once_per_question"
            ),
        ]

    def __str__(self) -> str:
        return f"answer {self.pk}"


class QuotaReservation(models.Model):
    """A started participant's hold on one place of their cell's quota, until ``expires_at``."""

    quota = models.ForeignKey(QuotaCell, on_delete=models.CASCADE, related_name="reservations")
    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="reservation")
    expires_at = models.DateTimeField()
    # A keyed hash of the address an open-link hold was taken from (never the address itself),
    # so that one address can hold only QUOTA_HOLDS_PER_ADDRESS places at once; "" otherwise.
    holder = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["quota", "expires_at"]),
            models.Index(fields=["holder", "expires_at"], name="survey_quota_hold_holder_idx"),
        ]

    def __str__(self) -> str:
        return f"reservation {self.pk}"


class Weight(models.Model):
    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="weight")
    value = models.FloatField()
    method = models.CharField(max_length=20)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="survey_weight_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.value:.4f}"
