from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from accounts.access import access_study
from accounts.models import Study
from accounts.selectors import study_list
from accounts.services import study_create
from config.api import StrictSerializer


class StudyOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Study
        fields = ["id", "name", "description", "created_at"]


class StudyInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema(request=StudyInputSerializer, responses=StudyOutputSerializer(many=True))
@api_view(["GET", "POST"])
def study_list_api(request):
    if request.method == "POST":
        data = StudyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            study = study_create(user=request.user, **data.validated_data)
        return Response(StudyOutputSerializer(study).data, status=status.HTTP_201_CREATED)
    return Response(StudyOutputSerializer(study_list(user=request.user), many=True).data)


@extend_schema(responses=StudyOutputSerializer)
@api_view(["GET"])
def study_detail_api(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    return Response(StudyOutputSerializer(study).data)
