"""Running a background job, in a worker of Django's task framework: chunk by chunk, each through
the engine loop a synchronous request runs, under the rules in force when it runs.

At the start of every chunk the job's user is read again — gone or inactive, the chunk's items are
refused (403 ``user_inactive``, nothing written) — and the permissions are checked again as the
synchronous request would check them now. Each chunk of a non-atomic job commits together with
its results and the job's progress, so a worker killed mid-job loses at most the chunk in flight,
and the job resumes from the last committed chunk: no item applied twice, none lost. A job that
raises outside its items (which answer for their own exceptions) ends ``failed``, its unrun items
500, rather than being resumed into the same error again. An atomic job runs in one transaction,
as the synchronous request would.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.wsgi import WSGIRequest
from django.db import router, transaction
from django.db.models import F
from django.urls import resolve
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework import status
from rest_framework.request import ForcedAuthentication

from . import engine
from .context import BatchContext, Key
from .exceptions import JobCancelled, JobFailed, UserInactive, error_dict
from .models import BulkJob, BulkJobChunk
from .results import ItemResult, MultiStatus, dump_result, is_success
from .signals import bulk_job_finished, bulk_job_started

logger = logging.getLogger("drf_multistatus")

#: The request headers a job keeps, to replay its request as it came.
JOB_REQUEST_HEADERS = ("HTTP_PREFER", "HTTP_ACCEPT_LANGUAGE")


def run_job(job_id: Any) -> None:
    """Run (or resume) a job: every chunk not yet committed, in order.

    On an error outside the items the job ends ``failed``, its unrun items 500. Where even that
    cannot be written (the database went away), the error propagates and the job stays
    ``running``, to be resumed once its heartbeat is stale."""
    try:
        run_chunks(job_id)
    except Exception:
        logger.exception("bulk job %s failed", job_id)
        finish(job_id, failed=True)
    else:
        finish(job_id)


def run_chunks(job_id: Any) -> None:
    job = BulkJob.objects.filter(pk=job_id).first()
    if job is None or job.ended:
        return
    now = timezone.now()
    first_start = job.started is None
    BulkJob.objects.filter(pk=job.pk).update(
        state=BulkJob.RUNNING, started=job.started or now, heartbeat=now
    )
    job.refresh_from_db()
    if first_start:
        logger.info(
            "bulk job %s started: %s %s, %d items%s",
            job.pk,
            job.method,
            job.path,
            job.total,
            " (dry run)" if job.dry_run else "",
            extra={"multistatus_job": {"id": str(job.pk), "request_id": job.request_id}},
        )
        bulk_job_started.send(sender=BulkJob, job=job)
    if job.atomic or job.dry_run:  # a dry run, too, must see every earlier item's writes
        run_atomic(job)
        return
    seen: dict[Key, int] = {}  # the targets earlier chunks named: a later item naming one is 409
    for chunk_id in job.chunks.values_list("pk", flat=True):
        if BulkJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
            break
        seen.update(run_chunk(job, chunk_id, seen))


def run_chunk(job: BulkJob, chunk_id: int, seen: Mapping[Key, int]) -> Mapping[Key, int]:
    """Run a chunk not yet run, committing its results with the job's progress; return the
    targets its items named."""
    with transaction.atomic(using=router.db_for_write(BulkJobChunk)):
        # Takes the chunk's row (and on SQLite the write lock): a second runner of the same job
        # waits, then finds the chunk done and skips it.
        claimed = BulkJobChunk.objects.filter(pk=chunk_id, results__isnull=True)
        chunk = BulkJobChunk.objects.get(pk=chunk_id)
        if not claimed.update(start=F("start")):  # run before this job was resumed
            operation, context = prepare(job, chunk, seen, replay_view(job))
            return operation.named(context)
        multistatus, named = run_items(job, chunk, seen)
        store_results(job, chunk, multistatus.results)
        record_progress(job.pk, multistatus.results)
    return named


def run_atomic(job: BulkJob) -> None:
    """All items in one transaction, with the chunks' results and the progress (a dry run's
    writes rolled back, its results kept)."""
    with transaction.atomic(using=router.db_for_write(BulkJobChunk)):
        chunks = list(job.chunks.select_for_update().filter(results__isnull=True))
        if not chunks:
            return
        whole = BulkJobChunk(
            job=job,
            start=0,
            first_index=chunks[0].first_index,
            indexes=[index for chunk in chunks for index in chunk_indexes(chunk)],
            items=[item for chunk in chunks for item in chunk.items],
        )
        multistatus, _named = run_items(job, whole, {}, atomic=job.atomic)
        for chunk in chunks:
            part = multistatus.results[chunk.start : chunk.start + len(chunk.items)]
            store_results(job, chunk, part)
        record_progress(job.pk, multistatus.results)


def run_items(
    job: BulkJob, chunk: BulkJobChunk, seen: Mapping[Key, int], atomic: bool = False
) -> tuple[MultiStatus, Mapping[Key, int]]:
    """The engine's run of a chunk's items, as the job's user now may, or every item
    refused."""
    user = job_user(job)
    view = replay_view(job, user)
    operation, context = prepare(job, chunk, seen, view, atomic)
    try:
        if user is None:
            raise UserInactive
        operation.check_permissions(view)
    except Exception as exc:
        return engine.refuse(context, exc), {}
    ran = engine.run(operation, context)
    return ran.multistatus, ran.named


def prepare(
    job: BulkJob, chunk: BulkJobChunk, seen: Mapping[Key, int], view: Any, atomic: bool = False
) -> tuple[Any, BatchContext]:
    """The job's operation over a chunk's items, and the context to run it with."""
    operation = import_string(job.operation)(view, chunk.items, **job.options)
    view.bulk_request_id = job.request_id or str(job.pk)  # a job stored before ids: its own
    context = BatchContext(
        dry_run=job.dry_run,
        request_id=view.bulk_request_id,
        view=view,
        items=chunk.items,
        database=view.get_bulk_database(),
        atomic=atomic,
        minimal=job.minimal,
        offset=chunk.first_index,
        indexes=chunk.indexes,
        seen=seen,
        report=False,
    )
    return operation, context


def chunk_indexes(chunk: BulkJobChunk) -> Sequence[int]:
    """The batch index of each of a chunk's items."""
    if chunk.indexes is not None:
        return chunk.indexes
    return range(chunk.first_index, chunk.first_index + len(chunk.items))


