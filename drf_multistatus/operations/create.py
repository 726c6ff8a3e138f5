"""Bulk create: every item a new object."""

from __future__ import annotations

from django.db import connections, models
from rest_framework import status

from ..exceptions import NotAnObject
from ..rows import write_order
from .base import Target
from .save import SaveOperation


class Create(SaveOperation):
    """POST of a list: each item created as DRF's ``create`` would (201)."""

    success_status = status.HTTP_201_CREATED
    verb = "create"
    hooks: tuple[str, ...] = ("perform_create", "perform_bulk_create")
    serializer_methods: tuple[str, ...] = ("create",)

    def get_lookup(self) -> None:
        return None

    def find_targets(self, savepoint: bool = True) -> list[Target]:
        return [None if isinstance(item, dict) else NotAnObject(item) for item in self.items]

    def can_run_in_bulk(self) -> bool:
        features = connections[self.batch.database].features
        return features.can_return_rows_from_bulk_insert and super().can_run_in_bulk()

    def write(self, objs: list[models.Model]) -> None:
        """One ``bulk_create`` (which fills in the primary keys), rows in unique-value order."""
        order = write_order([source for _name, source, _index in self.indexes])
        manager = self.model._default_manager.db_manager(self.batch.database)
        manager.bulk_create(sorted(objs, key=order))
