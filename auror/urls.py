from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from auror import health

api_v1 = [
    path("", include("events.api_urls")),
    path("", include("evidence.api_urls")),
    path("", include("sharing.api_urls")),
]

urlpatterns = [
    path("", include("accounts.urls_auth")),
    path("admin/", include("accounts.urls_admin")),
    path("events/", include("events.urls")),
    path("evidence/", include("evidence.urls")),
    path("audit/", include("audit.urls")),
    path("review/", include("matching.urls")),
    path("profiles/", include("profiles.urls")),
    path("guardrails/", include("guardrails.urls")),
    path("sharing/", include("sharing.urls")),
    path("oidc/", include("accounts.urls_oidc")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
]

handler404 = "auror.rest.not_found"  # problem details under /api/
handler403 = "auror.rest.permission_denied"
handler500 = "auror.rest.server_error"  # problem details under /api/
