from django.urls import path

from benchmarks import api

V = "datasets/<int:dataset_id>/versions/<int:number>/"

urlpatterns = [
    path("studies/<int:study_id>/datasets/", api.dataset_list_api, name="api-dataset-list"),
    path("datasets/<int:dataset_id>/", api.dataset_detail_api, name="api-dataset-detail"),
    path("datasets/<int:dataset_id>/sources/", api.source_upload_api, name="api-source-upload"),
    path("datasets/<int:dataset_id>/sources/link/", api.source_link_api, name="api-source-link"),
    path("datasets/<int:dataset_id>/build/", api.version_build_api, name="api-version-build"),
    path("datasets/<int:dataset_id>/versions/", api.version_list_api, name="api-version-list"),
    path(V, api.version_detail_api, name="api-version-detail"),
    path(V + "items/", api.version_items_api, name="api-version-items"),
    path(V + "diff/<int:other>/", api.version_diff_api, name="api-version-diff"),
    path(V + "exports/", api.version_export_api, name="api-version-export"),
    path(
        V + "exports/<uuid:job_id>/download/",
        api.export_download_api,
        name="api-export-download",
    ),
]
