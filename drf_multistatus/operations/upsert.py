"""Upsert: POST of a list with ``Prefer: resolution=merge-duplicates``. An item whose key (the
view's ``upsert_fields``) matches an object in the view's queryset replaces it as a PUT would
(200); any other item is created (201)."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import status

from ..preferences import MERGE_DUPLICATES
from ..results import ItemResult
from ..rows import insert_new_rows, write_order
from ..targets import TargetLookup
from .base import Target
from .create import Create
from .update import save_rows

RETRIES = 3  # per item, for a key a concurrent request took, or a deadlock


class Upsert(Create):
    verb = "upsert"
    preference_applied = MERGE_DUPLICATES
    hooks = (*Create.hooks, "perform_update", "perform_bulk_update")
    serializer_methods = ("create", "update")

    def get_lookup(self) -> TargetLookup:  # type: ignore[override]
        fields = tuple(self.view.upsert_fields)
        return self.lookup(fields, fields)

    @property
    def keys(self) -> TargetLookup:
        assert self.targets is not None
        return self.targets

    def find_targets(self, savepoint: bool = True) -> list[Target]:
        return self.keys.find_optional(self.items, savepoint, self.seen, self.offset)

    def run_item(self, index: int, item: Any, target: Target) -> ItemResult:
        """Per item, retried where a concurrent request created the key after the lookup (the
        item then replaces that object) or the database broke a deadlock."""
        result = super().run_item(index, item, target)
        for _attempt in range(RETRIES):
            if result.status == status.HTTP_409_CONFLICT and target is None:
                target = self.keys.find_optional([item])[0]
                if target is None:
                    return result
            elif result.status != status.HTTP_503_SERVICE_UNAVAILABLE:
                return result
            result = super().run_item(index, item, target)
        return result

    def order_names(self) -> list[str]:
        return list(self.view.upsert_fields) if hasattr(self, "indexes") else []

    def write(self, objs: list[models.Model]) -> None:
        new = sorted(
            (obj for obj in objs if obj._state.adding), key=write_order(self.keys.attnames)
        )
        save_rows(self.model, [obj for obj in objs if not obj._state.adding], self.batch.database)
        key = [self.model._meta.get_field(name) for name in self.view.upsert_fields]
        taken = insert_new_rows(self.model, new, key, self.batch.database)  # type: ignore[arg-type]
        if taken:
            self.replace_taken(taken)

    def replace_taken(self, taken: list[models.Model]) -> None:
        """Items whose key a concurrent request inserted after the lookup replace that object,
        as they would have had it been there; a key held outside the view's queryset fails the
        write, and the per-item path answers for it."""
        keys = [self.keys.key_of(obj) for obj in taken]
        found = self.keys.fetch(keys)
        if len(found) != len(keys):
            raise KeyTakenOutsideQueryset
        for obj, key in zip(taken, keys, strict=True):
            obj.pk = found[key].pk
            obj._state.adding = False
            obj._state.db = self.batch.database
            self.created.discard(id(obj))
        save_rows(self.model, taken, self.batch.database)


class KeyTakenOutsideQueryset(Exception):
    """A key a concurrent request gave a row the view cannot see."""
