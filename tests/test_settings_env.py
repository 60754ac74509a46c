"""Settings come from the environment and fail loudly, naming the variable, on bad values.

The auror.env helpers are tested directly; whole-settings behaviour (production without a
SECRET_KEY, a bad DEBUG, a database URL that is not PostgreSQL) in a fresh Python process, since
settings are read once per process.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from auror.embedded import redis_locations
from auror.env import envbool, envint, envlist, envsecret, envstr
from tests.processes import ROOT

# --- helpers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("1", True), ("true", True), ("Yes", True), (" on ", True),
    ("0", False), ("false", False), ("NO", False), ("off", False), ("", False),
])
def test_envbool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("AUROR_X_FLAG", raw)
    assert envbool("AUROR_X_FLAG", not expected) is expected


def test_envbool_unset_is_the_default(monkeypatch):
    monkeypatch.delenv("AUROR_X_FLAG", raising=False)
    assert envbool("AUROR_X_FLAG", True) is True
    assert envbool("AUROR_X_FLAG", False) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "enabled"])
def test_envbool_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("AUROR_X_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match=rf"AUROR_X_FLAG must be one of .*{raw!r}"):
        envbool("AUROR_X_FLAG", False)


def test_envint_reads_integers_and_defaults_when_unset_or_empty(monkeypatch):
    monkeypatch.setenv("AUROR_X_COUNT", "42")
    assert envint("AUROR_X_COUNT", 7) == 42
    monkeypatch.setenv("AUROR_X_COUNT", "")
    assert envint("AUROR_X_COUNT", 7) == 7
    monkeypatch.delenv("AUROR_X_COUNT")
    assert envint("AUROR_X_COUNT", 7) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "3s", "0x10"])
def test_envint_refuses_a_non_integer_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("AUROR_X_COUNT", raw)
    with pytest.raises(ImproperlyConfigured, match=rf"AUROR_X_COUNT must be an integer, not {raw!r}"):
        envint("AUROR_X_COUNT", 7)


def test_envint_refuses_a_value_below_the_minimum_naming_the_variable(monkeypatch):
    monkeypatch.setenv("AUROR_X_COUNT", "59")
    with pytest.raises(ImproperlyConfigured, match="AUROR_X_COUNT must be at least 60, not 59"):
        envint("AUROR_X_COUNT", 3600, minimum=60)
    monkeypatch.setenv("AUROR_X_COUNT", "60")
    assert envint("AUROR_X_COUNT", 3600, minimum=60) == 60


def test_envstr_and_envlist(monkeypatch):
    monkeypatch.setenv("AUROR_X_HOSTS", " a.example , b.example,,c ")
    assert envlist("AUROR_X_HOSTS", ["default"]) == ["a.example", "b.example", "c"]
    monkeypatch.delenv("AUROR_X_HOSTS")
    assert envlist("AUROR_X_HOSTS", ["default"]) == ["default"]
    assert envstr("AUROR_X_HOSTS", "fallback") == "fallback"


def test_envsecret_prefers_the_file_named_by_NAME_FILE(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\n")
    monkeypatch.setenv("AUROR_X_SECRET", "from-the-variable")
    monkeypatch.setenv("AUROR_X_SECRET_FILE", str(secret))
    assert envsecret("AUROR_X_SECRET") == "from-the-file"
    monkeypatch.delenv("AUROR_X_SECRET_FILE")
    assert envsecret("AUROR_X_SECRET") == "from-the-variable"


def test_envsecret_unreadable_file_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("AUROR_X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="AUROR_X_SECRET_FILE=.* cannot be read"):
        envsecret("AUROR_X_SECRET", default="dev")


def test_envsecret_without_default_must_be_set(monkeypatch):
    monkeypatch.delenv("AUROR_X_SECRET", raising=False)
    monkeypatch.delenv("AUROR_X_SECRET_FILE", raising=False)
    with pytest.raises(ImproperlyConfigured, match=r"AUROR_X_SECRET \(or AUROR_X_SECRET_FILE\) must be set"):
        envsecret("AUROR_X_SECRET")
    assert envsecret("AUROR_X_SECRET", default="dev-only") == "dev-only"


# --- Redis URLs: Celery's and the Django cache's spelling of one server ----------------------------


def test_redis_urls_over_tcp_are_used_as_given():
    assert redis_locations("redis://127.0.0.1:6379/3") == ("redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/3")
    assert redis_locations("rediss://cache.example:6380/0")[1] == "rediss://cache.example:6380/0"


@pytest.mark.parametrize("url", ["redis+socket:///run/auror/redis.sock?virtual_host=4", "unix:///run/auror/redis.sock?db=4"])
def test_redis_unix_socket_in_either_spelling(url):
    assert redis_locations(url) == ("redis+socket:///run/auror/redis.sock?virtual_host=4",
                                    "unix:///run/auror/redis.sock?db=4")


def test_redis_unix_socket_without_a_database_is_database_0():
    assert redis_locations("redis+socket:///tmp/r.sock")[1] == "unix:///tmp/r.sock?db=0"


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/0", "amqp://guest@127.0.0.1//", "unix:///tmp/r.sock?db=x"])
def test_redis_locations_refuse_what_is_not_redis(url):
    with pytest.raises(ValueError):
        redis_locations(url)


# --- whole settings, in a fresh process --------------------------------------------------------------

PRODUCTION_KEYS = ("SECRET_KEY", "SECRET_KEY_FILE", "AUROR_DEVELOPMENT", "AUROR_TESTING", "DEBUG",
                   "DJANGO_SETTINGS_MODULE", "EVIDENCE_MASTER_KEY", "EVIDENCE_MASTER_KEY_FILE")
# Every secret production requires (README's configuration table); a new one belongs here too.
PRODUCTION_SECRETS = {
    "SECRET_KEY": "a-real-secret-from-the-vault",
    "EVIDENCE_MASTER_KEY": base64.b64encode(bytes(range(32))).decode(),
}


def load_settings(code: str = "", **env: str) -> subprocess.CompletedProcess:
    """Import auror.settings in a new interpreter with a production environment plus `env`."""
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_KEYS}
    # Services that need not run: settings only parse these.
    base.update({"DATABASE_URL": "postgresql://auror@127.0.0.1:5432/auror", "REDIS_URL": "redis://127.0.0.1:6379/0",
                 "DJANGO_SETTINGS_MODULE": "auror.settings"})
    base.update(env)
    script = "import django; django.setup()\nfrom django.conf import settings\n" + code
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=base, capture_output=True, text=True,
                          timeout=60)


def test_production_without_secret_key_fails_loudly():
    result = load_settings(**{k: v for k, v in PRODUCTION_SECRETS.items() if k != "SECRET_KEY"})
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY (or SECRET_KEY_FILE) must be set" in result.stderr


def test_production_with_a_secret_key_has_no_debug_and_secure_cookies():
    result = load_settings("print(settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.SECRET_KEY)",
                           **PRODUCTION_SECRETS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "a-real-secret-from-the-vault"]


def test_makemigrations_check_runs_without_production_secrets():
    """`manage.py makemigrations --check` reads only code and migrations: a fresh checkout runs it."""
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_KEYS}
    result = subprocess.run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout
    # Any other command still refuses to start without them.
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0 and "SECRET_KEY (or SECRET_KEY_FILE) must be set" in result.stderr


def test_development_may_run_without_a_secret_key():
    result = load_settings("print(settings.SECRET_KEY.startswith('dev-only'))", AUROR_DEVELOPMENT="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize("name, raw, message", [
    ("DEBUG", "perhaps", "DEBUG must be one of"),
    ("SESSION_COOKIE_AGE", "a day", "SESSION_COOKIE_AGE must be an integer"),
    ("CELERY_VISIBILITY_TIMEOUT", "0", "CELERY_VISIBILITY_TIMEOUT must be at least 1"),
    ("DATABASE_URL", "mysql://root@127.0.0.1/auror", "DATABASE_URL must point at PostgreSQL"),
    ("REDIS_URL", "http://127.0.0.1:6379/0", "REDIS_URL: not a Redis URL"),
])
def test_a_bad_value_stops_the_settings_naming_the_variable(name, raw, message):
    result = load_settings(**{**PRODUCTION_SECRETS, name: raw})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_no_whitenoise_warning_in_tests_without_collectstatic(client, recwarn):
    # WHITENOISE_USE_FINDERS/AUTOREFRESH: tests serve the source static files, nothing collected.
    response = client.get("/static/css/auror.css")
    assert response.status_code == 200
    assert not [w for w in recwarn if "No directory at" in str(w.message)]


@pytest.mark.parametrize(("env", "url"), [
    ({"AUROR_BIND": "127.0.0.1:8100"}, "http://127.0.0.1:8100"),  # make run PORT=8100
    ({"AUROR_BIND": "0.0.0.0:8100"}, "http://localhost:8100"),
    ({"AUROR_BIND": "0.0.0.0:8100", "SITE_URL": "https://auror.example.org"}, "https://auror.example.org"),
])
def test_absolute_links_follow_site_url_else_the_bind_address(env, url):
    """Invitation links: SITE_URL when set, otherwise the address the server listens on (issue 10:
    under `make run PORT=8100` a link said :8000)."""
    env = {"SITE_URL": "", **env}
    result = load_settings("from accounts.services import invitation_url\nfrom django.conf import settings\n"
                           "print(settings.SITE_URL)", AUROR_DEVELOPMENT="1", **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == url


def test_runall_links_where_it_listens():
    from auror.management.commands.runall import site_url_for

    assert site_url_for("127.0.0.1:8100") == "http://127.0.0.1:8100"
    assert site_url_for("0.0.0.0:9000") == "http://localhost:9000"
