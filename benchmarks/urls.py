from django.urls import path

from benchmarks import views

app_name = "benchmarks"
urlpatterns = [
    path("studies/<int:study_id>/datasets/", views.dataset_list_view, name="dataset_list"),
    path("datasets/<int:dataset_id>/", views.dataset_detail, name="dataset_detail"),
    path("datasets/<int:dataset_id>/sources/", views.source_upload, name="source_upload"),
    path("datasets/<int:dataset_id>/sources/link/", views.source_link, name="source_link"),
    path("datasets/<int:dataset_id>/build/", views.version_build_view, name="version_build"),
    path(
        "datasets/<int:dataset_id>/versions/<int:number>/",
        views.version_detail,
        name="version_detail",
    ),
    path(
        "datasets/<int:dataset_id>/versions/<int:number>/items/",
        views.version_items_view,
        name="version_items",
    ),
    path(
        "datasets/<int:dataset_id>/versions/<int:number>/media/<str:name>",
        views.version_media,
        name="version_media",
    ),
    path(
        "datasets/<int:dataset_id>/versions/<int:number>/diff/<int:other>/",
        views.version_diff_view,
        name="version_diff",
    ),
    path(
        "datasets/<int:dataset_id>/versions/<int:number>/export/",
        views.version_export_view,
        name="version_export",
    ),
    path(
        "datasets/<int:dataset_id>/versions/<int:number>/exports/<uuid:job_id>/download/",
        views.export_download,
        name="export_download",
    ),
]
