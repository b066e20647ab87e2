from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from jobs.access import access_job
from jobs.models import Job


class JobOutputSerializer(serializers.ModelSerializer):
    result_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "progress", "message", "result",
            "result_url", "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_result_url(self, job: Job) -> str | None:
        if not job.result_file:
            return None
        return reverse("jobs:download", kwargs={"job_id": job.id})


@extend_schema(responses=JobOutputSerializer)
@api_view(["GET"])
def job_detail_api(request, job_id):
    job = access_job(user=request.user, job_id=job_id)
    return Response(JobOutputSerializer(job).data)
