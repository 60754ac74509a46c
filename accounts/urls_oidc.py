"""The two OpenID Connect endpoints, with Auror's per-organisation views (accounts.oidc).

mozilla_django_oidc.urls is not included as a whole: its logout view would sign people out
without the audit row Auror's own sign-out writes."""

from django.urls import path

from accounts.oidc import OrganisationOIDCCallbackView, OrganisationOIDCRequestView

urlpatterns = [
    path("callback/", OrganisationOIDCCallbackView.as_view(), name="oidc_authentication_callback"),
    path("authenticate/", OrganisationOIDCRequestView.as_view(), name="oidc_authentication_init"),
]
