"""The README's django-simple-history recipe: every history row a bulk request writes names the
user and the request (its ``X-Request-ID``) as its change reason — in a job too."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from simple_history.models import HistoricalRecords


class BatchHistory(HistoricalRecords):
    """simple-history's records, whose change reason is the bulk request's id."""

    def get_change_reason_for_object(self, instance: Any, history_type: str, using: Any) -> Any:
        reason = getattr(self.context, "bulk_request_id", None)
        return reason or super().get_change_reason_for_object(instance, history_type, using)


@contextlib.contextmanager
def recorded(view: Any) -> Iterator[None]:
    """What simple-history reads while one item is saved: the user (from ``context.request``,
    as its middleware sets it) and the request id; the middleware's request put back after."""
    context = HistoricalRecords.context
    request = getattr(context, "request", None)  # the middleware's, where it runs
    context.request, context.bulk_request_id = view.request, view.bulk_request_id
    try:
        yield
    finally:
        context.request = request
        del context.bulk_request_id


class HistoryMixin:
    """For a bulk viewset: each object saved and deleted with its history's user and reason,
    through DRF's hooks, which the bulk ones call: single-object requests alike."""

    def perform_create(self, serializer: Any) -> None:
        with recorded(self):
            super().perform_create(serializer)  # type: ignore[misc]

    def perform_update(self, serializer: Any) -> None:
        with recorded(self):
            super().perform_update(serializer)  # type: ignore[misc]

    def perform_destroy(self, instance: Any) -> None:
        with recorded(self):
            super().perform_destroy(instance)  # type: ignore[misc]
