import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auror.settings")

app = Celery("auror")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
