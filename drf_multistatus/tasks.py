"""The background task that runs bulk jobs, on Django's task framework (``django.tasks``; the
``django-tasks`` backport before Django 6), so the project's ``TASKS`` setting picks the backend:
the database (``django-tasks-db``, ``manage.py db_worker``), RQ on Redis, or any other."""

from __future__ import annotations

from typing import Any

try:
    from django.tasks import task
except ImportError:  # Django 5.2
    from django_tasks import task  # type: ignore[no-redef]


@task()
def run_bulk_job(job_id: str) -> None:
    from .background import run_job

    run_job(job_id)


def enqueue(job_id: Any) -> None:
    run_bulk_job.enqueue(str(job_id))
