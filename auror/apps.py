from django.apps import AppConfig


class AurorConfig(AppConfig):
    name = "auror"
    verbose_name = "Auror"
