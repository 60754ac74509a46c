from accounts.views_admin import urlpatterns  # noqa: F401

app_name = "accounts"
