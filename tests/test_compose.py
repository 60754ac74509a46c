"""docker-compose.yml cannot run here (no Docker engine), so check that it stays a valid production
shape: the processes `make run` runs (web via gunicorn, worker, beat) from one image, on PostgreSQL,
Redis and object storage, configured only through variables the settings read."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_ROLES = ("web", "worker", "beat", "migrate")


def test_it_has_the_production_processes_and_services():
    assert {"web", "worker", "beat", "postgres", "redis", "minio"} <= set(SERVICES)
    assert SERVICES["web"]["command"][:3] == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert SERVICES["worker"]["command"][:4] == ["celery", "-A", "auror", "worker"]
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "auror", "beat"]
    assert len({SERVICES[role]["image"] for role in APP_ROLES}) == 1, "one image for every app role"
    assert (ROOT / "gunicorn.conf.py").exists() and (ROOT / "Dockerfile").exists()


def test_app_roles_wait_for_migrations_and_healthy_services():
    for role in ("web", "worker", "beat"):
        depends = SERVICES[role]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", role
        assert depends["postgres"]["condition"] == "service_healthy", role
        assert depends["redis"]["condition"] == "service_healthy", role


def test_app_environment_is_what_the_settings_read():
    settings_source = (ROOT / "auror" / "settings.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()
    read_elsewhere = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}  # boto3 reads these itself
    for role in APP_ROLES:
        env = SERVICES[role]["environment"]
        for name in env:
            base = name.removesuffix("_FILE")
            assert base in read_elsewhere or re.search(rf'"{base}"', settings_source), f"{role}: {name} is read by nothing"
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379/")
        assert "SECRET_KEY" not in env and "DEBUG" not in env and "AUROR_DEVELOPMENT" not in env
        assert {"secret_key", "evidence_master_key"} <= set(SERVICES[role]["secrets"])
    assert set(COMPOSE["secrets"]) >= {"secret_key", "evidence_master_key"}


def test_the_app_connects_as_the_application_role_and_only_migrations_as_the_owner():
    """Probe finding 10 (issue 11): the documented setup no longer runs the app as a superuser."""
    for role in ("web", "worker", "beat"):
        assert SERVICES[role]["environment"]["DATABASE_URL"].startswith("postgresql://auror_app:"), role
    assert SERVICES["migrate"]["environment"]["DATABASE_URL"].startswith("postgresql://auror:")
    pg = SERVICES["postgres"]
    assert "./deploy/postgres:/docker-entrypoint-initdb.d:ro" in pg["volumes"]
    script = (ROOT / "deploy" / "postgres" / "10-app-role.sh").read_text()
    assert "CREATE ROLE auror_app LOGIN NOSUPERUSER" in script and "NOBYPASSRLS" in script
