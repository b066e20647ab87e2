from django.urls import path

from evaluation import views

app_name = "evaluation"
urlpatterns = [
    path("datasets/<int:dataset_id>/", views.leaderboard_view, name="leaderboard"),
    path("datasets/<int:dataset_id>/reference/", views.reference_view, name="reference"),
    path("datasets/<int:dataset_id>/endpoints/", views.endpoint_create_view, name="endpoints"),
    path("datasets/<int:dataset_id>/endpoint-runs/", views.endpoint_run_view, name="endpoint_run"),
    path("runs/<int:run_id>/", views.run_detail, name="run_detail"),
]
