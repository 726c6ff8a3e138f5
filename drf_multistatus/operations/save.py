"""What create, update and upsert share: each item saved through the view's serializer and hooks,
or, on the set-based path, validated by one serializer per single-object request, uniqueness
answered batch-wide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, cast

from django.db import models
from rest_framework import serializers, status

from ..context import BatchContext, BulkView
from ..equivalence import can_save_in_bulk
from ..etags import view_etag
from ..relations import (
    BatchRelations,
    prefetch,
    remember_sets,
    representation_lookups,
    set_fields,
    write_sets,
)
from ..results import ItemResult
from ..targets import Targets
from ..uniqueness import index_unique_fields
from .base import Operation


class SavingView(BulkView, Protocol):
    def perform_bulk_create(self, serializer: serializers.BaseSerializer[Any]) -> None: ...

    def perform_bulk_update(self, serializer: serializers.BaseSerializer[Any]) -> None: ...


class SaveOperation(Operation):
    """Saves items: a target of ``None`` is created (POST), an object updated (PUT or PATCH)."""

    partial = False
    #: The view hooks the per-item path saves through, and the serializer methods they call.
    hooks: ClassVar[tuple[str, ...]] = ()
    serializer_methods: ClassVar[tuple[str, ...]] = ()

    # Per item --------------------------------------------------------------------------------

    def create(self, context: BatchContext, index: int, item: Any) -> ItemResult:
        view = cast(SavingView, context.view)
        serializer = view.get_serializer(data=item)
        serializer.is_valid(raise_exception=True)
        view.perform_bulk_create(serializer)
        return saved(context, index, serializer, status.HTTP_201_CREATED)

    def update(
        self, context: BatchContext, index: int, item: Any, instance: models.Model
    ) -> ItemResult:
        view = cast(SavingView, context.view)
        serializer = view.get_serializer(instance, data=item, partial=self.partial)
        serializer.is_valid(raise_exception=True)
        view.perform_bulk_update(serializer)
        return saved(context, index, serializer, status.HTTP_200_OK)

    def write_order(self, context: BatchContext, positions: range) -> Sequence[int]:
        """By the items' unique values, the order the set-based write inserts in."""
        meta = context.view.get_bulk_model()._meta
        names = [f.name for f in meta.concrete_fields if f.unique and not f.primary_key]
        return sorted(positions, key=lambda position: unique_values(context.items[position], names))

    # Set-based -------------------------------------------------------------------------------

    def can_write_in_bulk(self, context: BatchContext) -> bool:
        serializer = context.view.get_serializer(partial=self.partial)
        return can_save_in_bulk(context.view, serializer, self.hooks, self.serializer_methods)


def forget_prefetched(instance: Any) -> None:
    """Drop what was prefetched for ``instance`` before it was saved, as DRF's ``update()``
    does, so that its representation shows what was written."""
    if getattr(instance, "_prefetched_objects_cache", None):
        instance._prefetched_objects_cache = {}


def unique_values(item: Any, names: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(item.get(name)) if isinstance(item, dict) else "" for name in names)


def saved(
    context: BatchContext, index: int, serializer: serializers.BaseSerializer[Any], code: int
) -> ItemResult:
    instance = serializer.instance
    forget_prefetched(instance)
    data = None if context.minimal else serializer.data
    if not isinstance(instance, models.Model):
        return ItemResult(index=index, status=code, data=data)
    view = context.view
    etag = view_etag(view, instance)
    return ItemResult(
        index=index, status=code, href=view.get_item_href(instance), data=data, etag=etag
    )


