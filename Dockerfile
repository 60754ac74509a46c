# Production image: one image for web (gunicorn), worker and beat (see docker-compose.yml).
# Not built here (this machine has no Docker engine); the same steps run in `make run` and CI.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=auror.settings

RUN useradd --create-home --uid 10001 auror
WORKDIR /app

# Dependencies first (a layer that changes only with pyproject.toml); the [s3] extra brings boto3
# for object storage (MinIO in docker-compose, S3 in a cloud).
COPY pyproject.toml ./
RUN pip install '.[s3]'

COPY --chown=auror:auror . .
# Static files are collected at build time. Settings need a database and broker URL to load, not
# to connect, so placeholders stop the embedded servers from starting inside the build.
RUN AUROR_DEVELOPMENT=1 DATABASE_URL=postgresql://build@127.0.0.1/build REDIS_URL=redis://127.0.0.1:6379/0 \
    python manage.py collectstatic --noinput --verbosity 0

USER auror
ENV AUROR_BIND=0.0.0.0:8000 AUROR_DATA_DIR=/app/var
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "auror.wsgi:application"]
