"""Bulk update: every item names its target by the view's lookup field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from ..context import BatchContext, BulkView
from ..results import ItemResult
from ..rows import update_rows
from ..targets import Targets
from .save import SaveOperation, SaveWriter


class Update(SaveOperation):
    """PUT (or, with ``partial``, PATCH) of a list: each item's target updated as DRF's
    ``update`` would (200)."""

    verb = "update"
    hooks = ("perform_update", "perform_bulk_update")
    serializer_methods = ("update",)

    def __init__(self, view: BulkView, items: Iterable[Any], partial: bool = False) -> None:
        super().__init__(view, items)
        self.partial = partial

    def options(self) -> dict[str, Any]:
        return {"partial": self.partial}

    def apply(
        self, context: BatchContext, index: int, item: Any, target: models.Model
    ) -> ItemResult:
        return self.update(context, index, item, target)

    def bulk_writer(self, context: BatchContext, targets: Targets) -> UpdateWriter:
        serializer = context.view.get_serializer(partial=self.partial)
        return UpdateWriter(context, serializer, targets, replaces=True)


class UpdateWriter(SaveWriter):
    def accept(self, index: int, item: Any, target: models.Model) -> models.Model:
        validated = self.validate(self.serializer, self.relations, index, item, target)
        return self.assign(target, validated)

    def write(self, objs: list[models.Model]) -> None:
        save_rows(self.model, objs, self.context.database)
        self.finish(objs)


def save_rows(model: type[models.Model], objs: list[models.Model], database: str) -> None:
    """Write every concrete field of ``objs``, as ``save()`` would, auto_now and the like
    included."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    if not objs or not fields:
        return
    for obj in objs:
        for field in fields:
            setattr(obj, field.attname, field.pre_save(obj, False))
    update_rows(model, objs, fields, database)
