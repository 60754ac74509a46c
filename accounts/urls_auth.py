from accounts.views_auth import urlpatterns  # noqa: F401
