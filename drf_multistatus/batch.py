"""Runs a batch: one transaction, a savepoint per item, all-or-nothing rollback with 424, and one
log record and ``bulk_request_finished`` signal per request.

What is done to each item is an :class:`~drf_multistatus.operations.Operation`'s job; the view
supplies the hooks (``handle_item_exception``) and is told nothing here it did not ask for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from rest_framework import status

from .exceptions import FailedDependency, error_dict
from .results import ItemResult, MultiStatus
from .signals import bulk_request_finished

if TYPE_CHECKING:
    from .operations import Operation

logger = logging.getLogger("drf_multistatus")


class RollbackBatch(Exception):
    """Raised inside the batch transaction to undo an atomic batch that had a failure."""


class Batch:
    """The items of one bulk request, run against ``database`` for ``view``."""

    def __init__(self, view: Any, database: str, atomic: bool, report: bool = True) -> None:
        self.view = view
        self.database = database
        self.atomic = atomic
        self.reports = report  # a background job reports once, not per chunk

    def run(self, operation: Operation) -> MultiStatus:
        """Run ``operation`` (one result per item) inside one transaction; in an atomic batch
        with a failure, roll everything back and report the items that had succeeded 424."""
        started = time.perf_counter()
        try:
            # Inside another transaction (an Idempotency-Key's), only an atomic batch needs a
            # savepoint of its own: to roll back its writes and still record its 424s.
            with transaction.atomic(using=self.database, savepoint=self.atomic):
                results = operation.run(self)
                if self.atomic and any(not result.succeeded for result in results):
                    raise RollbackBatch
        except RollbackBatch:
            results = self.fail_dependents(results)
        multistatus = MultiStatus(results=results, atomic=self.atomic)
        duration = time.perf_counter() - started
        if self.reports:  # after the outermost transaction commits (at once without one)
            transaction.on_commit(lambda: self.report(multistatus, duration), using=self.database)
        return multistatus

    def run_item(
        self, index: int, href: str | None, work: Callable[..., ItemResult], *args: Any
    ) -> ItemResult:
        """``work(*args)`` in its own savepoint: a failure undoes this item and nothing else."""
        try:
            with transaction.atomic(using=self.database):
                return work(*args)
        except Exception as exc:
            return self.fail(index, exc, href)

    def savepoint(self) -> transaction.Atomic:
        """A savepoint whose exceptions propagate, for work on many items at once."""
        return transaction.atomic(using=self.database)

    def fail(self, index: int, exc: Exception, href: str | None = None) -> ItemResult:
        return self.view.handle_item_exception(index, exc, href)

    def fail_dependents(self, results: list[ItemResult]) -> list[ItemResult]:
        """Report 424 for the items of a rolled-back atomic batch that had succeeded."""
        failed = [result.index for result in results if not result.succeeded]
        errors = error_dict(FailedDependency(failed=failed))
        return [
            result
            if not result.succeeded
            else ItemResult(
                index=result.index,
                status=FailedDependency.status_code,
                # A created object no longer exists; an updated or deleted one is still there.
                href=None if result.status == status.HTTP_201_CREATED else result.href,
                errors=errors,
            )
            for result in results
        ]

    def report(self, multistatus: MultiStatus, duration: float) -> None:
        """One structured log record and one ``bulk_request_finished`` signal per batch."""
        request = self.view.request
        counts = multistatus.summary()
        summary = {
            "view": f"{type(self.view).__module__}.{type(self.view).__qualname__}",
            "method": request.method,
            "path": request.path,
            "items": counts["total"],
            "succeeded": counts["succeeded"],
            "failed": counts["failed"],
            "by_status": counts["by_status"],
            "atomic": multistatus.atomic,
            "duration_ms": round(duration * 1000, 3),
        }
        logger.info(
            "bulk %s %s: %d items, %d succeeded, %d failed (%s) in %.1f ms",
            summary["method"],
            summary["path"],
            summary["items"],
            summary["succeeded"],
            summary["failed"],
            ", ".join(f"{code}: {n}" for code, n in summary["by_status"].items()) or "none",
            summary["duration_ms"],
            extra={"multistatus": summary},
        )
        bulk_request_finished.send(
            sender=type(self.view), view=self.view, request=request, summary=summary
        )
