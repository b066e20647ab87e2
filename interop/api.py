"""REST API: start an import of another tool's export and follow it (same rights as the page)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.access import access_study
from config.api import StrictSerializer
from interop.access import access_import
from interop.models import LabelImport, Tool
from interop.services import label_import_start
from jobs.api import JobDetailOutput


class LabelImportInput(StrictSerializer):
    study = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    tool = serializers.ChoiceField(choices=Tool.choices)
    name = serializers.CharField(max_length=200)
    field = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    file = serializers.FileField()


class LabelImportOutput(serializers.ModelSerializer):
    job = JobDetailOutput(read_only=True)

    class Meta:
        model = LabelImport
        fields = [
            "id", "study", "tool", "name", "field", "source_name", "project", "summary",
            "created_at", "job",
        ]  # fmt: skip


@extend_schema(
    request={"multipart/form-data": LabelImportInput},
    responses={202: LabelImportOutput},
)
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
def import_create_api(request):
    """Upload a Label Studio, doccano, Argilla, POTATO or Prodigy export; it is imported by a
    job into a new annotation project of the study. Follow ``job`` until it ends; a file that
    cannot be read whole fails the job with a message naming the record, and nothing is made."""
    data = LabelImportInput(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    study = access_study(user=request.user, study_id=v["study"])
    label_import = label_import_start(
        study=study, user=request.user, tool=v["tool"], name=v["name"], field=v["field"],
        upload=v["file"],
    )  # fmt: skip
    label_import.refresh_from_db()
    return Response(LabelImportOutput(label_import).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses=LabelImportOutput)
@api_view(["GET"])
def import_detail_api(request, import_id: int):
    label_import = access_import(user=request.user, import_id=import_id)
    return Response(LabelImportOutput(label_import).data)
