"""Bulk delete: every item names its target by the view's lookup field."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import ProtectedError, RestrictedError
from django.db.models.deletion import Collector
from rest_framework import status

from ..equivalence import can_delete_in_bulk
from ..exceptions import ProtectedItem
from ..results import ItemResult
from .base import Operation


class Destroy(Operation):
    """DELETE of a list: each item's target deleted as DRF's ``destroy`` would (204)."""

    success_status = status.HTTP_204_NO_CONTENT
    verb = "delete"
    hooks = ("perform_destroy", "perform_bulk_destroy")

    def apply(self, index: int, item: Any, instance: models.Model) -> ItemResult:
        self.view.check_object_permissions(self.view.request, instance)
        href = self.href(instance)  # before the object loses its primary key
        try:
            self.view.perform_bulk_destroy(instance)
        except (ProtectedError, RestrictedError) as exc:
            raise ProtectedItem(exc, self.model) from exc
        return ItemResult(index=index, status=self.success_status, href=href)

    # Set-based: the collector of QuerySet.delete() and Model.delete(), given every target at
    # once, cascades in a constant number of queries.

    def can_run_in_bulk(self) -> bool:
        return can_delete_in_bulk(self.view, self.model, self.hooks)

    def prepare(self) -> None:
        self.hrefs: dict[int, str | None] = {}

    def accept(self, index: int, item: Any, target: models.Model) -> models.Model:
        self.view.check_object_permissions(self.view.request, target)
        self.hrefs[index] = self.href(target)
        return target

    def write(self, objs: list[models.Model]) -> None:
        # No single origin: delete receivers see origin=None (building a queryset of every
        # target for them would cost more than the delete's own queries).
        collector = Collector(using=self.batch.database, origin=None)
        collector.collect(objs)
        collector.delete()

    def written(self, index: int, obj: models.Model) -> ItemResult:
        return ItemResult(index=index, status=self.success_status, href=self.hrefs[index])
