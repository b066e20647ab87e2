from django.urls import path

from evaluation import api

urlpatterns = [
    path("datasets/<int:dataset_id>/runs/", api.run_list_api, name="api-run-list"),
    path("datasets/<int:dataset_id>/reference/", api.reference_api, name="api-reference"),
    path("runs/<int:run_id>/", api.run_detail_api, name="api-run-detail"),
    path("studies/<int:study_id>/endpoints/", api.endpoint_list_api, name="api-endpoint-list"),
    path("datasets/<int:dataset_id>/endpoint-runs/", api.endpoint_run_api, name="api-endpoint-run"),
]