def store_results(job: BulkJob, chunk: BulkJobChunk, results: Sequence[ItemResult]) -> None:
    """A chunk's results, with what pages them: how many have each status, and the failures."""
    stored = [dump_result(result, job.minimal) for result in results]
    chunk.results = stored
    chunk.statuses = dict(Counter(str(result.status) for result in results))
    chunk.failures = [dumped for dumped in stored if not is_success(dumped["status"])]
    chunk.save(update_fields=["results", "statuses", "failures"])


def job_user(job: BulkJob) -> Any:
    """The job's user as the database holds it now: an ``AnonymousUser`` for a job submitted
    anonymously, None where its user was deleted or deactivated."""
    owner_id, anonymous = BulkJob.objects.values_list("owner_id", "anonymous").get(pk=job.pk)
    if owner_id is None:
        return AnonymousUser() if anonymous else None
    user = get_user_model()._default_manager.filter(pk=owner_id).first()
    return user if user is not None and getattr(user, "is_active", True) else None


def record_progress(job_id: Any, results: list[ItemResult]) -> None:
    job = BulkJob.objects.select_for_update().get(pk=job_id)
    counts = Counter({code: int(n) for code, n in job.counts.items()})
    counts.update(str(result.status) for result in results)
    job.counts = dict(counts)
    job.done += len(results)
    job.heartbeat = timezone.now()
    job.save(update_fields=["counts", "done", "heartbeat"])


def finish(job_id: Any, failed: bool = False) -> None:
    """End the job: items a cancel left unrun get 424 ``cancelled`` (500 ``job_failed`` where
    the job ``failed``); the outer status is the view's policy applied to the counts."""
    with transaction.atomic(using=router.db_for_write(BulkJob)):
        job = BulkJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.ended:
            return
        unrun = list(job.chunks.select_for_update().filter(results__isnull=True))
        reason = JobFailed() if failed else JobCancelled()
        errors = error_dict(reason)
        for chunk in unrun:
            results = [
                ItemResult(index=index, status=reason.status_code, errors=errors)
                for index in chunk_indexes(chunk)
            ]
            store_results(job, chunk, results)
            code = str(reason.status_code)
            job.counts[code] = job.counts.get(code, 0) + len(results)
        if failed:
            job.state = BulkJob.FAILED
        else:
            job.state = BulkJob.CANCELLED if unrun else BulkJob.FINISHED
        job.finished = timezone.now()
        job.outer_status = outer_status(job)
        job.save()
    by_status = ", ".join(f"{code}: {n}" for code, n in sorted(job.counts.items()))
    logger.info(
        "bulk job %s %s: %d items (%s)",
        job.pk,
        job.state,
        job.total,
        by_status or "none",
        extra={
            "multistatus_job": {
                "id": str(job.pk),
                "state": job.state,
                "total": job.total,
                "by_status": dict(sorted(job.counts.items())),
                "dry_run": job.dry_run,
                "request_id": job.request_id,
            }
        },
    )
    bulk_job_finished.send(sender=BulkJob, job=job)


def outer_status(job: BulkJob) -> int:
    """The view's outer-status policy applied to the job's counts (207 where the view is gone)."""
    statuses = {int(code) for code in job.counts}
    try:
        view = replay_view(job)
    except Exception:  # the project's URLs changed since
        return status.HTTP_207_MULTI_STATUS
    return view.get_outer_status(statuses)


def replay_view(job: BulkJob, user: Any = None) -> Any:
    """The view of the job's request, made as DRF makes it, for ``user`` (anonymous by
    default)."""
    parts = urlsplit(job.base_uri)
    path, _, query = job.path.partition("?")
    environ = {
        "REQUEST_METHOD": job.method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "wsgi.url_scheme": parts.scheme,
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
        "HTTP_HOST": parts.netloc,
        "wsgi.input": io.BytesIO(b""),
        **job.headers,
    }
    http_request = WSGIRequest(environ)
    match = resolve(path)
    http_request.resolver_match = match
    http_request.user = user or AnonymousUser()
    func: Any = match.func
    view = func.cls(**getattr(func, "initkwargs", {}))
    view.action_map = getattr(func, "actions", {})
    view.args, view.kwargs = match.args, match.kwargs
    view.headers = {}
    view.format_kwarg = None
    request = view.initialize_request(http_request, *match.args, **match.kwargs)
    if user is not None:  # authenticated as the job's user, as DRF's test client forces it
        request.authenticators = (ForcedAuthentication(user, None),)
    view.request = request
    return view
