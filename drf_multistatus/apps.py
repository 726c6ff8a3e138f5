from django.apps import AppConfig


class MultiStatusConfig(AppConfig):
    name = "drf_multistatus"
    verbose_name = "DRF Multi-Status"
