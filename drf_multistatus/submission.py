"""Submitting background jobs: a batch sent with ``Prefer: respond-async``, or the items of an
ended job sent again. The job and its items are stored, in chunks, and it is enqueued once that
commits; a worker runs it (``worker.py``), and its resource answers for it (``jobs.py``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.db import router, transaction

from .bodies import unreadable
from .exceptions import BatchTooLarge, TooManyJobs
from .jobresults import StatusFilter, all_matching
from .models import BulkJob, BulkJobChunk
from .preferences import TX_ROLLBACK, prefers
from .requestid import request_id
from .settings import multistatus_settings
from .tasks import enqueue
from .worker import JOB_REQUEST_HEADERS

if TYPE_CHECKING:
    from rest_framework.request import Request

    from .operations import Operation


def submit(view: Any, operation: Operation) -> BulkJob:
    """Store ``operation``'s request as a job. Its items are stored in chunks as they are read
    (a body streamed in is never held whole); the job is enqueued once the last is stored, and
    a body that turns out unreadable or too large stores nothing."""
    request = view.request
    check_active_jobs(request)
    meta = request.META
    database = router.db_for_write(BulkJob)
    with transaction.atomic(using=database):
        job = BulkJob.objects.using(database).create(
            **owner(request),
            method=request.method,
            base_uri=request.build_absolute_uri("/").rstrip("/"),
            path=request.get_full_path(),
            headers={name: value for name in JOB_REQUEST_HEADERS if (value := meta.get(name))},
            operation=f"{type(operation).__module__}.{type(operation).__qualname__}",
            options=operation.options(),
            atomic=view.is_atomic_batch(request),
            minimal=view.is_minimal(request),
            dry_run=view.is_dry_run(request),
            request_id=view.bulk_request_id,
            total=0,
        )
        fields: dict[str, None] = {}
        for items in batched(operation.items, multistatus_settings.JOB_CHUNK_SIZE):
            store_chunk(job, items, None, database)
            fields.update(dict.fromkeys(name for item in items for name in item_fields(item)))
        job.fields = list(fields)
        job.save(update_fields=["total", "fields"])
        transaction.on_commit(lambda: enqueue(job.pk), using=database)
    return job


def retry(job: BulkJob, wanted: StatusFilter, request: Request) -> BulkJob:
    """A new job over ``job``'s items whose results match ``wanted``, each under its index
    there, run as the requesting user; enqueued once stored."""
    check_active_jobs(request)
    database = router.db_for_write(BulkJob)
    with transaction.atomic(using=database):
        again = BulkJob.objects.using(database).create(
            **owner(request),
            method=job.method,
            base_uri=job.base_uri,
            path=job.path,
            headers=job.headers,
            operation=job.operation,
            options=job.options,
            atomic=job.atomic,
            minimal=job.minimal,
            dry_run=multistatus_settings.ALLOW_DRY_RUN and prefers(request, TX_ROLLBACK),
            request_id=request_id(request),
            fields=job.fields,
            total=0,
            retry_of=job,
        )
        matches = all_matching(job, wanted)
        for pairs in batched(matches, multistatus_settings.JOB_CHUNK_SIZE):
            indexes = [result.index for result, _item in pairs]
            store_chunk(again, [item for _result, item in pairs], indexes, database)
        again.save(update_fields=["total"])
        transaction.on_commit(lambda: enqueue(again.pk), using=database)
    return again


def store_chunk(
    job: BulkJob, items: list[Any], indexes: Sequence[int] | None, database: str
) -> None:
    """Store the job's next chunk (its items are the batch's from ``job.total`` on, or, in a
    retry, those with ``indexes``). More items than ``MAX_BACKGROUND_BATCH_SIZE`` is the
    request's 413."""
    limit = multistatus_settings.MAX_BACKGROUND_BATCH_SIZE
    if limit is not None and job.total + len(items) > limit:
        raise BatchTooLarge(limit=limit)
    first = indexes[0] if indexes else job.total
    BulkJobChunk.objects.using(database).create(
        job=job, start=job.total, first_index=first, indexes=indexes, items=items
    )
    job.total += len(items)


def owner(request: Request) -> dict[str, Any]:
    user = request.user
    authenticated = user is not None and user.is_authenticated
    return {"owner": user if authenticated else None, "anonymous": not authenticated}


def check_active_jobs(request: Request) -> None:
    """429 where the requesting user (or the anonymous clients, together) has
    ``MAX_ACTIVE_JOBS`` jobs queued or running already."""
    limit = multistatus_settings.MAX_ACTIVE_JOBS
    if limit is None:
        return
    jobs = BulkJob.objects.filter(state__in=[BulkJob.QUEUED, BulkJob.RUNNING], **owner(request))
    if jobs.count() >= limit:
        raise TooManyJobs(limit=limit)


def item_fields(item: Any) -> Iterable[str]:
    """The fields an item names (none for one that is not an object, or could not be read)."""
    if isinstance(item, dict) and unreadable(item) is None:
        return item
    return ()


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
