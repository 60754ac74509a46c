from django.apps import AppConfig


class AurorConfig(AppConfig):
    name = "auror"
    verbose_name = "Auror"

    def ready(self):
        from auror import rls

        rls.connect_job_signals()  # every Celery job runs as the application role, in system scope
