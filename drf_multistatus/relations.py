"""Relations for a whole batch at once: the references every item makes looked up with one query
per related field, many-to-many sets written with one statement per field, and what the
representation reads back fetched with one query per relation.

The lookups change nothing DRF decides: DRF's own ``to_internal_value`` still validates each item,
only the field's ``get_queryset()`` hands it, for that item, a queryset that answers the
``get(<lookup>=value)`` DRF makes from what the batch's one query found (see
:class:`ResolvedQuerySet`). So every item gets exactly the object, the message and the code
DRF's single request would give it. A field whose ``get_queryset()`` may differ between items (it
can read the item through ``self.parent``) is asked for each item, and items whose querysets
compile to the same SQL share one query. A field class with its own ``to_internal_value`` keeps
DRF's query per item.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib import parse

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models, router
from django.db.models import signals
from django.urls import Resolver404, get_script_prefix, resolve
from django.utils.encoding import uri_to_iri
from rest_framework import relations, serializers
from rest_framework.fields import empty

from .rows import insert_pairs

#: The DRF fields whose lookups are resolved per batch, and the lookup each makes.
LOOKUP_FIELDS: dict[Any, Callable[[Any], str]] = {
    relations.PrimaryKeyRelatedField: lambda field: "pk",
    relations.SlugRelatedField: lambda field: field.slug_field,
    relations.HyperlinkedRelatedField: lambda field: field.lookup_field,
}
#: Column types whose equality in Python is the database's (text only where the comparison is
#: binary: PostgreSQL's and SQLite's default collations).
EXACT_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "UUIDField",
    }
)
TEXT_TYPES = frozenset({"CharField", "TextField", "SlugField", "EmailField", "URLField"})
BINARY_TEXT_VENDORS = frozenset({"postgresql", "sqlite"})


# Lookups ------------------------------------------------------------------------------------


class ResolvedQuerySet:
    """A related field's queryset for one item: ``get(<lookup>=value)``, the one call DRF's
    ``to_internal_value`` makes, answered from what the batch's query found for the values it
    asked about; any other value, and any other use, goes to the queryset itself."""

    def __init__(self, queryset: models.QuerySet[Any], lookup: Lookup, found: Found) -> None:
        self.queryset = queryset
        self.lookup = lookup
        self.found = found

    def get(self, *args: Any, **kwargs: Any) -> Any:
        if args or len(kwargs) != 1 or next(iter(kwargs)) not in self.lookup.names:
            return self.queryset.get(*args, **kwargs)
        self.found.fetch()
        try:
            key = self.lookup.prepare(next(iter(kwargs.values())))
            asked = key in self.found.asked
        except Exception:  # the queryset raises what DRF expects (TypeError, ValueError, …)
            return self.queryset.get(*args, **kwargs)
        if not asked:
            return self.queryset.get(*args, **kwargs)
        objects = self.found.objects.get(key, ())
        model = self.queryset.model
        if not objects:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if len(objects) > 1:
            raise model.MultipleObjectsReturned(
                f"get() returned more than one {model._meta.object_name} -- it returned "
                f"{len(objects)}!"
            )
        return objects[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queryset, name)

    def __iter__(self) -> Any:
        return iter(self.queryset)


class Lookup:
    """The model field a related field's ``get()`` names, and how Django prepares a value for
    it (as an ``exact`` lookup does)."""

    def __init__(self, model: type[models.Model], name: str) -> None:
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        assert isinstance(field, models.Field)
        self.field = field
        self.names = {name, field.name} | ({"pk"} if field.primary_key else set())
        self.filter = f"{field.name}__in"

    def prepare(self, value: Any) -> Any:
        key = self.field.get_prep_value(value)
        hash(key)
        return key

    def key_of(self, obj: models.Model) -> Any:
        return getattr(obj, self.field.attname)

    def in_range(self, value: Any) -> bool:
        """Whether the column can hold ``value`` (integers within the database's range)."""
        try:
            for validator in self.bounds:
                validator(value)
        except ValidationError:
            return False
        return True

    @functools.cached_property
    def bounds(self) -> list[Any]:
        return [
            validator
            for validator in self.field.validators
            if isinstance(validator, MinValueValidator | MaxValueValidator)
        ]


class Found:
    """One query's worth: the values to ask ``queryset`` about (for every field and serializer
    of the batch whose queryset compiles to the same SQL), and then the objects holding each."""

    def __init__(self, queryset: models.QuerySet[Any], lookup: Lookup) -> None:
        self.queryset = queryset
        self.lookup = lookup
        self.wanted: set[Any] = set()
        self.asked: set[Any] = set()
        self.refused: set[Any] = set()  # values Python would not send: asked item by item
        self.objects: dict[Any, list[models.Model]] = {}

    def want(self, value: Any) -> None:
        self.wanted.add(value)

    def fetch(self) -> None:
        """One query for the values not asked about yet: made when the first item is
        validated, by then every serializer of the batch has said what it wants. A value beyond
        the column's range names nothing (as Django's ``get()`` of it finds nothing); should
        Python refuse to send the others, each item asks the queryset itself."""
        if len(self.wanted) + len(self.refused) == len(self.asked):
            return
        wanted = self.wanted - self.asked
        comparable = {value for value in wanted if self.lookup.in_range(value)}
        try:
            found = list(self.queryset.filter(**{self.lookup.filter: list(comparable)}))
        except (OverflowError, TypeError, ValueError):
            self.refused |= wanted
            return
        for obj in found:
            self.objects.setdefault(self.lookup.key_of(obj), []).append(obj)
        self.asked |= wanted


def lookup_of(field: relations.RelatedField[Any, Any, Any]) -> str | None:
    """The lookup a DRF related field makes, where its ``to_internal_value`` is DRF's own (and,
    for a hyperlink, its ``get_object``); None for any other field."""
    kind: Any = type(field)
    for base, name in LOOKUP_FIELDS.items():
        if isinstance(field, base):
            overridden = kind.to_internal_value is not base.to_internal_value or (
                base is relations.HyperlinkedRelatedField
                and kind.get_object is not relations.HyperlinkedRelatedField.get_object
            )
            return None if overridden else name(field)
    return None


def has_own_queryset_method(field: relations.RelatedField[Any, Any, Any]) -> bool:
    """Whether the field's class overrides ``get_queryset()`` (it may read the item)."""
    return type(field).get_queryset is not relations.RelatedField.get_queryset


def comparable(lookup: Lookup, database: str) -> bool:
    """Whether the database compares the lookup's values as Python does."""
    kind = lookup.field.get_internal_type()
    if kind in EXACT_TYPES:
        return True
    return (
        kind in TEXT_TYPES
        and connections[database].vendor in BINARY_TEXT_VENDORS
        and getattr(lookup.field, "db_collation", None) is None
    )


def hyperlink_value(field: relations.HyperlinkedRelatedField[Any], data: Any) -> Any:
    """The lookup value a hyperlink names, read as DRF's ``to_internal_value`` reads it; empty
    where it names nothing this field takes (DRF then answers without a query)."""
    if not isinstance(data, str):
        return empty
    if data.startswith(("http:", "https:")):
        data = parse.urlparse(data).path
        prefix = get_script_prefix()
        if data.startswith(prefix):
            data = "/" + data[len(prefix) :]
    try:
        match = resolve(uri_to_iri(parse.unquote(data)))
    except Resolver404:
        return empty
    request = field.context.get("request")
    try:
        expected = request.versioning_scheme.get_versioned_viewname(field.view_name, request)  # type: ignore[union-attr]
    except AttributeError:
        expected = field.view_name
    if match.view_name != expected:
        return empty
    return match.kwargs.get(field.lookup_url_kwarg, empty)


class FieldLookups:
    """One writable related field (the child of a ``many=True`` one) of the batch's serializer:
    the values each item gives it, and each item's queryset."""

    def __init__(
        self,
        name: str,
        field: relations.RelatedField[Any, Any, Any],
        many: bool,
        lookup: Lookup,
    ) -> None:
        self.name = name
        self.field = field
        self.many = many
        self.lookup = lookup
        self.per_item = has_own_queryset_method(field)
        self.get_queryset = field.get_queryset  # DRF's, or the project's
        self.resolved: dict[int, ResolvedQuerySet] = {}  # by item index
        self.by_key: dict[Any, ResolvedQuerySet] = {}  # by compiled queryset

    def values(self, item: Any) -> list[Any]:
        if not isinstance(item, Mapping):
            return []
        data = item.get(self.name, empty)
        if self.many:
            if isinstance(data, str) or not isinstance(data, list):
                return []
            data_list = data
        else:
            data_list = [data]
        if isinstance(self.field, relations.HyperlinkedRelatedField):
            data_list = [hyperlink_value(self.field, value) for value in data_list]
        return [value for value in data_list if value is not empty and value not in ("", None)]


class BatchRelations:
    """The related fields of a batch's ``serializer``, resolved for the items it validates
    (``entries``: each item's index in the batch, the item, its target): every value looked
    up with one query per field and distinct queryset, made as the first item is validated.
    ``select(index)`` before validating an item makes each field answer for it.

    ``found`` (shared by the serializers of one batch) holds the queries, by model field and
    compiled queryset: a second serializer whose fields compile to the same SQL shares them."""

    def __init__(
        self,
        serializer: serializers.Serializer[Any],
        entries: Sequence[tuple[int, Any, Any]],
        found: dict[Any, Found] | None = None,
    ) -> None:
        self.serializer = serializer
        self.fields = list(batched_fields(serializer))
        self.index = 0
        self.found: dict[Any, Found] = {} if found is None else found
        for lookups in self.fields:
            shared = None if lookups.per_item else self.resolve(lookups, lookups.get_queryset())
            for index, item, target in entries:
                values = lookups.values(item)
                if not values:  # nothing to look up: DRF answers without a query
                    continue
                if shared is not None:
                    resolved = shared
                else:
                    try:
                        queryset = self.queryset_for(lookups, item, target)
                    except Exception:  # it raises again, for this item alone, as it validates
                        continue
                    resolved = self.resolve(lookups, queryset)
                lookups.resolved[index] = resolved
                for value in values:
                    try:
                        resolved.found.want(lookups.lookup.prepare(value))
                    except Exception:  # DRF's lookup raises it, without a query
                        continue
            lookups.field.get_queryset = functools.partial(self.queryset_of, lookups)  # type: ignore[method-assign]

    def resolve(self, lookups: FieldLookups, queryset: Any) -> ResolvedQuerySet:
        """The stand-in for ``queryset``: one per distinct compiled queryset of a field."""
        key = cache_key(lookups.lookup, queryset)
        resolved = lookups.by_key.get(key)
        if resolved is None:
            found = self.found.setdefault(key, Found(queryset, lookups.lookup))
            resolved = lookups.by_key[key] = ResolvedQuerySet(queryset, lookups.lookup, found)
        return resolved

    def select(self, index: int) -> None:
        self.index = index

    def queryset_of(self, lookups: FieldLookups) -> Any:
        resolved = lookups.resolved.get(self.index)
        return resolved if resolved is not None else lookups.get_queryset()

    def queryset_for(self, lookups: FieldLookups, item: Any, target: Any) -> Any:
        """The field's queryset as it is while ``item`` is validated."""
        serializer = self.serializer
        saved = serializer.instance, getattr(serializer, "initial_data", empty)
        serializer.instance, serializer.initial_data = target, item
        try:
            return lookups.get_queryset()
        finally:
            serializer.instance, serializer.initial_data = saved


def cache_key(lookup: Lookup, queryset: Any) -> Any:
    """What makes two querysets of a field one query: the same SQL. Told from the parts of the
    query a lookup's SQL is made of, compared as Django compares them (a lookup, a column, a
    join are equal when their classes, columns and values are); a query with other parts is
    compiled."""
    query = queryset.query
    if query.combinator or query.extra or query.annotations or query.group_by is not None:
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:  # ``none()``: nothing to ask, whatever the item
            return lookup.field, queryset.db, "nothing", id(queryset)
        return lookup.field, queryset.db, sql, tuple(map(repr, params))
    return (
        lookup.field,
        queryset.db,
        query.model,
        query.where,
        tuple(query.alias_map.values()),
        query.distinct,
        tuple(query.distinct_fields),
        query.low_mark,
        query.high_mark,
        query.select_for_update,
    )


def batched_fields(serializer: serializers.Serializer[Any]) -> Iterable[FieldLookups]:
    """The serializer's writable related fields whose lookups a batch can make at once."""
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        related: Any = (
            field.child_relation if isinstance(field, relations.ManyRelatedField) else field
        )
        if not isinstance(related, relations.RelatedField):
            continue
        lookup_name = lookup_of(related)
        queryset = None if has_own_queryset_method(related) else getattr(related, "queryset", None)
        model = getattr(queryset, "model", None) or related_model(serializer, field)
        if lookup_name is None or model is None or "__" in lookup_name:
            continue
        try:
            lookup = Lookup(model, lookup_name)
        except (FieldDoesNotExist, AssertionError):
            continue
        if comparable(lookup, getattr(queryset, "db", None) or router.db_for_read(model)):
            yield FieldLookups(name, related, related is not field, lookup)


def related_model(
    serializer: serializers.Serializer[Any], field: serializers.Field[Any, Any, Any, Any]
) -> type[models.Model] | None:
    """The model a field of a ``ModelSerializer`` relates to, by its source."""
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None or len(field.source_attrs) != 1:
        return None
    try:
        model_field = model._meta.get_field(field.source_attrs[0])
    except FieldDoesNotExist:
        return None
    return getattr(model_field, "related_model", None)


# Many-to-many sets ---------------------------------------------------------------------------


def set_fields(
    serializer: serializers.Serializer[Any], model: type[models.Model]
) -> dict[str, models.ManyToManyField[Any, Any]]:
    """The serializer's writable many-to-many fields (by source), each a forward many-to-many
    of ``model`` through the table Django made for it: what ``ModelSerializer``'s ``set()``
    writes, and nothing else."""
    found = {}
    for field in serializer.fields.values():
        if field.read_only or not isinstance(field, relations.ManyRelatedField):
            continue
        model_field = forward_many_to_many(model, field.source_attrs)
        if model_field is not None:
            found[str(field.source)] = model_field
    return found


def forward_many_to_many(
    model: type[models.Model], source_attrs: Sequence[str]
) -> models.ManyToManyField[Any, Any] | None:
    if len(source_attrs) != 1:
        return None
    try:
        field = model._meta.get_field(source_attrs[0])
    except FieldDoesNotExist:
        return None
    if not isinstance(field, models.ManyToManyField):
        return None
    through: Any = field.remote_field.through
    if not through._meta.auto_created or signals.m2m_changed.has_listeners(through):
        return None
    return field


def write_sets(
    fields: Mapping[str, models.ManyToManyField[Any, Any]],
    sets: Sequence[tuple[models.Model, Mapping[str, Sequence[models.Model]]]],
    database: str,
    replace: bool,
) -> None:
    """Give each object its new sets, as ``set()`` would leave them: per field one insert of the
    missing rows (as many as the database takes parameters for) and, where ``replace`` (objects
    that had sets already), one read of the rows there and one delete of those no longer
    wanted."""
    for source, field in fields.items():
        wanted = {
            obj.pk: {target.pk for target in targets[source]}
            for obj, targets in sets
            if source in targets
        }
        if not wanted:
            continue
        through: Any = field.remote_field.through
        from_field = through._meta.get_field(field.m2m_field_name())
        to_field = through._meta.get_field(field.m2m_reverse_field_name())
        from_column, to_column = from_field.attname, to_field.attname
        connection = connections[database]
        manager = through._default_manager.db_manager(database)
        present: dict[Any, set[Any]] = defaultdict(set)
        if replace:
            stale = []
            rows = manager.filter(**{f"{from_column}__in": list(wanted)}).values_list(
                "pk", from_column, to_column
            )
            for row_pk, source_pk, target_pk in rows:
                if target_pk in wanted[source_pk]:
                    present[source_pk].add(target_pk)
                else:
                    stale.append(row_pk)
            if stale:
                manager.filter(pk__in=stale).delete()
        missing = [
            (
                from_field.get_db_prep_save(source_pk, connection),
                to_field.get_db_prep_save(target_pk, connection),
            )
            for source_pk, targets in wanted.items()
            for target_pk in sorted(targets - present[source_pk], key=repr)
        ]
        if missing:
            insert_pairs(
                through._meta.db_table, (from_field.column, to_field.column), missing, database
            )


def remember_sets(
    fields: Mapping[str, models.ManyToManyField[Any, Any]],
    sets: Sequence[tuple[models.Model, Mapping[str, Sequence[models.Model]]]],
    new: bool,
) -> None:
    """Give each object's many-to-many manager the set just written (and a new object the
    empty set of a field it did not name), as ``prefetch_related`` would, so that reading them
    back costs no query — where the order the database would list them in is certain: the
    related model's ordering ends on a unique key that Python orders as the database does."""
    for source, field in fields.items():
        order = python_ordering(field.related_model)
        for obj, targets in sets:
            if source in targets and order is not None:
                known = sorted(
                    {target.pk: target for target in targets[source]}.values(), key=order
                )
            elif source not in targets and new:
                known = []
            else:
                continue
            manager: Any = getattr(obj, field.name)
            queryset = manager.get_queryset()
            queryset._result_cache = known
            queryset._prefetch_done = True
            obj._prefetched_objects_cache = getattr(obj, "_prefetched_objects_cache", {})  # type: ignore[attr-defined]
            obj._prefetched_objects_cache[manager.prefetch_cache_name] = queryset  # type: ignore[attr-defined]


def python_ordering(model: Any) -> Callable[[models.Model], Any] | None:
    """A sort key that orders ``model``'s objects as its ``Meta.ordering`` orders them in the
    database, where that is certain: fields Python compares as the database does (integers,
    UUIDs ascending), never null, the last one unique. None otherwise."""
    terms: list[tuple[str, bool]] = []
    last: Any = None
    for term in model._meta.ordering:
        if not isinstance(term, str):
            return None
        descending, name = term.startswith("-"), term.lstrip("-")
        last = (
            model._meta.pk
            if name == "pk"
            else next((field for field in model._meta.concrete_fields if field.name == name), None)
        )
        kind = last.get_internal_type() if last is not None else None
        if kind not in EXACT_TYPES or last.null or (descending and kind == "UUIDField"):
            return None
        terms.append((last.attname, descending))
    if last is None or not (last.primary_key or last.unique):
        return None

    def key(obj: models.Model) -> tuple[Any, ...]:
        return tuple(
            -getattr(obj, attname) if descending else getattr(obj, attname)
            for attname, descending in terms
        )

    return key


# What the representation reads ---------------------------------------------------------------


def representation_lookups(
    serializer: serializers.BaseSerializer[Any], model: type[models.Model], prefix: str = ""
) -> list[str]:
    """The relations ``serializer`` reads an object of ``model`` through, as
    ``prefetch_related`` lookups: what its representation would otherwise query per item."""
    reader: Any = (
        serializer.child if isinstance(serializer, serializers.ListSerializer) else serializer
    )
    lookups: list[str] = []
    for field in getattr(reader, "fields", {}).values():
        if field.write_only or not field.source_attrs:
            continue
        attrs = field.source_attrs
        if isinstance(field, relations.RelatedField) and field.use_pk_only_optimization():
            attrs = attrs[:-1]  # the key is read off the object that holds it
        path, related = relation_path(model, attrs)
        if path is None:
            continue
        lookups.append(prefix + path)
        if isinstance(field, serializers.BaseSerializer) and related is not None:
            lookups += representation_lookups(field, related, f"{prefix}{path}__")
    return list(dict.fromkeys(lookups))


def relation_path(
    model: type[models.Model], attrs: Sequence[str]
) -> tuple[str | None, type[models.Model] | None]:
    """The longest leading run of ``attrs`` that follows model relations, as a lookup, and the
    model it reaches."""
    names: list[str] = []
    current: Any = model
    for attr in attrs:
        if current is None:
            break
        try:
            field = current._meta.get_field(attr)
        except FieldDoesNotExist:
            break
        if not field.is_relation or getattr(field, "name", None) != attr:  # not ``owner_id``
            break
        names.append(attr)
        current = field.related_model
    return ("__".join(names) or None), current if names else None


def prefetch(objs: Sequence[models.Model], lookups: Sequence[str]) -> None:
    """Read what the representation needs of ``objs`` with one query per relation (what an
    object already holds, a foreign key it was just given, is not read again)."""
    if objs and lookups:
        models.prefetch_related_objects(list(objs), *lookups)
