"""Entity tags (RFC 9110 §8.8.3): a strong validator of an object's stored state, and the
``If-Match`` rule an item of a batch, and a single-object write, is held to.

The default tag is a digest of the object's concrete field values, each as the model field reads
it (so an object just written and the same row read back have the same tag), not of its
representation, which changes with the serializer and the host.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import enum
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils import timezone
from django.utils.http import parse_etags, quote_etag

from .exceptions import InvalidPrecondition, PreconditionFailed
from .settings import multistatus_settings

ANY = "*"


Spelling = Callable[[Any], Any]


def etag_of(instance: models.Model) -> str:
    """The default strong etag of ``instance``: its model and concrete field values, hashed.
    Many-to-many sets are not part of it (a view that must see them changed supplies its own,
    from a version column for example)."""
    label, spellings = _spellings(type(instance))
    loaded = instance.__dict__
    values = []
    for attname, spell in spellings:
        value = loaded[attname] if attname in loaded else getattr(instance, attname)
        if hasattr(value, "resolve_expression"):  # F("n") + 1 or a database default: as stored
            instance.refresh_from_db(fields=[attname])
            value = getattr(instance, attname)
        values.append(spell(value))
    return f'"{hashlib.blake2b(repr((label, values)).encode(), digest_size=16).hexdigest()}"'


@functools.cache
def _spellings(model: type[models.Model]) -> tuple[str, tuple[tuple[str, Spelling], ...]]:
    """Per stored field of ``model`` (generated ones follow from the others): its attribute and
    how its value is spelt."""
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not getattr(field, "generated", False)]
    return meta.label, tuple((field.attname, spelling(field)) for field in fields)


def spelling(field: models.Field) -> Spelling:
    """How ``field``'s values are spelt in an etag, the same whether a value was just assigned
    or read from the database: a cheap conversion for the common field types, ``canonical``
    for the others."""
    target = field
    while isinstance(target, models.ForeignKey):
        target = target.target_field  # a foreign key's value is its target's
    kind = target.get_internal_type()
    if kind.endswith(("AutoField", "IntegerField")):
        simple: type = int
    elif kind in ("CharField", "TextField", "EmailField", "SlugField", "URLField"):
        simple = str
    elif kind == "FloatField":
        simple = float
    elif kind == "BooleanField":
        simple = bool
    else:
        return functools.partial(canonical, target)

    def spell(value: Any) -> Any:
        if value is None or type(value) is simple:
            return value
        return canonical(target, value)

    return spell


def canonical(field: models.Field, value: Any) -> Any:
    """``value`` as the database returns it, in one spelling: a choice's value, what the
    field's ``to_python`` makes of it, datetimes aware and in UTC, decimals rounded to the
    field's places without trailing zeros, JSON through the field's encoder and decoder."""
    if isinstance(field, models.JSONField):
        stored = json.loads(json.dumps(value, cls=field.encoder), cls=field.decoder)
        return json.dumps(stored, sort_keys=True, default=str)
    if isinstance(value, enum.Enum):
        value = value.value
    with contextlib.suppress(DjangoValidationError, TypeError, ValueError):
        value = field.to_python(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None and settings.USE_TZ:
            value = timezone.make_aware(value, timezone.get_default_timezone())
        return value.astimezone(datetime.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta | uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        places = getattr(field, "decimal_places", None)
        if value.is_finite() and places is not None:
            value = value.quantize(decimal.Decimal(1).scaleb(-places))
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, bytes | memoryview | bytearray):
        return bytes(value).hex()
    if isinstance(value, models.fields.files.FieldFile):
        return value.name
    return value


def view_etag(view: Any, instance: models.Model) -> str:
    """``instance``'s etag as ``view`` gives it (``get_bulk_etag``; the default without a view
    that has one), quoted as a header writes it: what results, headers and comparisons use."""
    return quoted(getattr(view, "get_bulk_etag", etag_of)(instance))


#: What an etag may hold between its quotes (RFC 9110 §8.8.3), ASCII only as headers are.
ETAG_CHARACTERS = re.compile(r"[\x21\x23-\x7e]*")


def quoted(etag: str) -> str:
    """A view's etag as a header spells it: quoted where it is not yet; one that a header
    cannot carry (a space, a quote inside) hashed into one that it can."""
    etag = str(etag)
    opaque = etag[3:-1] if etag.startswith('W/"') else etag[1:-1]
    if len(etag) > 1 and etag[-1] == '"' and (etag[0] == '"' or etag.startswith('W/"')):
        if ETAG_CHARACTERS.fullmatch(opaque):
            return etag
    elif ETAG_CHARACTERS.fullmatch(etag):
        return quote_etag(etag)
    return f'"{hashlib.blake2b(etag.encode(), digest_size=16).hexdigest()}"'


def guarded(items: Iterable[Any]) -> bool:
    """Whether any of ``items`` carries an ``If-Match`` (the ``IF_MATCH_KEY``)."""
    key = multistatus_settings.IF_MATCH_KEY
    return any(isinstance(item, dict) and key in item for item in items)


def condition(value: Any, key: str) -> list[str]:
    """The etags of an item's precondition, its ``key`` (``"\\"abc\\""``, a list of them as the
    ``If-Match`` header writes it, or ``"*"``); a 400 naming ``key`` for anything else."""
    if not isinstance(value, str) or not (etags := parse_etags(value)):
        raise InvalidPrecondition(field=key)
    return etags


def if_match(etags: list[str], current: str | None) -> bool:
    """RFC 9110 §13.1.1: ``*`` matches any current object, an etag the one whose current etag it
    is by strong comparison (a weak etag matches nothing); nothing matches no object."""
    if current is None:
        return False
    if etags == [ANY]:
        return True
    return not current.startswith("W/") and current in etags


def if_none_match(header: str, current: str) -> bool:
    """RFC 9110 §13.1.2 for GET: true where the client's copy is current (weak comparison)."""
    etags = parse_etags(header)
    if etags == [ANY]:
        return True
    return current.removeprefix("W/") in {etag.removeprefix("W/") for etag in etags}


def check(etags: list[str], current: str | None) -> None:
    """Raise 412 where ``current`` (None: no object) does not match ``etags``."""
    if not if_match(etags, current):
        raise PreconditionFailed
