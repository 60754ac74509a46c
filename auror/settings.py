"""Auror settings. Everything comes from the environment; bad values fail loudly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from auror import embedded
from auror.env import envbool, envint, envlist, envsecret, envstr

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", False)
TESTING = envbool("AUROR_TESTING", False)
# Development means a laptop or a demo: only then may a secret fall back to a default.
DEVELOPMENT = envbool("AUROR_DEVELOPMENT", DEBUG or TESTING)

SECRET_KEY = envsecret("SECRET_KEY", default="dev-only-insecure-key" if DEVELOPMENT else None)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
# Absolute links (invitations, emails): SITE_URL when set, else the address this process was told
# to listen on (AUROR_BIND, which `make run` sets from PORT); never a fixed port.
SITE_URL = envstr("SITE_URL", "") or "http://" + envstr("AUROR_BIND", "127.0.0.1:8000").replace("0.0.0.0:", "localhost:")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not a CDN
    "django_filters",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "mozilla_django_oidc",
    "guardian",
    "django_celery_beat",
    "auror",
    "accounts",
    "guardrails",
    "audit",
    "events",
    "evidence",
    "profiles",
    "matching",
    "sharing",
    "lpr",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "auror.rls.RowLevelSecurityMiddleware",
    "auror.middleware.NulCharacterGuard",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
    "auror.timezones.ViewerTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auror.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "auror.urls"
WSGI_APPLICATION = "auror.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "auror.context_processors.navigation",
                "auror.context_processors.viewer_timezone",
            ],
            "builtins": ["auror.templatetags.money"],
        },
    }
]

# Amounts on every page (auror.templatetags.money): one currency per deployment.
CURRENCY_SYMBOL = envstr("AUROR_CURRENCY_SYMBOL", "NZ$")

# --- Database: DATABASE_URL, or the embedded PostgreSQL when unset -------------------------------
DATABASE_URL = envstr("DATABASE_URL") or embedded.database_url()
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Row-level security (auror.rls): requests and jobs run as this role, which owns nothing and so is
# held to the policies; off only to measure what the backstop costs.
AUROR_RLS = envbool("AUROR_RLS", True)
AUROR_DB_APP_ROLE = envstr("AUROR_DB_APP_ROLE", "auror_app")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker: REDIS_URL (or CELERY_BROKER_URL), or the embedded Redis when unset --------------------
# The test suite takes its own database number on the embedded Redis, so a `make run` beside it
# never picks up a test's jobs (nor the tests a demo's).
REDIS_URL = envstr("REDIS_URL") or envstr("CELERY_BROKER_URL") or embedded.redis_url(db=1 if TESTING else 0)
try:
    CELERY_BROKER_URL, _CACHE_LOCATION = embedded.redis_locations(REDIS_URL)
except ValueError as exc:
    raise ImproperlyConfigured(f"REDIS_URL: {exc}") from exc
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longest job (a bulk import of 100,000 events, a full rematch) is well under an hour.
# A job running longer than this is handed to another worker as if its worker had died.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# A heartbeat through the queue: /healthz shows when a worker last finished a job.
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "auror.tasks.heartbeat_scheduled", "schedule": envint("HEARTBEAT_SECONDS", 60, minimum=5)},
    # Thumbnails and poster frames whose job was lost are enqueued again.
    "evidence-derivatives-sweep": {"task": "evidence.derivatives_sweep", "schedule": 15 * 60},
    # Pending or stale link suggestions whose job was lost are picked up again.
    "matching-sweep": {"task": "matching.sweep_stale", "schedule": 10 * 60},
    # Hub keys (values shared by many people) recounted: searches skip them without reading their rows.
    "matching-hubs": {"task": "matching.refresh_hubs", "schedule": 24 * 3600},
    # Harm scores decay with time since a profile was last seen.
    "profiles-refresh": {"task": "profiles.refresh_all", "schedule": 24 * 3600},
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _CACHE_LOCATION,
    }
}

# --- Identity -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.EmailBackend",
    "accounts.oidc.OrganisationOIDCBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# --- HTTPS: on outside development (a laptop's `make run` and the tests speak plain http) -----------
# Every page is redirected to https, except /healthz: load balancers and `make run`'s readiness
# wait poll it over plain http from inside the network.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEVELOPMENT)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# A year of HSTS, subdomains included, preload-ready; shorten SECURE_HSTS_SECONDS while first
# rolling out HTTPS (browsers remember it for that long).
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEVELOPMENT else 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEVELOPMENT)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEVELOPMENT)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto and X-Forwarded-For (and drops any a
# client sent): believe them, so a request that came in over https is not redirected again, and the
# audit log records the client's address. Off by default: a client could forge them. (gunicorn's
# FORWARDED_ALLOW_IPS does the same for the scheme at the WSGI level, as docker-compose sets it.)
TRUST_PROXY_HEADERS = envbool("TRUST_PROXY_HEADERS", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_PROXY_HEADERS else None
TRUST_X_FORWARDED_FOR = TRUST_PROXY_HEADERS

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEVELOPMENT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 12 * 3600, minimum=300)
# Idle timeouts, seconds: 30 minutes for police and admins, longer for staff on a shop floor.
IDLE_TIMEOUT_PRIVILEGED = envint("IDLE_TIMEOUT_PRIVILEGED", 30 * 60, minimum=60)
IDLE_TIMEOUT_DEFAULT = envint("IDLE_TIMEOUT_DEFAULT", 4 * 3600, minimum=60)
LOCKOUT_THRESHOLD = envint("LOCKOUT_THRESHOLD", 5, minimum=1)
LOCKOUT_DURATION = timedelta(seconds=envint("LOCKOUT_SECONDS", 15 * 60, minimum=1))
OTP_TOTP_ISSUER = "Auror"
# One throttle for passwords and codes alike: the account lockout above (accounts.backends).
# django-otp's own per-device back-off would refuse a right code seconds after a wrong one.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None
# Invitations to new users. On a laptop they are printed to the console; in production, SMTP.
EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEVELOPMENT
                       else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Auror <no-reply@auror.invalid>")

# mozilla-django-oidc: per-organisation provider settings are read from accounts.OIDCProvider.
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_RP_CLIENT_ID = "per-organisation"
OIDC_RP_CLIENT_SECRET = "per-organisation"
OIDC_OP_AUTHORIZATION_ENDPOINT = "per-organisation"
OIDC_OP_TOKEN_ENDPOINT = "per-organisation"
OIDC_OP_USER_ENDPOINT = "per-organisation"
OIDC_CREATE_USER = False
OIDC_VERIFY_SSL = envbool("OIDC_VERIFY_SSL", True)
OIDC_USE_PKCE = True
OIDC_TIMEOUT = envint("OIDC_TIMEOUT", 10, minimum=1)

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON with auror.jsonlimits applied (depth, NUL); then forms and multipart, as DRF's default.
    "DEFAULT_PARSER_CLASSES": [
        "auror.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "auror.rest.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "auror.rest.problem_details_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Auror API",
    "DESCRIPTION": "Retail-crime intelligence: events, evidence, profiles, sharing, LPR.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The browsable docs' JavaScript and CSS come from our own static files (drf-spectacular-sidecar).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "auror.openapi.problem_responses"],
}

# --- Storage ------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Development and tests serve static files from the source folders (no collectstatic needed, and
# no "No directory at staticfiles" warning); production serves what collectstatic gathered.
WHITENOISE_USE_FINDERS = DEVELOPMENT
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(embedded.DATA_DIR / "media")))
# Object storage (STORAGE_BACKEND=storages.backends.s3.S3Storage, `pip install .[s3]`): django-storages
# reads these two; boto3 takes AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment itself.
AWS_STORAGE_BUCKET_NAME = envstr("AWS_STORAGE_BUCKET_NAME") or None
AWS_S3_ENDPOINT_URL = envstr("AWS_S3_ENDPOINT_URL") or None
STORAGES = {
    "default": {"BACKEND": envstr("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Evidence locker (evidence/) -----------------------------------------------------------------
# Envelope encryption: per-organisation data keys wrapped by this master key (base64 of 32 bytes).
# Required in production; development and tests derive one from SECRET_KEY when it is unset.
EVIDENCE_MASTER_KEY = envsecret("EVIDENCE_MASTER_KEY", default="" if DEVELOPMENT else None)
EVIDENCE_MASTER_KEY_ID = envstr("EVIDENCE_MASTER_KEY_ID", "k1")
EVIDENCE_RETIRED_MASTER_KEYS = envlist("EVIDENCE_RETIRED_MASTER_KEYS", [])  # "id:base64,..."
EVIDENCE_MAX_BYTES = {
    "image": envint("EVIDENCE_MAX_IMAGE_BYTES", 25 * 1024 * 1024, minimum=1),
    "video": envint("EVIDENCE_MAX_VIDEO_BYTES", 500 * 1024 * 1024, minimum=1),
    "document": envint("EVIDENCE_MAX_DOCUMENT_BYTES", 50 * 1024 * 1024, minimum=1),
}
EVIDENCE_MAX_IMAGE_PIXELS = envint("EVIDENCE_MAX_IMAGE_PIXELS", 60_000_000, minimum=1)
EVIDENCE_MAX_FILES_PER_REQUEST = envint("EVIDENCE_MAX_FILES_PER_REQUEST", 20, minimum=1)
EVIDENCE_SEGMENT_SIZE = envint("EVIDENCE_SEGMENT_SIZE", 64 * 1024, minimum=1024)
# Downloads up to this size are decrypted and hashed completely before the first byte is sent.
EVIDENCE_VERIFY_FIRST_MAX_BYTES = envint("EVIDENCE_VERIFY_FIRST_MAX_BYTES", 200 * 1024 * 1024, minimum=0)
# Uploads: small files in memory, the rest streamed to a temporary file in chunks.
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = envint("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=0)
# Connect the Dots across retailers: how long an approved disclosure request shows the one event
# (the approving investigator may choose a shorter time, never longer than a year).
DISCLOSURE_EXPIRY_DAYS = envint("DISCLOSURE_EXPIRY_DAYS", 90, minimum=1)

LANGUAGE_CODE = "en-nz"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"one_line_refusals": {"()": "auror.log_filters.OneLineRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["one_line_refusals"]}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}
