"""Annotation projects: label schemas, items, assignments, annotations, quality and adjudication.

The invariants that matter under concurrency live in the database:

* an item never has more than its ``slots_total`` open or finished assignments: ``slots_taken``
  is claimed by a conditional ``UPDATE ... WHERE slots_taken < slots_total`` and a check
  constraint refuses anything beyond;
* a rater has at most one assignment per item (unique constraint), so nobody rates twice;
* an annotation has at most one primary label (partial unique constraint).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import InvitationRecord


class LabelMode(models.TextChoices):
    SINGLE = "single", _("Single label")
    PRIMARY_SECONDARY = "primary_secondary", _("Primary and secondary labels")
    MULTI_LABEL = "multi_label", _("Multi-label")


class DisagreementRule(models.TextChoices):
    NO_MAJORITY = "no_majority", _("No strict majority on the primary label")
    NO_PLURALITY = "no_plurality", _("Tie at the top of the primary labels")
    NOT_UNANIMOUS = "not_unanimous", _("Raters are not unanimous")


def default_media_max_bytes() -> int:
    return int(settings.ANNOTATION_MEDIA_MAX_BYTES)


def default_media_max_seconds() -> int:
    return int(settings.ANNOTATION_MEDIA_MAX_SECONDS)


class Project(models.Model):
    study = models.ForeignKey(
        "accounts.Study", on_delete=models.CASCADE, related_name="annotation_projects"
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    mode = models.CharField(
        _("label mode"), max_length=20, choices=LabelMode.choices, default=LabelMode.SINGLE
    )
    raters_per_item = models.PositiveSmallIntegerField(_("raters per item (k)"), default=3)
    expert_raters_per_item = models.PositiveSmallIntegerField(
        _("experts per sampled item"), default=0
    )
    expert_sample_rate = models.FloatField(_("share of items experts see"), default=0.0)
    gold_rate = models.FloatField(_("share of gold items served"), default=0.0)
    guidelines = models.TextField(_("guidelines (Markdown)"), blank=True)
    # [{"key": "arousal", "name": "Arousal", "min": 1, "max": 7, "required": false}, ...]
    scales = models.JSONField(_("rating scales"), default=list, blank=True)
    allow_comment = models.BooleanField(_("comments allowed"), default=True)
    allow_evidence = models.BooleanField(_("evidence span allowed"), default=False)
    lease_minutes = models.PositiveSmallIntegerField(_("lease in minutes"), default=15)
    disagreement_rule = models.CharField(
        max_length=20, choices=DisagreementRule.choices, default=DisagreementRule.NO_MAJORITY
    )
    # Limits on each imported media file (a file beyond either is refused with its row).
    media_max_bytes = models.PositiveBigIntegerField(
        _("largest media file (bytes)"), default=default_media_max_bytes
    )
    media_max_seconds = models.PositiveIntegerField(
        _("longest media file (seconds)"), default=default_media_max_seconds
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(media_max_bytes__gte=1) & Q(media_max_seconds__gte=1),
                name="annotation_project_media_limits_positive",
            ),
            models.CheckConstraint(
                condition=Q(raters_per_item__gte=1), name="annotation_project_k_positive"
            ),
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1),
                name="annotation_project_gold_rate_share",
            ),
            models.CheckConstraint(
                condition=Q(expert_sample_rate__gte=0) & Q(expert_sample_rate__lte=1),
                name="annotation_project_expert_rate_share",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="categories")
    key = models.SlugField(_("key"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    examples = models.TextField(_("examples"), blank=True)
    keyboard_key = models.CharField(_("keyboard key"), max_length=1, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_secondary_allowed = models.BooleanField(_("may be a secondary label"), default=True)
    # The explicit "none of these" of a multi-label schema: chosen alone or not at all.
    is_none = models.BooleanField(_("means 'none'"), default=False)

    class Meta:
        ordering = ["order", "id"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="annotation_category_key"),
            models.UniqueConstraint(
                fields=["project", "keyboard_key"],
                condition=~Q(keyboard_key=""),
                name="annotation_category_keyboard_key",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MemberRole(models.TextChoices):
    ANNOTATOR = "annotator", _("Annotator")
    EXPERT = "expert", _("Expert")
    ADJUDICATOR = "adjudicator", _("Adjudicator")


class ProjectMember(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotation_memberships"
    )
    role = models.CharField(max_length=20, choices=MemberRole.choices, default=MemberRole.ANNOTATOR)
    group = models.CharField(_("annotator group"), max_length=100, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="annotation_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class ProjectInvitation(InvitationRecord):
    """A researcher asked ``user`` to join ``project``; nothing changes until they accept.

    Accepting makes them a member with ``role`` and ``group``; declining leaves them out.
    Answered invitations stay as a record.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_invitations"
    )
    role = models.CharField(max_length=20, choices=MemberRole.choices, default=MemberRole.ANNOTATOR)
    group = models.CharField(_("annotator group"), max_length=100, blank=True)

    class Meta(InvitationRecord.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"],
                condition=Q(status="pending"),
                name="annotation_invitation_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} to {self.project} ({self.role}, {self.status})"


class ItemKind(models.TextChoices):
    TEXT = "text", _("Text")
    AUDIO = "audio", _("Audio")


class Item(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(_("external id"), max_length=200)
    kind = models.CharField(max_length=10, choices=ItemKind.choices, default=ItemKind.TEXT)
    text = models.TextField(blank=True)
    media = models.FileField(upload_to="annotation/media/%Y/%m/", blank=True)
    media_type = models.CharField(max_length=50, blank=True)
    duration = models.FloatField(_("duration in seconds"), null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    is_gold = models.BooleanField(default=False)
    gold_label = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    # Ratings wanted from annotators, and the ones taken (leased or done). Claimed only by a
    # conditional UPDATE; the check constraint is the last line of defence.
    slots_total = models.PositiveIntegerField(default=0)
    slots_taken = models.PositiveIntegerField(default=0)
    # The same for experts on the stratified expert sample (0 wanted outside it).
    expert_slots_total = models.PositiveIntegerField(default=0)
    expert_slots_taken = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="annotation_item_external_id"
            ),
            models.CheckConstraint(
                condition=Q(slots_taken__lte=F("slots_total")), name="annotation_item_slots"
            ),
            models.CheckConstraint(
                condition=Q(expert_slots_taken__lte=F("expert_slots_total")),
                name="annotation_item_expert_slots",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "is_gold", "slots_taken", "id"], name="ann_item_need"),
        ]

    def __str__(self) -> str:
        return self.external_id


