from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import api as accounts_api
from accounts.views import favicon, healthz
from jobs import api as jobs_api

# Swagger UI runs inline scripts of its own; only its page gets a looser policy.
docs_view = csp_override({})(SpectacularSwaggerView.as_view(url_name="schema"))

api_urlpatterns: list[URLPattern | URLResolver] = [
    path("studies/", accounts_api.study_list_api, name="api-study-list"),
    path("studies/<int:study_id>/", accounts_api.study_detail_api, name="api-study-detail"),
    path(
        "studies/<int:study_id>/members/",
        accounts_api.study_members_api,
        name="api-study-members",
    ),
    path(
        "studies/<int:study_id>/members/<str:username>/",
        accounts_api.study_member_detail_api,
        name="api-study-member-detail",
    ),
    path("invitations/", accounts_api.invitation_list_api, name="api-invitations"),
    path(
        "invitations/<int:invitation_id>/accept/",
        accounts_api.invitation_accept_api,
        name="api-invitation-accept",
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        accounts_api.invitation_decline_api,
        name="api-invitation-decline",
    ),
    path("jobs/<uuid:job_id>/", jobs_api.job_detail_api, name="api-job-detail"),
    path("surveys/", include("surveys.api_urls")),
    path("annotation/", include("annotation.api_urls")),
    path("benchmarks/", include("benchmarks.api_urls")),
    path("evaluation/", include("evaluation.api_urls")),
    path("interop/", include("interop.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs_view, name="api-docs"),
]

urlpatterns = [
    path("", include("accounts.urls")),
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jobs/", include("jobs.urls")),
    path("surveys/", include("surveys.urls")),
    path("annotation/", include("annotation.urls")),
    path("benchmarks/", include("benchmarks.urls")),
    path("evaluation/", include("evaluation.urls")),
    path("interop/", include("interop.urls")),
    path("api/", include(api_urlpatterns)),
    path(settings.ADMIN_URL, admin.site.urls),
]

# Unhandled exceptions: the JSON error body under /api/, a branded page elsewhere; 503 when
# the database is unreachable (config/errors.py).
handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
