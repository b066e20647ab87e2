"""REST API for runs, the leaderboard and the pass mark (same permissions as the pages)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from benchmarks.access import access_dataset
from config.api import StrictSerializer
from evaluation.access import access_run
from evaluation.models import ModelEndpoint, ReferenceScore, Run
from evaluation.selectors import chosen_version, leaderboard
from evaluation.services import reference_from_held_out, reference_set, run_upload
from evaluation.services.references import METRICS


class RunOutput(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number")
    headline = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id", "name", "kind", "status", "version", "n_items", "n_predicted", "n_failed",
            "tokens_in", "tokens_out", "cost", "headline", "created_at",
        ]  # fmt: skip

    def get_headline(self, run: Run) -> dict | None:
        return (run.scores or {}).get("headline")


class RunDetailOutput(RunOutput):
    class Meta(RunOutput.Meta):
        fields = [*RunOutput.Meta.fields, "scores", "message"]


class ReferenceOutput(serializers.ModelSerializer):
    class Meta:
        model = ReferenceScore
        fields = ["metric", "value", "source", "note", "updated_at"]


class PredictionsInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    version = serializers.IntegerField(required=False, min_value=1, max_value=2_147_483_647)
    file = serializers.FileField()


class ReferenceInput(StrictSerializer):
    # A field named "source" shadows DRF's Field.source attribute in the stubs only.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["set", "held_out_human"], default="set"
    )
    metric = serializers.ChoiceField(choices=list(METRICS), required=False)
    value = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)

    def validate(self, attrs):
        if attrs["source"] == "set":
            missing = [f for f in ("metric", "value") if f not in attrs]
            if missing:
                raise serializers.ValidationError(
                    {f: [_("This field is required.")] for f in missing}
                )
        return attrs


@extend_schema(request=PredictionsInput, responses=RunOutput(many=True))
@api_view(["GET", "POST"])
@parser_classes([MultiPartParser, FormParser])
def run_list_api(request, dataset_id: int):
    """The dataset's runs, best first; POST uploads a model's predictions and scores them."""
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    if request.method == "POST":
        data = PredictionsInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        run = run_upload(
            dataset=dataset,
            version=chosen_version(dataset, v.get("version")),
            user=request.user,
            name=v["name"],
            raw=v["file"].read(),
            file_name=v["file"].name,
        )
        return Response(RunDetailOutput(run).data, status=status.HTTP_201_CREATED)
    board = leaderboard(dataset=dataset)
    rows = []
    for row in board["rows"]:
        rows.append({**RunOutput(row["run"]).data, "passed": row["passed"]})
    reference = ReferenceOutput(board["reference"]).data if board["reference"] else None
    return Response({"reference": reference, "runs": rows})


@extend_schema(responses=RunDetailOutput)
@api_view(["GET"])
def run_detail_api(request, run_id: int):
    return Response(RunDetailOutput(access_run(user=request.user, run_id=run_id)).data)


@extend_schema(request=ReferenceInput, responses=ReferenceOutput)
@api_view(["PUT"])
def reference_api(request, dataset_id: int):
    """Set the pass mark: a number for a metric, or what a held-out human rater reaches."""
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    data = ReferenceInput(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    if v["source"] == "held_out_human":
        reference = reference_from_held_out(dataset=dataset, version=chosen_version(dataset, None))
    else:
        reference = reference_set(dataset=dataset, metric=v["metric"], value=v["value"])
    return Response(ReferenceOutput(reference).data)


class EndpointOutput(serializers.ModelSerializer):
    has_stored_key = serializers.SerializerMethodField()

    class Meta:
        model = ModelEndpoint
        fields = [
            "id", "name", "url", "model", "api_style", "api_key_env", "has_stored_key",
            "max_concurrency", "timeout_seconds", "max_retries", "price_input", "price_output",
        ]  # fmt: skip

    def get_has_stored_key(self, endpoint: ModelEndpoint) -> bool:
        return bool(endpoint.api_key_encrypted)


class EndpointInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    url = serializers.URLField(max_length=500)
    model = serializers.CharField(max_length=200)
    api_style = serializers.ChoiceField(choices=["chat", "completions"], default="chat")
    api_key = serializers.CharField(max_length=500, required=False, default="", write_only=True)
    api_key_env = serializers.CharField(max_length=100, required=False, default="")
    max_concurrency = serializers.IntegerField(min_value=1, max_value=64, default=4)
    timeout_seconds = serializers.FloatField(min_value=0.1, max_value=600, default=30.0)
    max_retries = serializers.IntegerField(min_value=0, max_value=10, default=3)
    price_input = serializers.FloatField(min_value=0, max_value=1e6, default=0.0)
    price_output = serializers.FloatField(min_value=0, max_value=1e6, default=0.0)


class EndpointRunInput(StrictSerializer):
    endpoint = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    version = serializers.IntegerField(required=False, min_value=1, max_value=2_147_483_647)
    name = serializers.CharField(max_length=200, required=False, default="")
    language = serializers.ChoiceField(choices=["ko", "en"], default="en")
    prompt_template = serializers.CharField(
        max_length=5000, required=False, default="", allow_blank=True
    )


@extend_schema(request=EndpointInput, responses=EndpointOutput(many=True))
@api_view(["GET", "POST"])
def endpoint_list_api(request, study_id: int):
    """The study's model endpoints; POST adds one (its key is stored encrypted)."""
    from accounts.access import access_study
    from evaluation.services.endpoints import endpoint_create

    study = access_study(user=request.user, study_id=study_id)
    if request.method == "POST":
        data = EndpointInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = endpoint_create(study=study, user=request.user, **data.validated_data)
        return Response(EndpointOutput(endpoint).data, status=status.HTTP_201_CREATED)
    endpoints = ModelEndpoint.objects.filter(study=study).order_by("name", "id")
    return Response(EndpointOutput(endpoints, many=True).data)


@extend_schema(request=EndpointRunInput, responses=RunOutput)
@api_view(["POST"])
def endpoint_run_api(request, dataset_id: int):
    """Start a run of a model endpoint on a version; poll the run (or its job) for progress."""
    from evaluation.access import access_endpoint
    from evaluation.services.endpoints import endpoint_run_start

    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    data = EndpointRunInput(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    endpoint = access_endpoint(
        user=request.user, endpoint_id=v["endpoint"], study_id=dataset.study_id
    )
    run = endpoint_run_start(
        dataset=dataset,
        version=chosen_version(dataset, v.get("version")),
        endpoint=endpoint,
        user=request.user,
        name=v["name"],
        language=v["language"],
        prompt_template=v["prompt_template"],
    )
    run.refresh_from_db()
    body = {**RunOutput(run).data, "job": str(run.job_id) if run.job_id else None}
    return Response(body, status=status.HTTP_202_ACCEPTED)
