"""Datasets, their sources and their frozen versions.

A :class:`Dataset` gathers vote sources (a survey, an annotation project or an uploaded vote
table) and says how to aggregate them: the ordered categories, the rules and their parameters
and the split configuration. Building a :class:`Version` freezes all of it: the vote table (as
Parquet, voter keys pseudonymised with the dataset's own key), the aggregated wide table with
the split of every item, the items' content (text, questions and options, audio files by
content hash), the code version, who built it and when, and a SHA-256 of the content.
A version is never changed after it is built (see ``benchmarks.services``).

Exports are ``jobs.Job`` rows of kind ``benchmark_export`` whose ``params`` name the version.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

EXPORT_JOB_KIND = "benchmark_export"
BUILD_JOB_KIND = "benchmark_build"


def new_pseudonym_key() -> bytes:
    return secrets.token_bytes(32)


def default_rules() -> list[str]:
    return ["majority", "plurality", "all_inclusive", "soft", "dawid_skene"]


def default_parameters() -> dict:
    return {"tie_policy": "drop", "seed": 0, "epsilon": 0.0, "secondary_weight": 0.0}


def default_fractions() -> dict:
    return {"train": 0.8, "dev": 0.1, "test": 0.1}


class Dataset(models.Model):
    study = models.ForeignKey("accounts.Study", on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    categories = models.JSONField(_("categories"), default=list)
    rules = models.JSONField(_("rules"), default=default_rules)
    parameters = models.JSONField(_("parameters"), default=default_parameters, blank=True)
    # Per-dataset secret: voter keys in frozen tables are HMAC-SHA256(key, voter), so the same
    # person gets unrelated pseudonyms in two datasets, and the same pseudonym in two versions.
    pseudonym_key = models.BinaryField(default=new_pseudonym_key, editable=False)
    split_fractions = models.JSONField(_("split fractions"), default=default_fractions)
    split_seed = models.BigIntegerField(_("split seed"), default=0)
    split_stratify = models.CharField(
        _("stratify splits by rule"), max_length=32, default="plurality", blank=True
    )
    split_group = models.CharField(_("group column"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="dataset_name_unique_in_study"),
        ]

    def __str__(self) -> str:
        return self.name


class SourceKind(models.TextChoices):
    SURVEY = "survey", _("Survey")
    ANNOTATION = "annotation", _("Annotation project")
    UPLOAD = "upload", _("Uploaded vote table")


class DatasetSource(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    name = models.CharField(_("name"), max_length=200, blank=True)
    # Surveys and projects live in other apps; ids keep this app independent of their schema.
    survey_id = models.PositiveBigIntegerField(null=True, blank=True)
    question_ids = models.JSONField(default=list, blank=True)
    project_id = models.PositiveBigIntegerField(null=True, blank=True)
    item_filter = models.JSONField(default=dict, blank=True)
    roles = models.JSONField(default=list, blank=True)
    upload = models.FileField(upload_to="benchmarks/uploads/%Y/%m/", blank=True)
    upload_format = models.CharField(max_length=10, blank=True)
    # Metadata columns of an uploaded table (besides item, voter, label, weight, role).
    columns = models.JSONField(default=list, blank=True)
    n_votes = models.PositiveIntegerField(default=0)
    # The vote table of an upload (item, voter, label, weight, role and its metadata columns),
    # normalised and frozen as Parquet: uploads never change, and a build reads it in one go.
    votes_file = models.FileField(upload_to="benchmarks/uploads/%Y/%m/", blank=True)
    # The item table of an upload (see sources.schema), normalised and stored as Parquet.
    items_file = models.FileField(upload_to="benchmarks/uploads/%Y/%m/", blank=True)
    n_items = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="survey", survey_id__isnull=False)
                    | models.Q(kind="annotation", project_id__isnull=False)
                    | models.Q(kind="upload")
                ),
                name="dataset_source_has_its_reference",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} {self.pk}"


class VersionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Dataset versions are immutable.")


class Version(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    votes_file = models.FileField(upload_to="benchmarks/versions/")
    items_file = models.FileField(upload_to="benchmarks/versions/")
    # The items' content as it was at build time (text, question wording and options, audio by
    # content hash); empty for versions built before items were frozen.
    contents_file = models.FileField(upload_to="benchmarks/versions/", blank=True)
    categories = models.JSONField()
    rules = models.JSONField()
    parameters = models.JSONField()
    split_config = models.JSONField()
    sources = models.JSONField()
    code_version = models.CharField(max_length=100)
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    built_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64)
    stats = models.JSONField(default=dict)

    objects = VersionQuerySet.as_manager()

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Dataset versions are immutable.")
        super().save(*args, **kwargs)
