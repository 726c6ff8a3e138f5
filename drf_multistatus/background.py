"""Background jobs: a bulk request sent with ``Prefer: respond-async`` is stored, answered 202 at
once, and run by a worker of Django's task framework, chunk by chunk.

Each chunk of a non-atomic job commits together with its results and the job's progress, so a
worker killed mid-job loses at most the chunk in flight, and the job resumes from the last
committed chunk: no item applied twice, none lost. A job whose worker died is noticed by its
heartbeat (older than ``JOB_STALE_AFTER`` seconds while running) when its resource is read, or by
``manage.py resume_bulk_jobs``, and enqueued again. A job that raises outside its items (which
answer for their own exceptions) ends ``failed``, its unrun items 500, rather than being resumed
into the same error again. An atomic job runs in one transaction, as the synchronous request
would.
"""

from __future__ import annotations

import datetime
import io
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.wsgi import WSGIRequest
from django.db import models, router, transaction
from django.db.models import F
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework import serializers, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import ForcedAuthentication
from rest_framework.response import Response
from rest_framework.reverse import reverse

from .batch import Batch
from .exceptions import FailedDependency, error_dict
from .idempotency import dump_result, load_result
from .models import BulkJob, BulkJobChunk
from .preferences import RESPOND_ASYNC
from .results import ItemResult, MultiStatus
from .settings import PROPSTAT_STYLE, multistatus_settings
from .signals import bulk_job_finished, bulk_job_started

if TYPE_CHECKING:
    from .operations import Operation

logger = logging.getLogger("drf_multistatus")

#: Request headers a job keeps, to replay its request as it came.
KEPT_HEADERS = ("HTTP_PREFER", "HTTP_ACCEPT_LANGUAGE")
CANCELLED = ErrorDetail("Not run: the job was cancelled before this item's turn.", "cancelled")
JOB_FAILED = ErrorDetail(
    "Not run: the job stopped on an unexpected server error before this item's turn.", "job_failed"
)


# Submitting -------------------------------------------------------------------------------------


def submit(view: Any, operation: Operation, applied: list[str]) -> Response:
    """Store the request as a job, its items in chunks; enqueue it once this transaction
    commits; answer 202 with the job's URL."""
    from .tasks import enqueue

    request = view.request
    items = operation.items
    user = request.user
    size = multistatus_settings.JOB_CHUNK_SIZE
    database = router.db_for_write(BulkJob)
    with transaction.atomic(using=database):
        job = BulkJob.objects.using(database).create(
            owner=user if user is not None and user.is_authenticated else None,
            method=request.method,
            base_uri=request.build_absolute_uri("/").rstrip("/"),
            path=request.get_full_path(),
            headers={name: request.META[name] for name in KEPT_HEADERS if name in request.META},
            operation=f"{type(operation).__module__}.{type(operation).__qualname__}",
            options=operation.options(),
            atomic=view.is_atomic_batch(request),
            minimal="return=minimal" in applied,
            total=len(items),
        )
        BulkJobChunk.objects.using(database).bulk_create(
            BulkJobChunk(job=job, start=start, items=list(items[start : start + size]))
            for start in range(0, len(items), size)
        )
        transaction.on_commit(lambda: enqueue(job.pk), using=database)
    url = job_url(request, job)
    headers = {"Location": url, "Preference-Applied": ", ".join([RESPOND_ASYNC, *applied])}
    return Response(job_state(job, url), status=status.HTTP_202_ACCEPTED, headers=headers)


def job_url(request: Any, job: BulkJob) -> str:
    namespace = getattr(getattr(request, "resolver_match", None), "namespace", "")
    name = f"{namespace}:bulk-job-detail" if namespace else "bulk-job-detail"
    return reverse(name, kwargs={"pk": str(job.pk)}, request=request)


class BulkJobSerializer(serializers.ModelSerializer):
    """A job's state: how many of its items are done, and their statuses so far."""

    by_status = serializers.SerializerMethodField()

    class Meta:
        model = BulkJob
        fields = ["id", "state", "total", "done", "by_status", "atomic", "created", "started"]
        fields += ["finished"]

    def get_by_status(self, job: BulkJob) -> dict[str, int]:
        return {code: job.counts[code] for code in sorted(job.counts)}


def job_state(job: BulkJob, url: str | None = None) -> dict[str, Any]:
    state = dict(BulkJobSerializer(job).data)
    if url:
        state["href"] = url
    return state


# Running ----------------------------------------------------------------------------------------


