"""Finding the object each item of a batch names, in one query through the view's queryset.

An item names its target by the view's lookup field (update, delete) or by the upsert key. The
values are converted as the model field would convert them; a value that cannot name any object
(``"abc"`` for an integer key, a string with a NUL character, an integer beyond the database's
range) matches nothing instead of failing the query, and a second item naming the same target is
a 409 of its own.
"""

from __future__ import annotations

import functools
import operator
from collections import ChainMap
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import DatabaseError, models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound

from .exceptions import DuplicateTarget, MissingLookup, NotAnObject

Key = tuple[Any, ...]
NO_MATCH = object()  # a value that cannot name any object
_LOOKUP_ERRORS = (DatabaseError, ValueError, TypeError, OverflowError)


class TargetLookup:
    """Each item's target among ``queryset``, named by the item's ``keys`` (one per field of
    ``fields``, the model lookups). With ``lock``, targets stay locked (``SELECT … FOR UPDATE``,
    in primary-key order) until the batch commits, so that concurrent batches queue."""

    def __init__(
        self,
        queryset: models.QuerySet,
        fields: Sequence[str],
        keys: Sequence[str] | None = None,
        *,
        lock: bool = True,
        database: str | None = None,
    ) -> None:
        self.queryset = queryset
        self.model = queryset.model
        self.fields = tuple(fields)
        self.keys = tuple(keys or fields)
        self.lock = lock
        self.database = database or queryset.db
        model_fields = [model_field(self.model, name) for name in fields]
        self.attnames = [
            name if name == "pk" or field is None else field.attname
            for name, field in zip(fields, model_fields, strict=True)
        ]
        self.converters = [converter(field) for field in model_fields]

    def find(
        self,
        items: Sequence[Any],
        verb: str,
        savepoint: bool = True,
        seen: dict[Key, int] | None = None,
        offset: int = 0,
    ) -> list[models.Model | Exception]:
        """Every item's target, or the exception that answers for it (400, 404, 409).

        Without ``savepoint``, a database that refuses the query raises: the caller runs inside
        a savepoint of its own and tries again with one.
        """
        keys = self.read_keys(items, verb, True, seen, offset)
        found = self.fetch(keys, savepoint)
        missing = not_found(self.model)
        return [key if isinstance(key, Exception) else found.get(key, missing) for key in keys]

    def find_optional(
        self,
        items: Sequence[Any],
        savepoint: bool = True,
        seen: dict[Key, int] | None = None,
        offset: int = 0,
    ) -> list[models.Model | Exception | None]:
        """As ``find``, but an item whose key matches nothing (or that has none) gets ``None``."""
        keys = self.read_keys(items, "", False, seen, offset)
        found = self.fetch(keys, savepoint)
        return [key if isinstance(key, Exception) else found.get(key) for key in keys]

    def read_keys(
        self,
        items: Sequence[Any],
        verb: str,
        required: bool,
        seen: dict[Key, int] | None = None,
        offset: int = 0,
    ) -> list[Any]:
        """Per item: its key as the database holds it, ``NO_MATCH``, or an exception. ``seen``
        holds the keys earlier parts of the batch named (a background job's earlier chunks),
        by their index; ``offset`` is the index of ``items[0]`` in the batch."""
        first_index: dict[Key, int] = {}
        earlier = ChainMap(first_index, seen) if seen else first_index  # seen is not copied
        keys = []
        for index, item in enumerate(items, start=offset):
            key = self.read_key(item, verb, required)
            if isinstance(key, tuple):
                if key in earlier:
                    key = DuplicateTarget(self.keys[0], earlier[key])
                else:
                    first_index[key] = index
            keys.append(key)
        return keys

    def read_key(self, item: Any, verb: str, required: bool) -> Any:
        if not isinstance(item, dict):
            return NotAnObject(item)
        values = []
        for name, to_python in zip(self.keys, self.converters, strict=True):
            if name not in item:
                return MissingLookup(name, verb) if required else NO_MATCH
            try:
                values.append(to_python(item[name]))
            except (TypeError, ValueError, OverflowError, DjangoValidationError):
                return NO_MATCH
        return tuple(values)

    def fetch(self, keys: Sequence[Any], savepoint: bool = True) -> dict[Key, models.Model]:
        """The objects that hold ``keys`` (non-tuple entries are skipped), in one query; should
        the database refuse a value, value by value, the refused ones matching nothing."""
        wanted = [key for key in keys if isinstance(key, tuple)]
        if not wanted:
            return {}
        if not savepoint:
            try:
                return self._fetch(wanted)
            except _LOOKUP_ERRORS as exc:
                raise LookupRefused from exc
        try:
            with transaction.atomic(using=self.database):
                return self._fetch(wanted)
        except _LOOKUP_ERRORS:
            found: dict[Key, models.Model] = {}
            for key in wanted:
                try:
                    with transaction.atomic(using=self.database):
                        found.update(self._fetch([key]))
                except _LOOKUP_ERRORS:
                    continue
            return found

    def _fetch(self, keys: Sequence[Key]) -> dict[Key, models.Model]:
        queryset = self.queryset
        if len(self.fields) == 1:
            queryset = queryset.filter(**{f"{self.fields[0]}__in": [key[0] for key in keys]})
        else:
            matches = (Q(**dict(zip(self.fields, key, strict=True))) for key in keys)
            queryset = queryset.filter(functools.reduce(operator.or_, matches))
        if self.lock:
            queryset = queryset.select_for_update(of=("self",)).order_by("pk")
        return {self.key_of(obj): obj for obj in queryset}

    def key_of(self, obj: models.Model) -> Key:
        """An object's key: its values as the database returned them (already Python's)."""
        return tuple(getattr(obj, attname) for attname in self.attnames)


class LookupRefused(DatabaseError):
    """The database refused the lookup of a batch's targets (a value it cannot compare)."""


def not_found(model: type[models.Model]) -> NotFound:
    """The 404 of DRF's ``get_object()`` for ``model``."""
    return NotFound(_("No %(model)s matches the given query.") % {"model": model._meta.object_name})


def model_field(model: type[models.Model], name: str) -> models.Field | None:
    """The model field behind a lookup (``pk`` included); None for a lookup that spans
    relations, whose values are compared as they come."""
    try:
        return model._meta.pk if name == "pk" else model._meta.get_field(name)  # type: ignore[return-value]
    except FieldDoesNotExist:
        return None


def converter(field: models.Field | None) -> Callable[[Any], Any]:
    """The model field's ``to_python``, refusing what the database cannot compare: integers out
    of its range, strings with NUL characters or lone surrogates, and unhashable values."""
    if field is None:
        return lambda value: value
    bounds = [
        validator
        for validator in getattr(field, "validators", [])
        if isinstance(validator, MinValueValidator | MaxValueValidator)
    ]

    def to_python(value: Any) -> Any:
        if isinstance(value, bool | dict | list) or (
            isinstance(value, float) and not value.is_integer()
        ):
            raise ValueError(value)
        value = field.to_python(value)
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("NUL character")
            value.encode("utf-8")  # lone surrogates raise UnicodeEncodeError (a ValueError)
        for validator in bounds:
            validator(value)
        hash(value)
        return value

    return to_python
