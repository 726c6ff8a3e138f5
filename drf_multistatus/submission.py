"""Submitting a batch as a background job (``Prefer: respond-async``): its request and items are
stored, in chunks, and the job is enqueued once that commits; the answer is 202 with the job's
URL. A worker runs it (``worker.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import router, transaction
from rest_framework import status
from rest_framework.response import Response

from .jobs import RUNNING, job_state, job_url
from .models import BulkJob, BulkJobChunk
from .preferences import RESPOND_ASYNC
from .settings import multistatus_settings
from .tasks import enqueue
from .worker import JOB_REQUEST_HEADERS

if TYPE_CHECKING:
    from .operations import Operation


def submit(view: Any, operation: Operation, applied: list[str]) -> Response:
    """Store ``operation``'s request as a job and answer 202; ``applied``: the preferences the
    job will apply, besides ``respond-async``."""
    request = view.request
    meta = request.META
    items = operation.items
    user = request.user
    authenticated = user is not None and user.is_authenticated
    size = multistatus_settings.JOB_CHUNK_SIZE
    database = router.db_for_write(BulkJob)
    with transaction.atomic(using=database):
        job = BulkJob.objects.using(database).create(
            owner=user if authenticated else None,
            anonymous=not authenticated,
            method=request.method,
            base_uri=request.build_absolute_uri("/").rstrip("/"),
            path=request.get_full_path(),
            headers={name: value for name in JOB_REQUEST_HEADERS if (value := meta.get(name))},
            operation=f"{type(operation).__module__}.{type(operation).__qualname__}",
            options=operation.options(),
            atomic=view.is_atomic_batch(request),
            minimal=view.is_minimal(request),
            total=len(items),
        )
        BulkJobChunk.objects.using(database).bulk_create(
            BulkJobChunk(job=job, start=start, items=list(items[start : start + size]))
            for start in range(0, len(items), size)
        )
        transaction.on_commit(lambda: enqueue(job.pk), using=database)
    url = job_url(request, job)
    headers = {
        "Location": url,
        "Preference-Applied": ", ".join([RESPOND_ASYNC, *applied]),
        **RUNNING,
    }
    return Response(job_state(job, url), status=status.HTTP_202_ACCEPTED, headers=headers)
