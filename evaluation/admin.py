from django.contrib import admin

from evaluation.models import ModelEndpoint, ReferenceScore, Run


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    """Runs are scored by the services; the admin shows them."""

    list_display = ["name", "dataset", "version", "kind", "status", "created_at"]
    list_select_related = ["dataset", "version"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Run._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "study", "url", "model", "max_concurrency"]
    exclude = ["api_key_encrypted"]


@admin.register(ReferenceScore)
class ReferenceScoreAdmin(admin.ModelAdmin):
    list_display = ["dataset", "metric", "value", "source", "updated_at"]
