"""Set-based SQL writes of many rows, as ``save()`` would write them one by one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

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
    "JSONField",
}


def column_type(field: models.Field) -> str:
    """The internal type of the column behind ``field`` (a foreign key's is its target's)."""
    target = getattr(field, "target_field", None) if field.is_relation else field
    return target.get_internal_type() if target is not None else ""


def writes_values(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``connection`` takes the statements written here: ``UPDATE … FROM (VALUES …)``
    and ``INSERT … ON CONFLICT DO NOTHING RETURNING``."""
    return connection.vendor in ("postgresql", "sqlite")


def max_params(connection: BaseDatabaseWrapper) -> int:
    """How many parameters one statement may carry."""
    if connection.vendor == "postgresql":
        return 65535
    return connection.features.max_query_params or 999


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
    if not writes_values(connection) or not all(
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
    else:
        casts = [""] * len(columns)
    row = "(" + ", ".join(f"%s{cast}" for cast in casts) + ")"
    assignments = ", ".join(
        f"{quote(str(field.column))} = v.column{position}"
        for position, field in enumerate(fields, start=2)
    )
    per_statement = max(1, max_params(connection) // len(columns))
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


def write_order(fields: list[str]) -> Callable[[models.Model], tuple[str, ...]]:
    """A sort key giving rows one order in every batch (by the text of ``fields``), so that
    concurrent batches inserting the same unique values queue instead of deadlocking."""
    return lambda obj: tuple(str(getattr(obj, name)) for name in fields)


def insert_new_rows(
    model: type[models.Model], objs: list[models.Model], key: Sequence[Any], using: str
) -> list[models.Model]:
    """Insert ``objs`` whose ``key`` no row holds, as ``save()`` would insert them one by one;
    return those whose key a concurrent transaction took first, left unsaved.

    On PostgreSQL and SQLite one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` per as many rows
    as the database takes parameters for, so a race on a key is an answer, not an error;
    elsewhere ``bulk_create``, whose ``IntegrityError`` sends the caller to its per-item path.
    """
    connection = connections[using]
    if not writes_values(connection):
        model._default_manager.db_manager(using).bulk_create(objs)
        return []
    pk = model._meta.pk
    assert pk is not None
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and field.db_returning)
    ]
    quote = connection.ops.quote_name
    returning = [pk, *key]
    per_statement = max(1, max_params(connection) // max(1, len(fields)))
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(str(field.column)) for field in fields)}) VALUES "
    )
    tail = (
        f" ON CONFLICT ({', '.join(quote(str(field.column)) for field in key)}) DO NOTHING "
        f"RETURNING {', '.join(quote(str(field.column)) for field in returning)}"
    )
    taken: list[models.Model] = []
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            params = [
                field.get_db_prep_save(field.pre_save(obj, True), connection)
                for obj in chunk
                for field in fields
            ]
            cursor.execute(head + ", ".join([row] * len(chunk)) + tail, params)
            inserted = {
                tuple(
                    field.to_python(value) for field, value in zip(key, rest, strict=True)
                ): pk_value
                for pk_value, *rest in cursor.fetchall()
            }
            for obj in chunk:
                obj_key = tuple(field.to_python(getattr(obj, field.attname)) for field in key)
                if obj_key in inserted:
                    setattr(obj, pk.attname, pk.to_python(inserted[obj_key]))
                    obj._state.adding = False
                    obj._state.db = using
                else:
                    taken.append(obj)
    return taken


def insert_pairs(
    table: str, columns: tuple[str, str], pairs: Sequence[tuple[Any, Any]], using: str
) -> None:
    """Insert the rows ``pairs`` of a two-column table (a many-to-many's own) with one
    ``INSERT … VALUES`` per as many rows as the database takes parameters for: what
    ``bulk_create`` of the through model writes, without an object per row."""
    connection = connections[using]
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(table)} ({quote(columns[0])}, {quote(columns[1])}) VALUES "
    per_statement = max(1, max_params(connection) // 2)
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), per_statement):
            chunk = pairs[start : start + per_statement]
            cursor.execute(
                head + ", ".join(["(%s, %s)"] * len(chunk)),
                [value for pair in chunk for value in pair],
            )
