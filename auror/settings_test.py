"""Settings for the test suite: the real settings, marked as testing (development defaults allowed)."""

import os

os.environ.setdefault("AUROR_TESTING", "1")

from auror.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; real hashers in production
