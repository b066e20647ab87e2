from django.urls import path

from interop import api

urlpatterns = [
    path("imports/", api.import_create_api, name="api-interop-import"),
    path("imports/<int:import_id>/", api.import_detail_api, name="api-interop-import-detail"),
]
