"""Uniqueness checked for a whole batch at once: ``UniqueValidator``'s question answered from one
query per unique field, plus the values the batch itself has accepted so far."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeGuard

from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.validators import UniqueValidator

_MISSING = object()


class UniqueIndex:
    """Who holds each value of one unique field, as the batch sees it: first the database's rows,
    then every item the batch has accepted. Answers ``UniqueValidator``'s question with one query
    for the whole batch instead of one per item."""

    def __init__(self, validator: UniqueValidator, field_name: str) -> None:
        self.validator = validator
        self.field_name = field_name
        self.holders: dict[Any, Any] = {}
        self.known: set[Any] = set()

    def prefetch(self, values: Iterable[Any]) -> None:
        wanted = set()
        for value in values:
            try:
                if value is not None and value not in self.known:
                    wanted.add(value)
            except TypeError:  # unhashable: the validator will ask the database itself
                continue
        if not wanted:
            return
        try:
            self._fetch(wanted)
        except (OverflowError, TypeError, ValueError):
            # A value the database cannot even compare (an integer too large for SQLite, say):
            # ask value by value; those that fail match nothing, as UniqueValidator would say.
            for value in wanted:
                try:
                    self._fetch({value})
                except (OverflowError, TypeError, ValueError):
                    self.known.add(value)

    def _fetch(self, values: set[Any]) -> None:
        queryset = self.validator.queryset.filter(**{f"{self.field_name}__in": values})
        for value, pk in queryset.values_list(self.field_name, "pk"):
            self.holders[value] = pk
        self.known |= values

    def is_taken(self, value: Any, instance: models.Model | None) -> bool:
        if value not in self.known:
            self.prefetch([value])
        holder = self.holders.get(value, _MISSING)
        return holder is not _MISSING and (instance is None or holder != instance.pk)

    def claim(self, value: Any, holder: Any, previous: Any = _MISSING) -> None:
        """Record that ``holder`` (a pk, or a token for an unsaved item) now has ``value``."""
        if previous is not _MISSING and self.holders.get(previous) == holder:
            del self.holders[previous]
        try:
            self.holders[value] = holder
            self.known.add(value)
        except TypeError:
            pass


class BatchUniqueValidator:
    """Stands in for a ``UniqueValidator`` during a bulk write: same message, same code, same
    exclusion of the instance being updated, answered from a :class:`UniqueIndex`."""

    requires_context = True

    def __init__(self, original: UniqueValidator, index: UniqueIndex) -> None:
        self.original = original
        self.index = index

    def __call__(self, value: Any, serializer_field: serializers.Field) -> None:
        instance = getattr(serializer_field.parent, "instance", None)
        try:
            taken = self.index.is_taken(value, instance)
        except TypeError:
            return self.original(value, serializer_field)
        if taken:
            raise ValidationError(self.original.message, code="unique")
        return None


def can_index(
    validator: Any, field: serializers.Field, model: type[models.Model]
) -> TypeGuard[UniqueValidator]:
    """Only plain ``exact`` uniqueness over the model's whole table, with the database's default
    comparison, is answered from an index."""
    if type(validator) is not UniqueValidator or validator.lookup != "exact":
        return False
    queryset = validator.queryset.all()
    if queryset.model is not model or queryset.query.has_filters():
        return False
    try:
        model_field = model._meta.get_field(field.source_attrs[-1])
    except Exception:
        return False
    return getattr(model_field, "db_collation", None) is None


def index_unique_fields(
    serializer: serializers.Serializer,
    model: type[models.Model],
    shared: Sequence[tuple[str, str, UniqueIndex]] | None = None,
) -> list[tuple[str, str, UniqueIndex]]:
    """Swap the serializer's indexable ``UniqueValidator``s for batch ones; with ``shared`` (a
    second serializer of the same batch), answered from the same indexes.

    Returns ``(serializer field name, model field name, index)`` for each swapped validator.
    """
    by_source = {source: index for _name, source, index in shared or ()}
    indexed = []
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        validators = []
        for validator in field.validators:
            if can_index(validator, field, model):
                source = field.source_attrs[-1]
                index = by_source.get(source) or UniqueIndex(validator, source)
                indexed.append((name, source, index))
                validator = BatchUniqueValidator(validator, index)
            validators.append(validator)
        field.validators = validators
    return indexed