def run_job(job_id: str) -> None:
    """Run (or resume) a job: every chunk not yet committed, in order.

    On an error outside the items the job ends ``failed``, its unrun items 500. Where even that
    cannot be written (the database went away), the error propagates and the job stays
    ``running``, to be resumed once its heartbeat is stale."""
    try:
        view = run_chunks(job_id)
    except Exception:
        logger.exception("bulk job %s failed", job_id)
        finish(job_id, None, failed=True)
    else:
        finish(job_id, view)


def run_chunks(job_id: str) -> Any:
    """Run the chunks of a job not yet run; return the view that ran them."""
    job = BulkJob.objects.filter(pk=job_id).first()
    if job is None or job.ended:
        return None
    now = timezone.now()
    first_start = job.started is None
    BulkJob.objects.filter(pk=job.pk).update(
        state=BulkJob.RUNNING, started=job.started or now, heartbeat=now
    )
    job.refresh_from_db()
    if first_start:
        logger.info("bulk job %s started: %s %s, %d items", job.pk, job.method, job.path, job.total)
        bulk_job_started.send(sender=BulkJob, job=job)
    view, refused = replay_view(job)
    if job.atomic:
        run_atomic(job, view, refused)
    else:
        seen: dict[Any, int] = {}  # the targets earlier chunks named: a later one is 409
        for chunk_id, start in job.chunks.values_list("pk", "start"):
            if BulkJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
                break
            items = run_chunk(job, view, refused, chunk_id, seen)
            operation_for(view, job, items, start, seen).remember_targets(seen)
    return view


def operation_for(view: Any, job: BulkJob, items: list[Any], start: int, seen: dict) -> Operation:
    operation = import_string(job.operation)(view, items, **job.options)
    operation.offset = start
    operation.seen = seen
    return operation


def run_chunk(
    job: BulkJob, view: Any, refused: Exception | None, chunk_id: int, seen: dict
) -> list[Any]:
    """Run a chunk not yet run, committing its results with the job's progress; return its
    items."""
    database = router.db_for_write(BulkJobChunk)
    with transaction.atomic(using=database):
        # Takes the chunk's row (and on SQLite the write lock): a second runner of the same job
        # waits, then finds the chunk done and skips it.
        claimed = BulkJobChunk.objects.filter(pk=chunk_id, results__isnull=True)
        if not claimed.update(start=F("start")):
            return BulkJobChunk.objects.values_list("items", flat=True).get(pk=chunk_id)
        chunk = BulkJobChunk.objects.get(pk=chunk_id)
        results = run_items(job, view, refused, chunk.items, chunk.start, seen)
        chunk.results = [dump_result(result, job.minimal) for result in results]
        chunk.save(update_fields=["results"])
        record_progress(job.pk, results)
    return chunk.items


def run_atomic(job: BulkJob, view: Any, refused: Exception | None) -> None:
    """All items in one transaction, with the chunks' results and the progress."""
    database = router.db_for_write(BulkJobChunk)
    with transaction.atomic(using=database):
        chunks = list(job.chunks.select_for_update().filter(results__isnull=True))
        if not chunks:
            return
        items = [item for chunk in chunks for item in chunk.items]
        results = run_items(job, view, refused, items, 0, {}, atomic=True)
        for chunk in chunks:
            part = results[chunk.start : chunk.start + len(chunk.items)]
            chunk.results = [dump_result(result, job.minimal) for result in part]
            chunk.save(update_fields=["results"])
        record_progress(job.pk, results)


def run_items(
    job: BulkJob,
    view: Any,
    refused: Exception | None,
    items: list[Any],
    start: int,
    seen: dict,
    atomic: bool = False,
) -> list[ItemResult]:
    if refused is not None:  # the submitter lost the permission since: every item says so
        return [view.handle_item_exception(start + i, refused) for i in range(len(items))]
    operation = operation_for(view, job, items, start, seen)
    view.bulk_database = view.get_bulk_database()
    multistatus = Batch(view, view.bulk_database, atomic, report=False).run(operation)
    return [replace(result, index=result.index + start) for result in multistatus.results]


def record_progress(job_id: Any, results: list[ItemResult]) -> None:
    job = BulkJob.objects.select_for_update().get(pk=job_id)
    counts = Counter({code: int(n) for code, n in job.counts.items()})
    counts.update(str(result.status) for result in results)
    job.counts = dict(counts)
    job.done += len(results)
    job.heartbeat = timezone.now()
    job.save(update_fields=["counts", "done", "heartbeat"])


