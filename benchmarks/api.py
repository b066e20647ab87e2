"""REST API for datasets, versions, items, diffs and exports (same permissions as the pages)."""

from __future__ import annotations

import pandas as pd
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.access import access_study
from accounts.models import User
from benchmarks import aggregation, splitting
from benchmarks.access import access_dataset, access_export, access_version
from benchmarks.downloads import export_file_response
from benchmarks.models import Dataset, DatasetSource, Version
from benchmarks.selectors import dataset_list, version_contents, version_items_page, version_list
from benchmarks.services import (
    STRATIFY_CHOICES,
    dataset_create,
    rule_labels,
    source_annotation_create,
    source_survey_create,
    source_upload_create,
    version_build_start,
    version_diff,
    version_export_start,
)
from config.api import StrictSerializer
from config.inputs import BIGINT_MAX, INT_MAX, SEED_MAX
from jobs.api import JobDetailOutput


class SourceOutput(serializers.ModelSerializer):
    class Meta:
        model = DatasetSource
        fields = [
            "id", "kind", "name", "survey_id", "question_ids", "project_id", "item_filter",
            "roles", "upload_format", "columns", "n_votes", "n_items", "created_at",
        ]  # fmt: skip


class DatasetOutput(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = [
            "id", "study", "name", "description", "categories", "rules", "parameters",
            "split_fractions", "split_seed", "split_stratify", "split_group", "created_at",
        ]  # fmt: skip


class DatasetInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    categories = serializers.ListField(child=serializers.CharField(max_length=200))
    rules = serializers.ListField(
        child=serializers.ChoiceField(choices=list(aggregation.RULES)), required=False
    )
    parameters = serializers.DictField(required=False)
    split_fractions = serializers.DictField(
        child=serializers.FloatField(min_value=0, max_value=1), required=False
    )
    split_seed = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=SEED_MAX
    )
    split_stratify = serializers.ChoiceField(
        choices=list(STRATIFY_CHOICES), required=False, default="plurality", allow_blank=True
    )
    split_group = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=100
    )


class VersionOutput(serializers.ModelSerializer):
    built_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = Version
        fields = [
            "number", "sha256", "categories", "rules", "parameters", "split_config", "sources",
            "code_version", "built_by", "built_at", "stats",
        ]  # fmt: skip


class VersionListOutput(serializers.ModelSerializer):
    built_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = Version
        fields = ["number", "sha256", "code_version", "built_by", "built_at"]


class UploadInput(StrictSerializer):
    file = serializers.FileField()
    items = serializers.FileField(
        required=False,
        help_text="Optional items file (CSV, JSONL or Parquet): item, text or question, "
        "options, option_texts_<lang>, answer_key, subject, gold, meta.<name>.",
    )
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class LinkInput(StrictSerializer):
    kind = serializers.ChoiceField(choices=["survey", "annotation"])
    survey_id = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    question_ids = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list
    )
    project_id = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    item_filter = serializers.DictField(required=False, default=dict)
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=["primary", "secondary"]),
        required=False,
        default=list,
    )
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    def validate(self, attrs):
        needed = "survey_id" if attrs["kind"] == "survey" else "project_id"
        if needed not in attrs:
            raise serializers.ValidationError({needed: [_("This field is required.")]})
        return attrs


