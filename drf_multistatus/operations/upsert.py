"""Upsert: POST of a list with ``Prefer: resolution=merge-duplicates``, keyed by the view's
``upsert_fields``. Each item is judged as the single-object request it stands for: one whose key
an object of the view's queryset *for a PUT* holds replaces that object as a PUT would (200, or
403 where its object permissions refuse a PUT); any other is created as a POST would (201, or 409
where a row outside that queryset holds the key)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import models
from rest_framework import serializers, status

from ..actions import ActingAs
from ..context import BatchContext, BulkView
from ..preferences import MERGE_DUPLICATES
from ..relations import representation_lookups, set_fields
from ..results import ItemResult
from ..rows import insert_new_rows, write_order
from ..targets import KeyReader, Target, TargetLookup, Targets, lock_keys
from ..uniqueness import index_unique_fields
from .base import Retry
from .save import SaveOperation, SaveWriter, unique_values
from .update import save_rows

#: The single-object request an item that replaces an object stands for.
REPLACE = ("update", "PUT")


class Upsert(SaveOperation):
    verb = "upsert"
    preference_applied = MERGE_DUPLICATES
    hooks = ("perform_create", "perform_bulk_create", "perform_update", "perform_bulk_update")
    serializer_methods = ("create", "update")

    def check_permissions(self, view: BulkView) -> None:
        """A POST's checks, and, as the batch may replace objects, a PUT's."""
        super().check_permissions(view)
        with ActingAs(view, *REPLACE) as put:
            put.check_permissions(put.request)

    def key_reader(self, view: BulkView) -> KeyReader:
        """Items name what they replace by the upsert key; one without has no target."""
        return KeyReader(view.get_bulk_model(), upsert_fields(view))

    def lookup(self, context: BatchContext) -> TargetLookup:
        """The objects a PUT could reach, by key: the view's queryset as it is for ``update``."""
        with ActingAs(context.view, *REPLACE) as put:
            return self.lookup_in(context, put.filter_queryset(put.get_queryset()))

    def find_targets(self, context: BatchContext, savepoint: bool = True) -> Targets:
        """Keys locked first, in one order for every batch (PostgreSQL): upserts of overlapping
        keys queue instead of deadlocking on each other's inserts."""
        lookup = self.lookup(context)
        indexes = context.item_indexes
        keys = lookup.read_keys(context.items, indexes, context.seen)
        lock_keys(context.database, lookup.model, keys)
        return lookup.find(context.items, indexes, context.seen, savepoint, keys)

    def authorize(self, context: BatchContext, target: Any) -> None:
        """A replacement's checks are a PUT's."""
        with ActingAs(context.view, *REPLACE):
            super().authorize(context, target)

    def apply(
        self, context: BatchContext, index: int, item: Any, target: models.Model | None
    ) -> ItemResult:
        if target is None:
            return self.create(context, index, item)
        with ActingAs(context.view, *REPLACE):
            return self.update(context, index, item, target)

    def retry(
        self, context: BatchContext, item: Any, target: Target, result: ItemResult
    ) -> Retry | None:
        """An item created as its key was taken by a concurrent request (409) replaces the
        object now holding it, where a PUT can reach it."""
        if result.status == status.HTTP_409_CONFLICT and target is None:
            found = self.lookup(context).find([item]).objects[0]
            return Retry(found) if isinstance(found, models.Model) else None
        return super().retry(context, item, target, result)

    def write_order(self, context: BatchContext, positions: range) -> Sequence[int]:
        """In key order, the order the set-based write inserts in."""
        names = upsert_fields(context.view)
        return sorted(positions, key=lambda position: unique_values(context.items[position], names))

    def can_write_in_bulk(self, context: BatchContext) -> bool:
        if not super().can_write_in_bulk(context):
            return False
        with ActingAs(context.view, *REPLACE):
            return super().can_write_in_bulk(context)

    def bulk_writer(self, context: BatchContext, targets: Targets) -> UpsertWriter:
        return UpsertWriter(context, targets)


class UpsertWriter(SaveWriter):
    """Creations validated by the POST's serializer, replacements by the PUT's (made and run as
    the PUT), uniqueness and related objects answered from the same queries."""

    def __init__(self, context: BatchContext, targets: Targets) -> None:
        super().__init__(context, context.view.get_serializer(), targets)
        self.put = ActingAs(context.view, *REPLACE)
        with self.put as view:
            self.replacing = cast(serializers.ModelSerializer[Any], view.get_serializer())
            index_unique_fields(self.replacing, self.model, self.indexes)
            self.replacing_relations = self.resolve(self.replacing, targets, replaces=True)
        self.sets |= set_fields(self.replacing, self.model)
        self.reads += representation_lookups(self.replacing, self.model)
        self.replaced: set[int] = set()

    def accept(self, index: int, item: Any, target: models.Model | None) -> models.Model:
        if target is None:
            return self.build(
                index, self.validate(self.serializer, self.relations, index, item, None)
            )
        with self.put:
            validated = self.validate(self.replacing, self.replacing_relations, index, item, target)
            obj = self.assign(target, validated)
        self.replaced.add(id(obj))
        return obj

    def write(self, objs: list[models.Model]) -> None:
        """Replacements as one update; new keys as one ``INSERT … ON CONFLICT DO NOTHING``, in
        key order. A key a concurrent request inserted in between fails the write: the per-item
        path then judges that item against the object now holding it."""
        database = self.context.database
        save_rows(self.model, [obj for obj in objs if id(obj) in self.replaced], database)
        fields = list(upsert_fields(self.context.view))
        new = sorted((obj for obj in objs if id(obj) not in self.replaced), key=write_order(fields))
        key = [self.model._meta.get_field(name) for name in fields]
        if insert_new_rows(self.model, new, key, database):
            raise KeyTaken
        self.finish(objs)

    def result(self, index: int, obj: models.Model) -> ItemResult:
        if id(obj) in self.replaced:
            return self.represented(index, obj, status.HTTP_200_OK, self.replacing)
        return self.represented(index, obj, status.HTTP_201_CREATED, self.serializer)


def upsert_fields(view: BulkView) -> tuple[str, ...]:
    """The view's upsert key: a unique field, or the fields of a unique constraint."""
    return tuple(getattr(view, "upsert_fields", ()))


class KeyTaken(Exception):
    """A key a concurrent request inserted after the batch looked its keys up."""
