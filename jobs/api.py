from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from jobs.access import access_job
from jobs.models import Job


class JobDetailOutput(serializers.ModelSerializer):
    message_display = serializers.SerializerMethodField()
    result_url = serializers.SerializerMethodField()
    stale = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "progress", "message", "message_display", "result",
            "result_url", "created_at", "started_at", "finished_at",
            "attempts", "heartbeat_at", "stale",
        ]  # fmt: skip

    def get_message_display(self, job: Job) -> str:
        """``message`` in the request's language (``Accept-Language``), for showing to people;
        ``message`` itself stays in English, for programs."""
        return job.get_message_display()

    def get_result_url(self, job: Job) -> str | None:
        if not job.result_file:
            return None
        return reverse("jobs:download", kwargs={"job_id": job.id})

    def get_stale(self, job: Job) -> bool:
        """Running, but its worker has stopped reporting (it will be restarted or failed)."""
        return job.is_stale


@extend_schema(responses=JobDetailOutput)
@api_view(["GET"])
def job_detail_api(request, job_id):
    job = access_job(user=request.user, job_id=job_id)
    return Response(JobDetailOutput(job).data)