class AssignmentStatus(models.TextChoices):
    LEASED = "leased", _("Leased")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    EXPIRED = "expired", _("Expired")


class Pool(models.TextChoices):
    ANNOTATOR = "annotator", _("Annotators")
    EXPERT = "expert", _("Experts")
    GOLD = "gold", _("Gold")


class Assignment(models.Model):
    # Both foreign keys are covered by the composite indexes below (item first in the unique
    # constraint, rater first in the rater/status index), so they need no index of their own.
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="assignments", db_index=False
    )
    # PROTECT: a rater's answers hold slots; ``services.rater_erase`` gives them back.
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="annotation_assignments",
        db_index=False,
    )
    pool = models.CharField(max_length=10, choices=Pool.choices, default=Pool.ANNOTATOR)
    status = models.CharField(
        max_length=10, choices=AssignmentStatus.choices, default=AssignmentStatus.LEASED
    )
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "rater"], name="annotation_assignment_once"),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status="leased"),
                name="ann_assignment_open_lease",
            ),
            models.Index(fields=["rater", "status"], name="ann_assignment_rater"),
        ]

    def __str__(self) -> str:
        return f"{self.item} -> {self.rater} ({self.status})"


class Annotation(models.Model):
    # The assignment is the key: one annotation per assignment, and a label row points at it
    # without another join.
    assignment = models.OneToOneField(
        Assignment, primary_key=True, on_delete=models.CASCADE, related_name="annotation"
    )
    time_ms = models.PositiveIntegerField(_("time on item (ms)"), null=True, blank=True)
    comment = models.TextField(blank=True)
    evidence = models.TextField(blank=True)
    ratings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"annotation {self.pk}"


