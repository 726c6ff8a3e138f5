from django.apps import AppConfig


class MultiStatusConfig(AppConfig):
    name = "drf_multistatus"
    verbose_name = "DRF Multi-Status"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

        try:
            import drf_spectacular  # noqa: F401
        except ImportError:
            return
        from .contrib import spectacular  # noqa: F401  (registers the schema extension)
