from django.apps import AppConfig


class LprConfig(AppConfig):
    name = "lpr"
