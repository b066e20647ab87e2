from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import api as accounts_api
from accounts.views import healthz
from jobs import api as jobs_api

# Swagger UI runs inline scripts of its own; only its page gets a looser policy.
docs_view = csp_override({})(SpectacularSwaggerView.as_view(url_name="schema"))

api_urlpatterns: list[URLPattern | URLResolver] = [
    path("studies/", accounts_api.study_list_api, name="api-study-list"),
    path("studies/<int:study_id>/", accounts_api.study_detail_api, name="api-study-detail"),
    path("jobs/<uuid:job_id>/", jobs_api.job_detail_api, name="api-job-detail"),
    path("surveys/", include("surveys.api_urls")),
    path("annotation/", include("annotation.api_urls")),
    path("benchmarks/", include("benchmarks.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs_view, name="api-docs"),
]

urlpatterns = [
    path("", include("accounts.urls")),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jobs/", include("jobs.urls")),
    path("surveys/", include("surveys.urls")),
    path("annotation/", include("annotation.urls")),
    path("benchmarks/", include("benchmarks.urls")),
    path("api/", include(api_urlpatterns)),
    path("admin/", admin.site.urls),
]
