"""Background jobs on Django's task framework (``django.tasks``; the ``django-tasks`` backport
before Django 6), so the project's ``TASKS`` setting picks the backend: the database
(``django-tasks-db``, ``manage.py db_worker``), RQ on Redis, or any other.

Without a task framework (Django 5.2 without the backport, or a ``TASKS`` backend that cannot be
loaded), ``Prefer: respond-async`` is ignored and a system check says so.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.db import models
from django.utils import timezone

from .models import BulkJob
from .settings import multistatus_settings
from .worker import run_job

logger = logging.getLogger("drf_multistatus")


def task_decorator() -> tuple[Any, str | None]:
    """Django's ``task`` decorator, or None and why there is none."""
    try:
        from django.tasks import task
    except ImportError:  # Django 5.2
        try:
            from django_tasks import task  # type: ignore[no-redef]
        except ImportError:
            return None, "no task framework is installed (django-tasks, on Django 5.2)"
    return task, None


def run_bulk_job(job_id: str) -> None:
    """Run (or resume) the job ``job_id``."""
    run_job(job_id)


task, UNAVAILABLE = task_decorator()
if task is not None:
    try:
        run_bulk_job = task()(run_bulk_job)
    except Exception as exc:  # a TASKS backend that cannot be loaded
        UNAVAILABLE = f"the TASKS backend cannot be loaded: {exc}"


def available() -> bool:
    """Whether jobs can be enqueued: a task framework with a backend that loads."""
    return UNAVAILABLE is None


def enqueue(job_id: Any) -> None:
    run_bulk_job.enqueue(str(job_id))  # type: ignore[attr-defined]


def resume_if_stale(job: BulkJob) -> bool:
    """Enqueue a running job again when its heartbeat stopped: its worker died."""
    claimed = stale_jobs().filter(pk=job.pk).update(heartbeat=timezone.now())
    if claimed:
        logger.warning("bulk job %s: its worker stopped; enqueued again", job.pk)
        enqueue(job.pk)
    return bool(claimed)


def stale_jobs() -> models.QuerySet[BulkJob]:
    stale = timezone.now() - datetime.timedelta(seconds=multistatus_settings.JOB_STALE_AFTER)
    return BulkJob.objects.filter(state=BulkJob.RUNNING, heartbeat__lt=stale)
