from django.urls import path

from interop import views

app_name = "interop"
urlpatterns = [
    path("", views.import_page, name="import"),
    path("imports/<int:import_id>/", views.import_detail, name="detail"),
    path(
        "imports/<int:import_id>/suggestions.csv",
        views.import_suggestions,
        name="suggestions",
    ),
    path("export/", views.export_project, name="export"),
]
