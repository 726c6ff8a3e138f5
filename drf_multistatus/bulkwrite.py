"""Writing a batch with ``bulk_create`` / ``bulk_update`` where that is provably the same as
saving item by item, and uniqueness checked for the whole batch at once.

"Provably the same" is decided per request from the classes involved (see ``can_write_in_bulk``):
the view saves with DRF's own ``perform_create`` / ``perform_update``, the serializer is a plain
``ModelSerializer`` writing no many-to-many or nested fields, and the model has DRF-invisible
behaviour neither in ``save()`` nor in ``pre_save`` / ``post_save`` receivers. Anything else takes
the per-item path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeGuard

from django.db import connections, models
from django.db.models import signals
from rest_framework import mixins, serializers
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
    serializer: serializers.Serializer, model: type[models.Model]
) -> list[tuple[str, str, UniqueIndex]]:
    """Swap the serializer's indexable ``UniqueValidator``s for batch ones.

    Returns ``(serializer field name, model field name, index)`` for each swapped validator.
    """
    indexed = []
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        validators = []
        for validator in field.validators:
            if can_index(validator, field, model):
                index = UniqueIndex(validator, field.source_attrs[-1])
                indexed.append((name, field.source_attrs[-1], index))
                validator = BatchUniqueValidator(validator, index)
            validators.append(validator)
        field.validators = validators
    return indexed


def writes_relations(serializer: serializers.Serializer) -> bool:
    """True when a writable field is a nested serializer or a to-many relation."""
    return any(
        not field.read_only
        and isinstance(field, serializers.BaseSerializer | serializers.ManyRelatedField)
        for field in serializer.fields.values()
    )


def is_plain_model(model: type[models.Model]) -> bool:
    return (
        model.save is models.Model.save
        and not model._meta.parents
        and not signals.pre_save.has_listeners(model)
        and not signals.post_save.has_listeners(model)
    )


def can_write_in_bulk(view: Any, serializer: serializers.BaseSerializer, creating: bool) -> bool:
    """Whether saving every item of this batch at once is the same as saving each in turn."""
    if not getattr(view, "bulk_write", True) or not isinstance(
        serializer, serializers.ModelSerializer
    ):
        return False
    view_class, serializer_class = type(view), type(serializer)
    if creating:
        from .mixins import BulkCreateModelMixin

        hooks_unchanged = (
            view_class.perform_create is mixins.CreateModelMixin.perform_create
            and view_class.perform_bulk_create is BulkCreateModelMixin.perform_bulk_create
            and serializer_class.create is serializers.ModelSerializer.create
        )
    else:
        from .mixins import BulkUpdateModelMixin

        hooks_unchanged = (
            view_class.perform_update is mixins.UpdateModelMixin.perform_update
            and view_class.perform_bulk_update is BulkUpdateModelMixin.perform_bulk_update
            and serializer_class.update is serializers.ModelSerializer.update
        )
    model = serializer.Meta.model
    return (
        hooks_unchanged
        and serializer_class.save is serializers.BaseSerializer.save
        and is_plain_model(model)
        and not writes_relations(serializer)
    )


# Column types ``update_rows`` writes through ``UPDATE … FROM (VALUES …)``; rows of models with
# other columns go through Django's ``bulk_update``.
TEXT_TYPES = frozenset({"CharField", "TextField", "SlugField", "EmailField", "URLField"})
VALUE_TYPES = TEXT_TYPES | {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "BooleanField",
    "FloatField",
    "DateField",
    "DateTimeField",
    "UUIDField",
}


def column_type(field: models.Field) -> str:
    """The internal type of the column behind ``field`` (a foreign key's is its target's)."""
    target = getattr(field, "target_field", None) if field.is_relation else field
    return target.get_internal_type() if target is not None else ""


def update_rows(
    model: type[models.Model], objs: list[models.Model], fields: list[models.Field], using: str
) -> None:
    """Write ``fields`` of ``objs`` as ``save()`` would, in as few statements as possible.

    Django's ``bulk_update`` builds one ``CASE WHEN pk = … THEN …`` per field, whose cost grows
    with the square of the rows (minutes for 10,000 rows on PostgreSQL). On PostgreSQL and
    SQLite, rows whose columns are all plain types are written by joining a ``VALUES`` list
    instead, in one statement per as many rows as the database takes parameters for.
    """
    connection = connections[using]
    pk = model._meta.pk
    assert pk is not None
    columns = [pk, *fields]
    if connection.vendor not in ("postgresql", "sqlite") or not all(
        column_type(field) in VALUE_TYPES for field in columns
    ):
        model._default_manager.db_manager(using).bulk_update(objs, [f.name for f in fields])
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    if connection.vendor == "postgresql":
        # text for strings, so that a value too long fails as in an UPDATE, not truncated
        casts = [
            "::text" if column_type(f) in TEXT_TYPES else f"::{f.db_type(connection)}"
            for f in columns
        ]
        max_params = 65535
    else:
        casts = [""] * len(columns)
        max_params = connection.features.max_query_params or 999
    row = "(" + ", ".join(f"%s{cast}" for cast in casts) + ")"
    assignments = ", ".join(
        f"{quote(str(field.column))} = v.column{position}"
        for position, field in enumerate(fields, start=2)
    )
    per_statement = max(1, max_params // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            params = [
                field.get_db_prep_save(getattr(obj, field.attname), connection)
                for obj in chunk
                for field in columns
            ]
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(chunk))}) "
                f"AS v WHERE {table}.{quote(str(pk.column))} = v.column1",
                params,
            )
