"""Finding the object each item of a batch names, in one query through the view's queryset.

An item names its target by the view's lookup field (update, delete) or by the upsert key. The
values are converted as the model field would convert them; a value that cannot name any object
(``"abc"`` for an integer key, a string with a NUL character, an integer beyond the database's
range) matches nothing instead of failing the query, and a second item naming the same target is
a 409 of its own.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import DatabaseError, OperationalError, connections, models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound

from .bodies import unreadable
from .context import Key
from .exceptions import (
    DuplicateTarget,
    MissingLookup,
    NotAnObject,
    UnreadableItem,
    is_concurrency_failure,
)

Target = models.Model | Exception | None
NO_MATCH = object()  # a value that cannot name any object
_LOOKUP_ERRORS = (DatabaseError, ValueError, TypeError, OverflowError)


@dataclass(frozen=True)
class Targets:
    """What a batch's items name: per item its target object, ``None`` (no target: a create) or
    the exception that answers for it; and the keys they named, with their batch index."""

    objects: list[Target]
    keys: dict[Key, int]


class KeyReader:
    """Reads what each item names its target by: the item's ``keys`` (one per field of
    ``fields``, the model lookups), converted as the model fields convert them.

    With a ``verb`` ("update"), every item must name an existing target: a missing key is 400,
    an unknown one 404. Without (an upsert's), an item whose key is missing, null or unknown has
    no target."""

    def __init__(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        keys: Sequence[str] | None = None,
        verb: str | None = None,
    ) -> None:
        self.model = model
        self.fields = tuple(fields)
        self.keys = tuple(keys or fields)
        self.verb = verb
        model_fields = [model_field(model, name) for name in fields]
        self.attnames = [
            name if name == "pk" or field is None else field.attname
            for name, field in zip(fields, model_fields, strict=True)
        ]
        self.converters = [converter(field) for field in model_fields]

    def read_keys(
        self,
        items: Sequence[Any],
        indexes: Sequence[int] | None = None,
        seen: Mapping[Key, int] | None = None,
    ) -> list[Any]:
        """Per item: its key as the database holds it, ``NO_MATCH``, or an exception. ``seen``
        holds the keys earlier parts of the batch named (a background job's earlier chunks),
        by their index; ``indexes`` are the items' indexes in the batch (0, 1, … by default)."""
        first_index: dict[Key, int] = {}
        seen = seen or {}
        keys = []
        for index, item in zip(indexes or range(len(items)), items, strict=True):
            key = self.read_key(item)
            if isinstance(key, tuple):
                earlier = first_index.get(key, seen.get(key))
                if earlier is not None:
                    key = DuplicateTarget(field=self.keys[0], index=earlier)
                else:
                    first_index[key] = index
            keys.append(key)
        return keys

    def read_key(self, item: Any) -> Any:
        problem = item_problem(item)
        if problem is not None:
            return problem
        values = []
        for name, to_python in zip(self.keys, self.converters, strict=True):
            if name not in item:
                return NO_MATCH if self.verb is None else MissingLookup(field=name, verb=self.verb)
            try:
                value = to_python(item[name])
            except (TypeError, ValueError, OverflowError, DjangoValidationError):
                return NO_MATCH
            if value is None:  # SQL's NULL equals nothing, not even another NULL
                return NO_MATCH
            values.append(value)
        return tuple(values)

    def named(
        self,
        items: Sequence[Any],
        indexes: Sequence[int] | None = None,
        seen: Mapping[Key, int] | None = None,
    ) -> dict[Key, int]:
        """The keys ``items`` name, with the batch index that named each."""
        return named(self.read_keys(items, indexes, seen), indexes)

    def key_of(self, obj: models.Model) -> Key:
        """An object's key: its values as the database returned them (already Python's)."""
        return tuple(getattr(obj, attname) for attname in self.attnames)


class TargetLookup(KeyReader):
    """Each item's target among ``queryset``, in one query. With ``lock``, targets stay locked
    (``SELECT … FOR UPDATE``, in primary-key order) until the batch commits, so that concurrent
    batches queue."""

    def __init__(
        self,
        queryset: models.QuerySet,
        fields: Sequence[str],
        keys: Sequence[str] | None = None,
        *,
        verb: str | None = None,
        lock: bool = True,
        database: str | None = None,
    ) -> None:
        super().__init__(queryset.model, fields, keys, verb)
        self.queryset = queryset
        self.lock = lock
        self.database = database or queryset.db

    def find(
        self,
        items: Sequence[Any],
        indexes: Sequence[int] | None = None,
        seen: Mapping[Key, int] | None = None,
        savepoint: bool = True,
        keys: list[Any] | None = None,
    ) -> Targets:
        """Every item's target (see :class:`Targets`), by ``keys`` where they were read
        already. Without ``savepoint``, a database that refuses the query raises
        ``LookupRefused``: the caller runs inside a savepoint of its own and tries again with
        one."""
        if keys is None:
            keys = self.read_keys(items, indexes, seen)
        found = self.fetch(keys, savepoint)
        missing = not_found(self.model) if self.verb is not None else None
        objects = [key if isinstance(key, Exception) else found.get(key, missing) for key in keys]
        return Targets(objects, named(keys, indexes))

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
        except _LOOKUP_ERRORS as exc:
            refuse_concurrency_failure(exc)
        found: dict[Key, models.Model] = {}
        for key in sorted(wanted, key=repr):  # one order, should two batches get here at once
            try:
                with transaction.atomic(using=self.database):
                    found.update(self._fetch([key]))
            except _LOOKUP_ERRORS as exc:
                refuse_concurrency_failure(exc)
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
        return {self.key_of(obj): obj for obj in queryset.using(self.database)}


def refuse_concurrency_failure(exc: Exception) -> None:
    """Raise ``exc`` again where the database gave up on the lookup because of a concurrent
    transaction (a deadlock): that is no value it could not compare."""
    if isinstance(exc, OperationalError) and is_concurrency_failure(exc):
        raise exc


def item_problem(item: Any) -> Exception | None:
    """What answers for an item that is no object to work on: one that is not an object (400),
    or one the body held but that could not be read (400, with why)."""
    reason = unreadable(item)
    if reason is not None:
        return UnreadableItem(reason=reason)
    if not isinstance(item, dict):
        return NotAnObject(item=item)
    return None


def named(keys: Sequence[Any], indexes: Sequence[int] | None) -> dict[Key, int]:
    """The keys among ``keys`` (read by ``read_keys``) with the batch index that named each."""
    return {
        key: index
        for index, key in zip(indexes or range(len(keys)), keys, strict=True)
        if isinstance(key, tuple)
    }


class LookupRefused(Exception):
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


#: Keys are locked by bucket: at most this many advisory locks per batch and model, however many
#: keys it names (PostgreSQL's lock table is shared by every transaction).
KEY_LOCK_BUCKETS = 64


def lock_keys(database: str, model: type[models.Model], keys: Sequence[Any]) -> None:
    """Hold a transaction-level advisory lock on the bucket of each of ``keys`` (PostgreSQL;
    elsewhere nothing), taken in one order by every batch, so that batches naming the same keys
    queue instead of deadlocking on each other's rows."""
    connection = connections[database]
    wanted = {key for key in keys if isinstance(key, tuple)}
    if connection.vendor != "postgresql" or not wanted:
        return
    buckets = sorted({zlib.crc32(repr(key).encode()) % KEY_LOCK_BUCKETS for key in wanted})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(%s, b)"
            " FROM unnest(%s::integer[]) AS b) AS locked",
            [model_lock_id(model), buckets],
        )


def model_lock_id(model: type[models.Model]) -> int:
    """A 32-bit id for the advisory locks of ``model``'s keys, the same in every process (the
    two-key advisory locks share no id with the one-key ones of ``Idempotency-Key``)."""
    digest = hashlib.sha256(f"drf-multistatus keys {model._meta.label}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)
