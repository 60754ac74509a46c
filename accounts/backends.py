"""Email + password sign-in."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = (email or username or "").strip().lower()
        if not email or password is None:
            return None
        user = User.objects.filter(email=email).select_related("organisation").first()
        if user is None:
            User().set_password(password)  # equalise timing with the found-user path
            return None
        if user.sso_only:
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