@extend_schema(request=DatasetInput, responses=DatasetOutput(many=True))
@api_view(["GET", "POST"])
def dataset_list_api(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    if request.method == "POST":
        data = DatasetInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.setdefault("split_fractions", dict(splitting.DEFAULT_FRACTIONS))
        with transaction.atomic():
            dataset = dataset_create(study=study, user=request.user, **values)
        return Response(DatasetOutput(dataset).data, status=status.HTTP_201_CREATED)
    return Response(DatasetOutput(dataset_list(study=study), many=True).data)


@extend_schema(responses=DatasetOutput)
@api_view(["GET"])
def dataset_detail_api(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    data = DatasetOutput(dataset).data
    data["sources"] = SourceOutput(dataset.sources.all(), many=True).data
    return Response(data)


@extend_schema(request=UploadInput, responses=SourceOutput)
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
def source_upload_api(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    data = UploadInput(data=request.data)
    data.is_valid(raise_exception=True)
    upload = data.validated_data["file"]
    items = data.validated_data.get("items")
    source = source_upload_create(
        dataset=dataset,
        file_name=upload.name,
        content=upload.read(),
        name=data.validated_data["name"],
        items_name=items.name if items else "",
        items_content=items.read() if items else None,
    )
    return Response(SourceOutput(source).data, status=status.HTTP_201_CREATED)


@extend_schema(request=LinkInput, responses=SourceOutput)
@api_view(["POST"])
def source_link_api(request, dataset_id: int):
    """Add a survey (optionally some questions) or an annotation project (filters) as a source."""
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    data = LinkInput(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    with transaction.atomic():
        if v["kind"] == "survey":
            source = source_survey_create(
                dataset=dataset,
                survey_id=v["survey_id"],
                question_ids=v["question_ids"],
                name=v["name"],
            )
        else:
            source = source_annotation_create(
                dataset=dataset,
                project_id=v["project_id"],
                item_filter=v["item_filter"],
                roles=v["roles"],
                name=v["name"],
            )
    return Response(SourceOutput(source).data, status=status.HTTP_201_CREATED)


@extend_schema(request=None, responses=JobDetailOutput)
@api_view(["POST"])
def version_build_api(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    with transaction.atomic():
        job = version_build_start(dataset=dataset, user=request.user)
    job.refresh_from_db()
    return Response(JobDetailOutput(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses=VersionListOutput(many=True))
@api_view(["GET"])
def version_list_api(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    return Response(VersionListOutput(version_list(dataset=dataset), many=True).data)


@extend_schema(responses=VersionOutput)
@api_view(["GET"])
def version_detail_api(request, dataset_id: int, number: int):
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    return Response(VersionOutput(version).data)


class ItemsQuery(StrictSerializer):
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=INT_MAX)
    split = serializers.CharField(required=False, allow_blank=True, default="")


class ItemRowOutput(serializers.Serializer):
    item = serializers.CharField()
    split = serializers.CharField()
    n_votes = serializers.IntegerField()
    entropy = serializers.FloatField(allow_null=True)
    labels = serializers.DictField(child=serializers.CharField(allow_null=True))


class ItemsPageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    results = ItemRowOutput(many=True)


@extend_schema(parameters=[ItemsQuery], responses=ItemsPageOutput)
@api_view(["GET"])
def version_items_api(request, dataset_id: int, number: int):
    """Items with their content and every rule's label side by side; ``limit``/``offset``."""
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    query = ItemsQuery(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    q = query.validated_data
    page, count = version_items_page(
        version=version, offset=q["offset"], limit=q["limit"], split=q["split"]
    )
    labels = rule_labels(page, version.rules, list(version.categories))
    # An empty page (an offset past the end) reads no content: pyarrow cannot filter on an
    # empty value set (it has no type).
    wanted = [str(i) for i in page["item"]]
    contents = version_contents(version=version, items=wanted) if wanted else None
    content = {} if contents is None else {str(r["item"]): r for r in _json_rows(contents)}
    results = [
        {
            "item": item,
            "split": page.at[idx, "split"],
            "n_votes": int(n_votes),
            "entropy": None if pd.isna(entropy) else float(entropy),
            "labels": {r: (None if pd.isna(v) else str(v)) for r, v in labels.loc[idx].items()},
            "content": content.get(str(item)),
        }
        for idx, item, n_votes, entropy in zip(
            page.index,
            page["item"],
            page["stats.n_votes"].to_numpy(),
            page["stats.entropy"].to_numpy(),
            strict=True,
        )
    ]
    return Response({"count": count, "results": results})


def _json_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows of a content table as JSON values: lists as lists, missing and NaN as null."""

    def plain(value):
        if hasattr(value, "tolist"):
            value = value.tolist()
        if isinstance(value, list):
            return [plain(v) for v in value]
        if value is None or (isinstance(value, float) and value != value):
            return None
        return value

    return [
        {k: plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")
    ]


@extend_schema(responses=dict)
@api_view(["GET"])
def version_diff_api(request, dataset_id: int, number: int, other: int):
    new = access_version(user=request.user, dataset_id=dataset_id, number=number)
    old = access_version(user=request.user, dataset_id=dataset_id, number=other)
    return Response(version_diff(old=old, new=new))


class VersionExportInput(StrictSerializer):
    format = serializers.ChoiceField(
        choices=["all", "lm-eval"],
        default="all",
        help_text="all: one zip of every format (CSV, JSONL, Parquet, Hugging Face, Croissant, "
        "and the lm-evaluation-harness task folder); lm-eval: only that task folder.",
    )
    raw = serializers.BooleanField(
        default=False,
        help_text="CSV files: leave cells starting with = + - @ tab or CR as they are (for "
        "programs); by default they get a leading ' so a spreadsheet does not run them.",
    )


@extend_schema(request=VersionExportInput, responses=JobDetailOutput)
@api_view(["POST"])
def version_export_api(request, dataset_id: int, number: int):
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    data = VersionExportInput(data=request.data)
    data.is_valid(raise_exception=True)
    with transaction.atomic():
        job = version_export_start(
            version=version,
            user=request.user,
            raw=data.validated_data["raw"],
            fmt=data.validated_data["format"],
        )
    job.refresh_from_db()
    return Response(JobDetailOutput(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses={(200, "application/zip"): bytes})
@api_view(["GET"])
def export_download_api(request, dataset_id: int, number: int, job_id):
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    job = access_export(user=request.user, version=version, job_id=job_id)
    return export_file_response(job)