class LabelRole(models.TextChoices):
    PRIMARY = "primary", _("Primary")
    SECONDARY = "secondary", _("Secondary")
    # One of several equal labels of a multi-label schema (the vote table calls it primary).
    LABEL = "label", _("Label")


class AnnotationLabel(models.Model):
    # The unique (annotation, category) constraint indexes the annotation; categories are few
    # and only deleted while unused, so their key goes without an index of its own.
    annotation = models.ForeignKey(
        Annotation, on_delete=models.CASCADE, related_name="labels", db_index=False
    )
    category = models.ForeignKey(
        Category, on_delete=models.RESTRICT, related_name="+", db_index=False
    )
    role = models.CharField(max_length=10, choices=LabelRole.choices, default=LabelRole.PRIMARY)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "category"], name="annotation_label_once"
            ),
            models.UniqueConstraint(
                fields=["annotation"],
                condition=Q(role="primary"),
                name="annotation_label_one_primary",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category_id} ({self.role})"


class ImportedRating(models.Model):
    """A label given outside Chorus and imported from CSV: one row per (item, rater, label).

    Kept flat (no lease, no answer row) so that a million of them load with one binary COPY
    (``services.ratings_import``). They count like answers given here: toward the item's k
    slots (non-gold items), in the vote table, progress, quality figures, agreement and
    adjudication, and a rater never receives an item they have an imported rating for. The
    key (item, rater, category) makes a label unique per rater and item and serves lookups
    by item and by (item, rater).

    The foreign keys carry no database constraint: a trigger check per row would cost more
    than the load itself, and dropping and re-adding the constraints around a load locks the
    users and items tables (ACCESS EXCLUSIVE) for its whole duration, pausing every page. The
    importer resolves every id inside its transaction and locks the rows it points at until
    commit; deletions go through the ORM, which cascades (items) or refuses (raters:
    ``services.rater_erase`` deletes a rater with their slots given back).
    """

    pk = models.CompositePrimaryKey("item_id", "rater_id", "category_id")
    item = models.ForeignKey(
        Item,
        on_delete=models.CASCADE,
        related_name="imported_ratings",
        db_index=False,
        db_constraint=False,
    )
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # A category is deleted only with its project, whose items take these rows with them: the
    # codebook never removes one (``services.categories_update``) and the admin cannot either.
    # RESTRICT here would make every project deletion re-read these rows by their composite
    # key, one row comparison each, which PostgreSQL cannot even parse for a few thousand.
    category = models.ForeignKey(
        Category,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    role = models.CharField(max_length=10, choices=LabelRole.choices, default=LabelRole.PRIMARY)
    created_at = models.DateTimeField()
    time_ms = models.PositiveIntegerField(_("time on item (ms)"), null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.item_id}/{self.rater_id}: {self.category_id} ({self.role})"


class Exclusion(models.Model):
    """An annotator's labels left out of the vote table; lifting it keeps the row and reason."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exclusions")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "rater"],
                condition=Q(active=True),
                name="annotation_exclusion_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"exclusion of {self.rater_id} ({'active' if self.active else 'lifted'})"


class Adjudication(models.Model):
    """A final label decided by an adjudicator. Every decision is kept; the latest counts."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="adjudications")
    # [{"category": "<key>", "role": "primary" | "secondary"}, ...]
    labels = models.JSONField(default=list)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The ratings the decision was made on: assignment ids and their labels, as seen.
    basis = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"adjudication of {self.item_id}"
