"""What create, update and upsert share: each item saved through the view's serializer and hooks,
or, on the set-based path, validated by one serializer with uniqueness checked batch-wide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from rest_framework import status

from ..equivalence import can_save_in_bulk
from ..results import ItemResult
from ..uniqueness import UniqueIndex, index_unique_fields
from .base import Operation


class SaveOperation(Operation):
    """Saves items: a target of ``None`` is created, an object is updated."""

    partial = False
    #: The view hooks the per-item path saves through, and the serializer methods they call.
    hooks: tuple[str, ...] = ()
    serializer_methods: tuple[str, ...] = ()

    # Per item --------------------------------------------------------------------------------

    def apply(self, index: int, item: Any, target: models.Model | None) -> ItemResult:
        if target is None:
            return self.create(index, item)
        return self.update(index, item, target)

    def create(self, index: int, item: Any) -> ItemResult:
        serializer = self.view.get_serializer(data=item)
        serializer.is_valid(raise_exception=True)
        self.view.perform_bulk_create(serializer)
        return self.saved(index, serializer.instance, serializer.data, status.HTTP_201_CREATED)

    def update(self, index: int, item: Any, instance: models.Model) -> ItemResult:
        self.view.check_object_permissions(self.view.request, instance)
        serializer = self.view.get_serializer(instance, data=item, partial=self.partial)
        serializer.is_valid(raise_exception=True)
        self.view.perform_bulk_update(serializer)
        return self.saved(index, serializer.instance, serializer.data, status.HTTP_200_OK)

    def saved(self, index: int, instance: Any, data: Any, code: int) -> ItemResult:
        if getattr(instance, "_prefetched_objects_cache", None):
            instance._prefetched_objects_cache = {}  # as DRF's update() does
        return ItemResult(index=index, status=code, href=self.href(instance), data=data)

    def write_order(self, indexes: range) -> Sequence[int]:
        """Where the set-based path fell back to this one, by the items' unique values, the
        order the set-based write uses: concurrent batches then queue, not deadlock."""
        names = self.order_names()
        if not names:
            return indexes

        def key(index: int) -> tuple[str, ...]:
            item = self.items[index]
            return tuple(str(item.get(n)) if isinstance(item, dict) else "" for n in names)

        return sorted(indexes, key=key)

    def order_names(self) -> list[str]:
        """The serializer fields whose values order the writes (none off the set-based path)."""
        return [name for name, _source, _index in getattr(self, "indexes", [])]

    # Set-based -------------------------------------------------------------------------------

    def can_run_in_bulk(self) -> bool:
        self.serializer = self.view.get_serializer(partial=self.partial)
        return can_save_in_bulk(self.view, self.serializer, self.hooks, self.serializer_methods)

    def prepare(self) -> None:
        self.created: set[int] = set()
        self.indexes: list[tuple[str, str, UniqueIndex]] = index_unique_fields(
            self.serializer, self.model
        )
        for name, _source, index in self.indexes:
            index.prefetch(item.get(name) for item in self.items if isinstance(item, dict))

    def accept(self, index: int, item: Any, target: models.Model | None) -> models.Model:
        """Validate one item with the batch's serializer, as ``is_valid()`` would."""
        serializer = self.serializer
        serializer.instance = target
        serializer.initial_data = item
        if target is not None:
            self.view.check_object_permissions(self.view.request, target)
        validated = serializer.run_validation(item)
        if target is None:
            obj = self.model(**validated)
            self.created.add(id(obj))
            for _name, source, unique in self.indexes:
                if source in validated:
                    unique.claim(validated[source], ("new", index))
            return obj
        previous = {source: getattr(target, source) for _name, source, _unique in self.indexes}
        for attr, value in validated.items():
            setattr(target, attr, value)
        for _name, source, unique in self.indexes:
            unique.claim(getattr(target, source), target.pk, previous[source])
        return target

    def written(self, index: int, obj: models.Model) -> ItemResult:
        code = status.HTTP_201_CREATED if id(obj) in self.created else status.HTTP_200_OK
        return self.saved(index, obj, self.serializer.to_representation(obj), code)
