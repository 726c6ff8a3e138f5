"""The one loop every batch runs through, a synchronous request and each chunk of a background job
alike: one transaction, the targets found, every item judged as the single-object request it
stands for — all at once where provably the same, else each in its own savepoint — atomic
rollback with 424, and one log record and ``bulk_request_finished`` signal.

What is done to each item is an :class:`~drf_multistatus.operations.Operation`'s part; this
module owns the transaction, the savepoints and the mapping of failures to results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, OperationalError, models, transaction
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated

from . import etags
from .context import BatchContext, BulkView, Key
from .exceptions import (
    FailedDependency,
    ItemServerError,
    error_dict,
    is_concurrency_failure,
    item_error,
)
from .results import ItemResult, MultiStatus
from .settings import multistatus_settings
from .signals import bulk_request_finished
from .targets import LookupRefused, Target

if TYPE_CHECKING:
    from .operations import Operation

logger = logging.getLogger("drf_multistatus")

#: Attempts more for an item the database gave up on (a deadlock), or that an operation can
#: answer better on a second look (an upsert's key a concurrent request created).
RETRIES = 3


@dataclass(frozen=True)
class Ran:
    """What a run did: its results (indexed in the whole batch), and the targets its items
    named, by key, for the chunks of a job that follow."""

    multistatus: MultiStatus
    named: Mapping[Key, int]


class RollbackBatch(Exception):
    """Raised inside the batch transaction to undo it: an atomic batch that had a failure, or a
    dry run."""

    def __init__(self, results: list[ItemResult]) -> None:
        self.results = results


def run(operation: Operation, context: BatchContext) -> Ran:
    """Run ``operation`` over ``context.items`` inside one transaction; in an atomic batch with a
    failure, roll everything back and report the items that had succeeded 424. A dry run is
    rolled back whatever its outcome (with the ``on_commit`` callbacks its items registered),
    and its created objects have no href: nothing is there to point at."""
    started = time.perf_counter()
    try:
        # Inside another transaction (an Idempotency-Key's, a job chunk's), only an atomic batch
        # or a dry run needs a savepoint of its own: to roll its writes back, results kept.
        savepoint = context.atomic or context.dry_run
        with transaction.atomic(using=context.database, savepoint=savepoint):
            results, named = run_items(operation, context)
            failed = context.atomic and any(not result.succeeded for result in results)
            if failed or context.dry_run:
                raise RollbackBatch(results)
    except RollbackBatch as rollback:
        results = rollback.results
        if context.atomic and any(not result.succeeded for result in results):
            results = fail_dependents(results)
        if context.dry_run:
            results = [unwritten(result) for result in results]
    multistatus = MultiStatus(
        results=results,
        atomic=context.atomic,
        minimal=context.minimal,
        request_id=context.request_id,
    )
    if context.report:  # after the outermost transaction commits (at once without one)
        duration = time.perf_counter() - started
        transaction.on_commit(
            lambda: report(context, multistatus, duration), using=context.database
        )
    return Ran(multistatus, named)


def unwritten(result: ItemResult) -> ItemResult:
    """A dry run's result: an object it created is gone again, its href with it; nothing it
    wrote stays, so no etag names a state."""
    href = None if result.status == status.HTTP_201_CREATED else result.href
    return replace(result, href=href, etag=None)


def precondition(context: BatchContext, item: Any, target: Target) -> Any:
    """``item`` without its ``If-Match`` (the ``IF_MATCH_KEY``), once its target, locked by the
    lookup, is found to match it (412 otherwise; a create's none matches no etag)."""
    key = multistatus_settings.IF_MATCH_KEY
    if not isinstance(item, dict) or key not in item:
        return item
    wanted, current = item[key], None
    if isinstance(target, models.Model):
        current = etags.view_etag(context.view, target)
    if current is None or wanted != current or current.startswith("W/"):  # else: a match
        etags.check(etags.condition(wanted, key), current)
    return {name: value for name, value in item.items() if name != key}


def refuse(context: BatchContext, exc: Exception) -> MultiStatus:
    """Every item answered by one exception, none run: a background chunk whose user or
    permissions no longer pass."""
    results = [fail(context, context.index(i), exc) for i in range(len(context.items))]
    return MultiStatus(results=results, atomic=context.atomic, minimal=context.minimal)


#: A run's results by item position (in ``context.items``), and the targets its items named.
Outcome = tuple[dict[int, ItemResult], Mapping[Key, int]]


def run_items(
    operation: Operation, context: BatchContext
) -> tuple[list[ItemResult], Mapping[Key, int]]:
    ran = None
    if context.items and operation.can_write_in_bulk(context):
        ran = run_in_bulk(operation, context)
    results, named = ran or run_per_item(operation, context, 0)
    return [results[position] for position in range(len(context.items))], named


def run_in_bulk(operation: Operation, context: BatchContext) -> Outcome | None:
    """Judge every item as the per-item path would, then write all accepted items at once.
    None where the database refused before anything was written; should it refuse the write,
    the items from the first accepted one on take the per-item path."""
    results: dict[int, ItemResult] = {}
    accepted: list[tuple[int, models.Model]] = []
    try:
        with transaction.atomic(using=context.database):
            targets = operation.find_targets(context, savepoint=False)
            writer = operation.bulk_writer(context, targets)
            for position, (item, target) in enumerate(
                zip(context.items, targets.objects, strict=True)
            ):
                index = context.index(position)
                if isinstance(target, Exception):
                    results[position] = fail(context, index, target)
                    continue
                try:
                    operation.authorize(context, target)
                    item = precondition(context, item, target)
                    accepted.append((position, writer.accept(index, item, target)))
                except DatabaseError:
                    raise
                except Exception as exc:
                    results[position] = fail(context, index, exc, href_of(context, target))
    except (DatabaseError, LookupRefused):
        return None
    if accepted:
        try:
            with transaction.atomic(using=context.database):
                writer.write([obj for _position, obj in accepted])
        except Exception:
            first = accepted[0][0]
            rest, named = run_per_item(operation, context, first, fallback=True)
            earlier = {position: result for position, result in results.items() if position < first}
            return {**earlier, **rest}, named
    for position, obj in accepted:
        results[position] = writer.result(context.index(position), obj)
    return results, targets.keys


def run_per_item(
    operation: Operation, context: BatchContext, start: int, fallback: bool = False
) -> Outcome:
    """Items from ``start`` on, each in its own savepoint. Written in request order, or where
    the database refused the set-based write, in the order that write used
    (``Operation.write_order``): concurrent batches then queue on each other's rows instead of
    deadlocking."""
    positions = range(start, len(context.items))
    try:
        targets = operation.find_targets(context)
    except OperationalError as exc:  # the database gave up on the lookup to end a deadlock
        if not is_concurrency_failure(exc):
            raise
        return {position: fail(context, context.index(position), exc) for position in positions}, {}
    order = operation.write_order(context, positions) if fallback else positions
    results = {
        position: run_item(
            operation, context, position, context.items[position], targets.objects[position]
        )
        for position in order
    }
    return results, targets.keys


def run_item(
    operation: Operation, context: BatchContext, position: int, item: object, target: Target
) -> ItemResult:
    """One item in its own savepoint: a failure undoes this item and nothing else. Tried again
    where the operation has a better answer for the failure (see ``Operation.retry``)."""
    index = context.index(position)
    result = attempt(operation, context, index, item, target)
    for _attempt in range(RETRIES):
        retry = operation.retry(context, item, target, result)
        if retry is None:
            break
        target = retry.target
        result = attempt(operation, context, index, item, target)
    return result


def attempt(
    operation: Operation, context: BatchContext, index: int, item: object, target: Target
) -> ItemResult:
    if isinstance(target, Exception):
        return fail(context, index, target)
    try:
        with transaction.atomic(using=context.database):
            operation.authorize(context, target)
            return operation.apply(context, index, precondition(context, item, target), target)
    except Exception as exc:
        return fail(context, index, exc, href_of(context, target))


def fail(context: BatchContext, index: int, exc: Exception, href: str | None = None) -> ItemResult:
    return context.view.handle_item_exception(index, exc, href)


def failure(view: BulkView, index: int, exc: Exception, href: str | None = None) -> ItemResult:
    """The result of an item that raised ``exc``: the status the single-object request would
    answer (``exceptions.item_error``); an unexpected error 500, its traceback logged, never
    answered.

    Authentication failures answer as DRF's ``handle_exception`` answers them: 403 where no
    authenticator offers a ``WWW-Authenticate`` challenge."""
    if isinstance(exc, NotAuthenticated | AuthenticationFailed) and not (
        view.get_authenticate_header(view.request)
    ):
        exc.status_code = status.HTTP_403_FORBIDDEN
    outcome = item_error(exc, multistatus_settings.CONFLICT_CODES)
    if outcome is None:
        request = view.request
        path = request.get_full_path()
        logger.error(
            "Unexpected error in item %d of %s %s", index, request.method, path, exc_info=exc
        )
        unexpected = ItemServerError()
        outcome = unexpected.status_code, error_dict(unexpected)
    code, errors = outcome
    return ItemResult(index=index, status=code, href=href, errors=errors)


def href_of(context: BatchContext, obj: object) -> str | None:
    return context.view.get_item_href(obj) if isinstance(obj, models.Model) else None


def fail_dependents(results: Sequence[ItemResult]) -> list[ItemResult]:
    """Report 424 for the items of a rolled-back atomic batch that had succeeded."""
    failed = [result.index for result in results if not result.succeeded]
    errors = error_dict(FailedDependency(failed=failed))
    return [
        result
        if not result.succeeded
        else replace(
            result,
            status=FailedDependency.status_code,
            # A created object no longer exists; an updated or deleted one is still there.
            href=None if result.status == status.HTTP_201_CREATED else result.href,
            data=None,
            errors=errors,
            etag=None,
        )
        for result in results
    ]


def report(context: BatchContext, multistatus: MultiStatus, duration: float) -> None:
    """One structured log record and one ``bulk_request_finished`` signal per batch."""
    view, request = context.view, context.view.request
    counts = multistatus.summary()
    summary = {
        "view": f"{type(view).__module__}.{type(view).__qualname__}",
        "method": request.method,
        "path": request.path,
        "items": counts["total"],
        "succeeded": counts["succeeded"],
        "failed": counts["failed"],
        "by_status": counts["by_status"],
        "atomic": multistatus.atomic,
        "dry_run": context.dry_run,
        "request_id": context.request_id,
        "duration_ms": round(duration * 1000, 3),
    }
    logger.info(
        "bulk %s%s %s: %d items, %d succeeded, %d failed (%s) in %.1f ms",
        "dry run of " if context.dry_run else "",
        summary["method"],
        summary["path"],
        summary["items"],
        summary["succeeded"],
        summary["failed"],
        ", ".join(f"{code}: {n}" for code, n in summary["by_status"].items()) or "none",
        summary["duration_ms"],
        extra={"multistatus": summary},
    )
    bulk_request_finished.send(sender=type(view), view=view, request=request, summary=summary)
