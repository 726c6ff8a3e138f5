"""Bulk create: every item a new object."""

from __future__ import annotations

from typing import Any

from django.db import connections, models
from rest_framework import status

from ..context import BatchContext, BulkView
from ..results import ItemResult
from ..rows import write_order
from ..targets import Targets, item_problem
from .save import SaveOperation, SaveWriter


class Create(SaveOperation):
    """POST of a list: each item created as DRF's ``create`` would (201)."""

    success_status = status.HTTP_201_CREATED
    verb = "create"
    hooks = ("perform_create", "perform_bulk_create")
    serializer_methods = ("create",)

    def key_reader(self, view: BulkView) -> None:
        return None

    def find_targets(self, context: BatchContext, savepoint: bool = True) -> Targets:
        return Targets([item_problem(item) for item in context.items], {})

    def apply(self, context: BatchContext, index: int, item: Any, target: None) -> ItemResult:
        return self.create(context, index, item)

    def can_write_in_bulk(self, context: BatchContext) -> bool:
        features = connections[context.database].features
        return features.can_return_rows_from_bulk_insert and super().can_write_in_bulk(context)

    def bulk_writer(self, context: BatchContext, targets: Targets) -> CreateWriter:
        return CreateWriter(context, context.view.get_serializer(), targets)


class CreateWriter(SaveWriter):
    def accept(self, index: int, item: Any, target: None) -> models.Model:
        return self.build(index, self.validate(self.serializer, self.relations, index, item, None))

    def write(self, objs: list[models.Model]) -> None:
        """One ``bulk_create`` (which fills in the primary keys), rows in unique-value order."""
        order = write_order([source for _name, source, _index in self.indexes])
        manager = self.model._default_manager.db_manager(self.context.database)
        manager.bulk_create(sorted(objs, key=order))
        self.finish(objs)
