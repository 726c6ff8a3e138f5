"""What a batch runs with: the view its items are judged by, typed, and the frozen context of one
run — a synchronous request's, or one chunk of a background job's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.db import models
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

if TYPE_CHECKING:
    from .results import ItemResult

#: What names an item's target: its lookup or upsert values, as the database holds them.
Key = tuple[Any, ...]


class BulkView(Protocol):
    """The parts of a DRF generic view (with ``MultiStatusMixin``) that a batch's items are
    judged by: the same doors DRF's single-object actions go through."""

    request: Request
    action: str | None
    lookup_field: str
    lock_bulk_targets: bool
    bulk_write: bool

    def get_queryset(self) -> models.QuerySet[Any]: ...

    def filter_queryset(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]: ...

    def get_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer[Any]: ...

    def check_permissions(self, request: Request) -> None: ...

    def check_object_permissions(self, request: Request, obj: Any) -> None: ...

    def get_bulk_model(self) -> type[models.Model]: ...

    def get_item_lookup_key(self) -> str: ...

    def get_item_href(self, instance: models.Model) -> str | None: ...

    def get_bulk_etag(self, instance: models.Model) -> str: ...

    def handle_item_exception(
        self, index: int, exc: Exception, href: str | None = None
    ) -> ItemResult: ...

    def get_authenticate_header(self, request: Request) -> str | None: ...


@dataclass(frozen=True)
class BatchContext:
    """One run of a batch. ``items[0]`` is item ``offset`` of the whole batch (a background job
    runs in chunks), the others follow; or, where ``indexes`` are given (a job retrying some
    items of another), ``items[n]`` is item ``indexes[n]``. ``seen`` holds the targets earlier
    chunks named, by key, with their index."""

    view: BulkView
    items: Sequence[Any]
    database: str
    atomic: bool = False
    minimal: bool = False  # successful items are answered without their data
    offset: int = 0
    indexes: Sequence[int] | None = None
    seen: Mapping[Key, int] = field(default_factory=dict)
    report: bool = True  # one log record and signal for this run (a job reports once, itself)
    dry_run: bool = False  # Prefer: tx=rollback: answered as it would be, then rolled back
    request_id: str | None = None  # the id of the request (a job's: the one that submitted it)

    @property
    def item_indexes(self) -> Sequence[int]:
        """The batch index of each item."""
        if self.indexes is not None:
            return self.indexes
        return range(self.offset, self.offset + len(self.items))

    def index(self, position: int) -> int:
        """The batch index of ``items[position]``."""
        return self.indexes[position] if self.indexes is not None else self.offset + position
