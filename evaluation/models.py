"""Model runs scored against frozen dataset versions.

A :class:`Run` is one model's answers on one version: uploaded predictions, or answers fetched
from a model endpoint by a job. Its answers are :class:`Prediction` rows, one per item (so an
endpoint run resumes where it stopped), and its scores a JSON document computed from them and
the frozen version (``evaluation.services.scoring``). A :class:`ReferenceScore` is a dataset's
pass mark. Nothing below this app imports it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

ENDPOINT_JOB_KIND = "evaluation_endpoint_run"


class ApiStyle(models.TextChoices):
    CHAT = "chat", _("Chat completions")
    COMPLETIONS = "completions", _("Completions")


class ModelEndpoint(models.Model):
    """An OpenAI-compatible endpoint. Its key is read from an environment variable, or kept
    encrypted (``evaluation.crypto``); it is never shown again."""

    study = models.ForeignKey(
        "accounts.Study", on_delete=models.CASCADE, related_name="model_endpoints"
    )
    name = models.CharField(_("name"), max_length=200)
    url = models.URLField(_("URL"), max_length=500)
    api_style = models.CharField(max_length=12, choices=ApiStyle.choices, default=ApiStyle.CHAT)
    model = models.CharField(_("model name"), max_length=200)
    api_key_env = models.CharField(_("key from environment variable"), max_length=100, blank=True)
    api_key_encrypted = models.BinaryField(blank=True, default=b"", editable=False)
    max_concurrency = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(64)]
    )
    timeout_seconds = models.FloatField(
        default=30.0, validators=[MinValueValidator(0.1), MaxValueValidator(600.0)]
    )
    max_retries = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    # Price per 1,000 tokens, for the run's cost.
    price_input = models.FloatField(default=0.0, validators=[MinValueValidator(0.0)])
    price_output = models.FloatField(default=0.0, validators=[MinValueValidator(0.0)])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="endpoint_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class RunKind(models.TextChoices):
    UPLOAD = "upload", _("Uploaded predictions")
    ENDPOINT = "endpoint", _("Model endpoint")


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Run(models.Model):
    dataset = models.ForeignKey("benchmarks.Dataset", on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey("benchmarks.Version", on_delete=models.CASCADE, related_name="runs")
    name = models.CharField(_("model"), max_length=200)
    kind = models.CharField(max_length=10, choices=RunKind.choices)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.DONE)
    endpoint = models.ForeignKey(
        ModelEndpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    language = models.CharField(max_length=8, default="en")
    prompt_template = models.TextField(blank=True)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    n_items = models.PositiveIntegerField(default=0)
    n_predicted = models.PositiveIntegerField(default=0)
    n_failed = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    cost = models.FloatField(default=0.0)
    scores = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="run_name_unique_in_version"),
        ]

    def __str__(self) -> str:
        return self.name


class Prediction(models.Model):
    """One model answer: a label, a label set, a probability per category or option, or a
    chosen option (stored in ``label``); ``error`` says why an endpoint call gave none."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="predictions")
    item = models.CharField(max_length=200)
    label = models.CharField(max_length=200, blank=True)
    labels = models.JSONField(null=True, blank=True)
    probs = models.JSONField(null=True, blank=True)
    raw = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["run", "item"]
        constraints = [
            models.UniqueConstraint(fields=["run", "item"], name="prediction_once_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.label}"


class ReferenceSource(models.TextChoices):
    SET = "set", _("A set number")
    HELD_OUT = "held_out_human", _("A held-out human rater against the others")


class ReferenceScore(models.Model):
    """A dataset's pass mark on its headline metric."""

    dataset = models.OneToOneField(
        "benchmarks.Dataset", on_delete=models.CASCADE, related_name="reference_score"
    )
    metric = models.CharField(max_length=40)
    value = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    source = models.CharField(max_length=16, choices=ReferenceSource.choices)
    note = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.metric} >= {self.value:.3f}"