def finish(job_id: Any, view: Any, failed: bool = False) -> None:
    """End the job: items a cancel left unrun get 424 ``cancelled`` (500 ``job_failed`` where
    the job ``failed``); the outer status is the view's policy applied to the counts."""
    with transaction.atomic(using=router.db_for_write(BulkJob)):
        job = BulkJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.ended:
            return
        unrun = list(job.chunks.select_for_update().filter(results__isnull=True))
        code = status.HTTP_500_INTERNAL_SERVER_ERROR if failed else FailedDependency.status_code
        errors = (
            {"detail": JOB_FAILED}
            if failed
            else error_dict(FailedDependency(CANCELLED, "cancelled"))
        )
        for chunk in unrun:
            results = [
                ItemResult(index=chunk.start + i, status=code, errors=errors)
                for i in range(len(chunk.items))
            ]
            chunk.results = [dump_result(result, job.minimal) for result in results]
            chunk.save(update_fields=["results"])
            job.counts[str(code)] = job.counts.get(str(code), 0) + len(results)
        if failed:
            job.state = BulkJob.FAILED
        else:
            job.state = BulkJob.CANCELLED if unrun else BulkJob.FINISHED
        job.finished = timezone.now()
        statuses = {int(code) for code in job.counts}
        job.outer_status = view.get_outer_status(statuses) if view else status.HTTP_207_MULTI_STATUS
        job.save()
    logger.info(
        "bulk job %s %s: %d items (%s)",
        job.pk,
        job.state,
        job.total,
        ", ".join(f"{code}: {n}" for code, n in sorted(job.counts.items())) or "none",
        extra={"multistatus_job": job_state(job)},
    )
    bulk_job_finished.send(sender=BulkJob, job=job)


# The request, replayed ---------------------------------------------------------------------------


def replay_view(job: BulkJob) -> tuple[Any, Exception | None]:
    """The view of the job's request, as the submitting user, with its permissions checked:
    ``(view, None)``, or ``(view, the refusal)`` where they no longer pass."""
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
    user = (
        get_user_model()._default_manager.filter(pk=job.owner_id).first() if job.owner_id else None
    )
    http_request.user = user or AnonymousUser()
    func: Any = match.func
    view = func.cls(**getattr(func, "initkwargs", {}))
    view.action_map = getattr(func, "actions", {})
    view.args, view.kwargs = match.args, match.kwargs
    view.headers = {}
    view.format_kwarg = None
    request = view.initialize_request(http_request, *match.args, **match.kwargs)
    if user is not None:  # authenticated as the submitter, as DRF's test client forces it
        request.authenticators = (ForcedAuthentication(user, None),)
    view.request = request
    view.idempotent_request = None
    try:
        view.check_permissions(request)
    except Exception as exc:
        return view, exc
    return view, None


# Results ----------------------------------------------------------------------------------------


def load_results(job: BulkJob) -> Iterator[ItemResult]:
    """The job's results in request order, a chunk at a time."""
    for chunk_results in job.chunks.order_by("start").values_list("results", flat=True).iterator():
        yield from map(load_result, chunk_results or [])


def job_renderer_context(job: BulkJob) -> dict[str, Any]:
    """What the XML renderer needs to write an ended job's 207 as the synchronous request's: that
    request's URL (the base of the hrefs of items without a resource), its view's XML style,
    and for the propstat style the items submitted."""
    path = job.path.partition("?")[0]
    try:
        view_class = getattr(resolve(path).func, "cls", None)
    except Resolver404:  # the project's URLs changed since
        view_class = None
    style = getattr(view_class, "xml_style", None) or multistatus_settings.XML_STYLE
    context: dict[str, Any] = {"bulk_request_url": job.base_uri + path, "xml_style": style}
    if style == PROPSTAT_STYLE and not job.minimal:
        chunks = job.chunks.values_list("items", flat=True)
        context["bulk_items"] = [item for items in chunks for item in items]
    return context


def job_multistatus(job: BulkJob) -> MultiStatus:
    return MultiStatus(results=list(load_results(job)), atomic=job.atomic, minimal=job.minimal)


# Workers that died --------------------------------------------------------------------------------


def resume_if_stale(job: BulkJob) -> bool:
    """Enqueue a running job again when its heartbeat stopped: its worker died."""
    from .tasks import enqueue

    claimed = stale_jobs().filter(pk=job.pk).update(heartbeat=timezone.now())
    if claimed:
        logger.warning("bulk job %s: its worker stopped; enqueued again", job.pk)
        enqueue(job.pk)
    return bool(claimed)


def stale_jobs() -> models.QuerySet[BulkJob]:
    stale = timezone.now() - datetime.timedelta(seconds=multistatus_settings.JOB_STALE_AFTER)
    return BulkJob.objects.filter(state=BulkJob.RUNNING, heartbeat__lt=stale)
