"""`manage.py check --deploy` passes with production settings: HTTPS redirect and HSTS on by
default outside development, /healthz still answered over plain http (load balancers, `make run`'s
readiness wait), proxy-aware (issue 11, finding 8)."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys

import pytest

from tests.processes import ROOT
from tests.test_settings_env import PRODUCTION_KEYS, load_settings

pytestmark = pytest.mark.timeout(180)


def production_env(**over: str) -> dict[str, str]:
    # (The browser tests' Playwright sets DJANGO_ALLOW_ASYNC_UNSAFE in this process; no deployment does.)
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_KEYS and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update({
        "DJANGO_SETTINGS_MODULE": "auror.settings",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "EVIDENCE_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "auror.example.org",
        # Only parsed by `check`: no service needs to run.
        "DATABASE_URL": "postgresql://auror@127.0.0.1:5432/auror", "REDIS_URL": "redis://127.0.0.1:6379/0",
    })
    env.update(over)
    return env


def test_check_deploy_finds_nothing_with_production_settings():
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_defaults_redirect_to_https_and_send_hsts():
    result = load_settings("print(settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, "
                           "settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD, "
                           "settings.SECURE_REDIRECT_EXEMPT, settings.SECURE_PROXY_SSL_HEADER)",
                           **{k: v for k, v in production_env().items() if k in ("SECRET_KEY", "EVIDENCE_MASTER_KEY")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True 31536000 True True ['^healthz$'] None"


def test_each_can_be_set_from_the_environment():
    result = load_settings("print(settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, "
                           "settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD, "
                           "settings.SECURE_PROXY_SSL_HEADER, settings.TRUST_X_FORWARDED_FOR)",
                           **{k: v for k, v in production_env().items() if k in ("SECRET_KEY", "EVIDENCE_MASTER_KEY")},
                           SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="3600",
                           SECURE_HSTS_INCLUDE_SUBDOMAINS="no", SECURE_HSTS_PRELOAD="0", TRUST_PROXY_HEADERS="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False 3600 False False ('HTTP_X_FORWARDED_PROTO', 'https') True"


def test_a_bad_value_names_the_variable():
    result = load_settings(**{k: v for k, v in production_env().items() if k in ("SECRET_KEY", "EVIDENCE_MASTER_KEY")},
                           SECURE_HSTS_SECONDS="a year")
    assert result.returncode != 0 and "SECURE_HSTS_SECONDS must be an integer" in result.stderr


def test_development_and_tests_keep_plain_http(settings):
    result = load_settings("print(settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS)", AUROR_DEVELOPMENT="1")
    assert result.stdout.strip() == "False 0", result.stderr
    assert settings.SECURE_SSL_REDIRECT is False and settings.SECURE_HSTS_SECONDS == 0


# --- what the redirect does, with the production values ---------------------------------------------


@pytest.fixture
def production_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    return settings


def test_plain_http_is_redirected_to_https(client, db, production_https):
    response = client.get("/accounts/login/?next=/events/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/?next=/events/"


def test_healthz_answers_over_plain_http(client, db, production_https):
    response = client.get("/healthz")
    assert response.status_code in (200, 503)  # answered (the worker may be down here), never redirected
    assert response["Content-Type"].startswith("application/json")


def test_https_answers_carry_hsts(client, db, production_https):
    response = client.get("/accounts/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_behind_a_proxy_its_https_header_is_believed_only_when_trusted(client, db, production_https):
    assert client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 301
    production_https.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200
