from django.contrib import admin, messages
from django.db import transaction

from jobs.models import Job
from jobs.services import job_create
from jobs.tasks import job_selftest


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "status", "progress", "message", "created_by", "created_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Job._meta.fields]
    actions = ["start_selftest"]

    @admin.action(description="Start a diagnostic job (checks that a worker runs jobs)")
    def start_selftest(self, request, queryset):
        job = job_create(kind="selftest", user=request.user)
        transaction.on_commit(lambda: job_selftest.delay(str(job.id)))
        messages.info(request, f"Started diagnostic job {job.id}.")