class SaveWriter:
    """The set-based path of the saving verbs: ``serializer`` (shared by the batch, with
    ``initial_data`` and ``instance`` set per item, as DRF's ``ListSerializer`` does) validates
    each item as ``is_valid()`` would. ``UniqueValidator`` is answered from one query per unique
    field plus the values the batch has accepted so far, related fields from one query per field
    (``relations.BatchRelations``); many-to-many sets are written, and what the representation
    reads is fetched, with one statement per relation."""

    def __init__(
        self,
        context: BatchContext,
        serializer: serializers.BaseSerializer[Any],
        targets: Targets,
        replaces: bool = False,
    ) -> None:
        self.context = context
        self.model: type[models.Model] = context.view.get_bulk_model()
        # A ModelSerializer: the set-based path is taken for no other (``can_save_in_bulk``).
        self.serializer = cast(serializers.ModelSerializer[Any], serializer)
        self.indexes = index_unique_fields(self.serializer, self.model)
        for name, _source, index in self.indexes:
            index.prefetch(item.get(name) for item in context.items if isinstance(item, dict))
        self.found: dict[Any, Any] = {}  # the related fields' queries
        self.relations = self.resolve(self.serializer, targets, replaces)
        self.sets = set_fields(self.serializer, self.model)
        self.reads = representation_lookups(self.serializer, self.model)
        self.created: set[int] = set()
        self.new_sets: list[tuple[models.Model, dict[str, Any]]] = []
        self.replaced_sets: list[tuple[models.Model, dict[str, Any]]] = []

    def resolve(
        self, serializer: serializers.Serializer[Any], targets: Targets, replaces: bool
    ) -> BatchRelations:
        """The related fields of ``serializer`` resolved for the items it validates: those with
        a target where it ``replaces`` objects, the others where it creates them."""
        entries = [
            (index, item, target)
            for index, item, target in zip(
                self.context.item_indexes, self.context.items, targets.objects, strict=True
            )
            if not isinstance(target, Exception) and (target is not None) == replaces
        ]
        return BatchRelations(serializer, entries, self.found)

    def validate(
        self,
        serializer: serializers.Serializer[Any],
        relations: BatchRelations,
        index: int,
        item: Any,
        target: models.Model | None,
    ) -> Any:
        relations.select(index)
        serializer.instance = target
        serializer.initial_data = item
        return serializer.run_validation(item)

    def build(self, index: int, validated: Any) -> models.Model:
        """A new object from an item's validated data, its unique values claimed; its sets kept
        for when it has a primary key."""
        sets = {source: validated.pop(source) for source in self.sets if source in validated}
        obj = self.model(**validated)
        self.created.add(id(obj))
        self.new_sets.append((obj, sets))
        for _name, source, unique in self.indexes:
            if source in validated:
                unique.claim(validated[source], ("new", index))
        return obj

    def assign(self, target: models.Model, validated: Any) -> models.Model:
        """``target`` with an item's validated data set, as ``ModelSerializer.update`` sets it."""
        sets = {source: validated.pop(source) for source in self.sets if source in validated}
        self.replaced_sets.append((target, sets))
        previous = {source: getattr(target, source) for _name, source, _unique in self.indexes}
        for attr, value in validated.items():
            setattr(target, attr, value)
        for _name, source, unique in self.indexes:
            unique.claim(getattr(target, source), target.pk, previous[source])
        return target

    def finish(self, objs: list[models.Model]) -> None:
        """After the rows: the many-to-many sets, then what the representation reads."""
        database = self.context.database
        write_sets(self.sets, self.new_sets, database, replace=False)
        write_sets(self.sets, self.replaced_sets, database, replace=True)
        for obj, _sets in self.replaced_sets:
            forget_prefetched(obj)
        if not self.context.minimal:
            remember_sets(self.sets, self.new_sets, new=True)
            remember_sets(self.sets, self.replaced_sets, new=False)
            prefetch(objs, self.reads)

    def result(self, index: int, obj: models.Model) -> ItemResult:
        code = status.HTTP_201_CREATED if id(obj) in self.created else status.HTTP_200_OK
        return self.represented(index, obj, code, self.serializer)

    def represented(
        self, index: int, obj: models.Model, code: int, serializer: serializers.Serializer[Any]
    ) -> ItemResult:
        data = None if self.context.minimal else serializer.to_representation(obj)
        view = self.context.view
        href, etag = view.get_item_href(obj), view_etag(view, obj)
        return ItemResult(index=index, status=code, href=href, data=data, etag=etag)
