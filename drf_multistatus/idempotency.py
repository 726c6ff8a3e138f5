"""``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header): a request sent again with the
same key runs at most once, and its retries get its stored outcome.

The outcome is stored in the same database transaction as the request's writes, so "the writes
happened" and "the answer is on record" are committed together or not at all. Concurrent
duplicates queue on the key's row: on PostgreSQL the second one gets 409 at once
(``SELECT … FOR UPDATE NOWAIT``); on SQLite it waits for the write lock, then replays. A request
whose process died before committing left no outcome and no lock: its retry runs it.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import ErrorDetail, NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param

from .exceptions import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidIdempotencyKey
from .models import IdempotencyRecord
from .results import ItemResult, MultiStatus, MultiStatusData
from .settings import multistatus_settings

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
#: Response headers replayed with the outcome.
KEPT_HEADERS = ("Location", "Preference-Applied")
ANONYMOUS = "anonymous"

_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~:/-]+")
_ERROR = "__error__"  # marks a stored ErrorDetail: {"__error__": message, "code": code}


def parse_key(header: str) -> str:
    """The key of an ``Idempotency-Key`` header: a structured-field string (``"8e03…"``, the
    draft's form) or a bare token."""
    value = header.strip()
    if match := _SF_STRING.fullmatch(value):
        key = re.sub(r'\\(["\\])', r"\1", match[1])
    elif _TOKEN.fullmatch(value):
        key = value
    else:
        raise InvalidIdempotencyKey('expected a quoted string ("…", printable ASCII) or a token.')
    if not key:
        raise InvalidIdempotencyKey("the key is empty.")
    if len(key) > MAX_LENGTH:
        raise InvalidIdempotencyKey(f"the key is longer than {MAX_LENGTH} characters.")
    return key


class IdempotentRequest:
    """One request carrying a key: runs it once, or answers with what it answered before."""

    def __init__(self, request: Request, key: str, body: bytes, database: str) -> None:
        self.key = key
        self.database = database
        user = request.user
        if user is not None and user.is_authenticated:
            self.scope = f"user:{user.pk}"
        elif multistatus_settings.IDEMPOTENCY_ALLOW_ANONYMOUS:
            self.scope = ANONYMOUS
        else:
            raise NotAuthenticated("Authenticate to send an Idempotency-Key.")
        self.fingerprint = fingerprint(request, body)

    @property
    def records(self) -> Any:
        return IdempotencyRecord.objects.using(self.database).filter(scope=self.scope, key=self.key)

    def respond(self, respond: Callable[[], Response]) -> Response:
        """``respond()`` run once for this key, its outcome stored with its writes; or the
        stored outcome."""
        record = self.records.filter(expires__gt=timezone.now()).first()
        if record is not None and record.finished:
            return self.replay(record)
        if record is None:
            self.claim()
        try:
            with transaction.atomic(using=self.database):
                record = self.lock()
                if record.finished:
                    return self.replay(record)
                if record.fingerprint != self.fingerprint:
                    raise IdempotencyKeyReused
                response = respond()
                self.store(record, response)
                return response
        except (IdempotencyKeyInUse, IdempotencyKeyReused):
            raise
        except Exception:
            # Nothing was written: the key is free again for a corrected request.
            self.records.filter(status__isnull=True, fingerprint=self.fingerprint).delete()
            raise

    def claim(self) -> None:
        """Create the key's row (committed at once, so that duplicates find it)."""
        now = timezone.now()
        ttl = datetime.timedelta(seconds=multistatus_settings.IDEMPOTENCY_KEY_TTL)
        try:
            with transaction.atomic(using=self.database):
                self.records.filter(expires__lte=now).delete()
                IdempotencyRecord.objects.using(self.database).create(
                    scope=self.scope,
                    key=self.key,
                    fingerprint=self.fingerprint,
                    expires=now + ttl,
                )
        except IntegrityError:
            pass  # a duplicate claimed it first; lock() decides
        except DatabaseError as exc:  # SQLite: another request holds the write lock
            raise IdempotencyKeyInUse from exc

    def lock(self) -> IdempotencyRecord:
        """The key's row, locked until this transaction ends; 409 while another request holds
        it."""
        features = connections[self.database].features
        try:
            if features.has_select_for_update_nowait:
                return self.records.select_for_update(nowait=True).get()
            # Without row locks (SQLite), a write takes the database's write lock: a duplicate
            # waits here until this request committed.
            self.records.update(fingerprint=F("fingerprint"))
            return self.records.get()
        except IdempotencyRecord.DoesNotExist as exc:
            raise IdempotencyKeyInUse from exc  # released by a request that failed: retry
        except DatabaseError as exc:
            raise IdempotencyKeyInUse from exc

    def store(self, record: IdempotencyRecord, response: Response) -> None:
        record.status = response.status_code
        record.data = dump_data(response.data)
        record.headers = {name: response[name] for name in KEPT_HEADERS if name in response}
        record.save(update_fields=["status", "data", "headers"])

    def replay(self, record: IdempotencyRecord) -> Response:
        if record.fingerprint != self.fingerprint:
            raise IdempotencyKeyReused
        assert record.status is not None
        headers = {**record.headers, "Idempotent-Replayed": "true"}
        return Response(load_data(record.data or {}), status=record.status, headers=headers)


def fingerprint(request: Request, body: bytes) -> str:
    """What makes two requests the same: method, path and query (``?format=`` aside), content
    type, preferences and body."""
    path = remove_query_param(request.get_full_path(), api_settings.URL_FORMAT_OVERRIDE)
    parts = [
        request.method or "",
        path,
        request.content_type or "",
        request.META.get("HTTP_PREFER", ""),
        hashlib.sha256(body).hexdigest(),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# The stored outcome: JSON, with error codes and the multistatus kept --------------------------


def dump_data(data: Any) -> dict[str, Any]:
    if isinstance(data, MultiStatusData):
        multistatus = data.multistatus
        results = [
            {
                "index": r.index,
                "status": r.status,
                "href": r.href,
                "data": dump(r.data),
                "errors": dump(r.errors),
            }
            for r in multistatus.results
        ]
        return {
            "multistatus": {
                "atomic": multistatus.atomic,
                "minimal": multistatus.minimal,
                "results": results,
            }
        }
    return {"data": dump(data)}


def load_data(stored: Mapping[str, Any]) -> Any:
    if "multistatus" in stored:
        multistatus = stored["multistatus"]
        results = [
            ItemResult(
                index=r["index"],
                status=r["status"],
                href=r["href"],
                data=load(r["data"]),
                errors=load(r["errors"]),
            )
            for r in multistatus["results"]
        ]
        return MultiStatus(
            results=results, atomic=multistatus["atomic"], minimal=multistatus.get("minimal", False)
        ).as_data()
    return load(stored["data"])


def dump(value: Any) -> Any:
    if isinstance(value, ErrorDetail):
        return {_ERROR: str(value), "code": value.code}
    if isinstance(value, Mapping):
        return {str(key): dump(member) for key, member in value.items()}
    if isinstance(value, list | tuple):
        return [dump(member) for member in value]
    return value


def load(value: Any) -> Any:
    if isinstance(value, dict):
        if _ERROR in value and set(value) == {_ERROR, "code"}:
            return ErrorDetail(value[_ERROR], code=value["code"])
        return {key: load(member) for key, member in value.items()}
    if isinstance(value, list):
        return [load(member) for member in value]
    return value
