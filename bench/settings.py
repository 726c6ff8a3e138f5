"""Settings for the benchmark: the demo's Contact model, SQLite in memory or DATABASE_URL."""

import os

from tests.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
DRF_MULTISTATUS = {"MAX_BATCH_SIZE": None}
DATA_UPLOAD_MAX_MEMORY_SIZE = None
INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]  # noqa: F405
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
LOGGING = {"version": 1, "disable_existing_loggers": True}
if os.environ.get("DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
