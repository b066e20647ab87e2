from django.contrib import admin, messages

from config.admin import readonly_without_files, stored_file
from jobs.models import Job
from jobs.services import job_start
from jobs.tasks import job_selftest


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "kind",
        "status",
        "progress",
        "attempts",
        "message",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "kind"]
    # The result file through the job's download view (it checks access), never a storage URL.
    exclude = ["result_file"]
    readonly_fields = [*readonly_without_files(Job), "result_download"]
    result_download = stored_file("result_file", "jobs:download", label="result file")
    actions = ["start_selftest"]

    @admin.action(description="Start a diagnostic job (checks that a worker runs jobs)")
    def start_selftest(self, request, queryset):
        job = job_start(kind="selftest", task=job_selftest, user=request.user)
        messages.info(request, f"Started diagnostic job {job.id}.")
