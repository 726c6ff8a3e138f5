"""Bulk delete: every item names its target by the view's lookup field."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, cast

from django.db import models
from django.db.models import ProtectedError, RestrictedError
from django.db.models.deletion import Collector
from rest_framework import status

from ..context import BatchContext, BulkView
from ..equivalence import can_delete_in_bulk
from ..exceptions import ProtectedItem
from ..results import ItemResult
from ..targets import Targets
from .base import Operation


class DeletingView(BulkView, Protocol):
    def perform_bulk_destroy(self, instance: models.Model) -> None: ...


class Destroy(Operation):
    """DELETE of a list: each item's target deleted as DRF's ``destroy`` would (204)."""

    success_status = status.HTTP_204_NO_CONTENT
    verb = "delete"
    hooks: ClassVar[tuple[str, ...]] = ("perform_destroy", "perform_bulk_destroy")

    def apply(
        self, context: BatchContext, index: int, item: Any, instance: models.Model
    ) -> ItemResult:
        view = cast(DeletingView, context.view)
        href = view.get_item_href(instance)  # before the object loses its primary key
        try:
            view.perform_bulk_destroy(instance)
        except (ProtectedError, RestrictedError) as exc:
            raise ProtectedItem(error=exc, model=type(instance)) from exc
        return ItemResult(index=index, status=self.success_status, href=href)

    def can_write_in_bulk(self, context: BatchContext) -> bool:
        return can_delete_in_bulk(context.view, context.view.get_bulk_model(), self.hooks)

    def bulk_writer(self, context: BatchContext, targets: Targets) -> DestroyWriter:
        return DestroyWriter(context)


class DestroyWriter:
    """The collector of ``QuerySet.delete()`` and ``Model.delete()``, given every target at
    once, cascades in a constant number of queries."""

    def __init__(self, context: BatchContext) -> None:
        self.context = context
        self.hrefs: dict[int, str | None] = {}

    def accept(self, index: int, item: Any, target: models.Model) -> models.Model:
        self.hrefs[index] = self.context.view.get_item_href(target)
        return target

    def write(self, objs: list[models.Model]) -> None:
        # No single origin: delete receivers see origin=None (building a queryset of every
        # target for them would cost more than the delete's own queries).
        collector = Collector(using=self.context.database, origin=None)
        collector.collect(objs)
        collector.delete()

    def result(self, index: int, obj: models.Model) -> ItemResult:
        return ItemResult(index=index, status=status.HTTP_204_NO_CONTENT, href=self.hrefs[index])
