"""``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header): a request sent again with the
same key runs at most once, and its retries get its stored outcome.

The outcome is stored in the same database transaction as the request's writes, so "the writes
happened" and "the answer is on record" are committed together or not at all. Concurrent
duplicates queue on the key: on PostgreSQL the second one gets 409 at once (a transaction-level
advisory lock); on SQLite it waits for the write lock, then replays. A request whose process
died before committing left no outcome and no lock: its retry runs it.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param

from .exceptions import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidIdempotencyKey
from .models import IdempotencyRecord
from .parsers import StreamedBatch
from .results import MultiStatus, MultiStatusData, dump, dump_result, load, load_result
from .settings import multistatus_settings

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
#: Response headers stored with the outcome and replayed with it.
STORED_RESPONSE_HEADERS = ("Location", "Preference-Applied")
ANONYMOUS = "anonymous"

_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~:/-]+")


def parse_key(header: str) -> str:
    """The key of an ``Idempotency-Key`` header: a structured-field string (``"8e03…"``, the
    draft's form) or a bare token."""
    value = header.strip()
    if match := _SF_STRING.fullmatch(value):
        key = re.sub(r'\\(["\\])', r"\1", match[1])
    elif _TOKEN.fullmatch(value):
        key = value
    else:
        raise InvalidIdempotencyKey(
            reason=_('expected a quoted string ("…", printable ASCII) or a token.')
        )
    if not key:
        raise InvalidIdempotencyKey(reason=_("the key is empty."))
    if len(key) > MAX_LENGTH:
        raise InvalidIdempotencyKey(
            reason=_("the key is longer than %(max)d characters.") % {"max": MAX_LENGTH}
        )
    return key


class IdempotentRequest:
    """One request carrying a key (the ``Idempotency-Key`` header's value): runs it once, or
    answers with what it answered before."""

    def __init__(self, request: Request, header: str, database: str) -> None:
        self.key = parse_key(header)
        self.database = database
        user = request.user
        if user is not None and user.is_authenticated:
            self.scope = f"user:{user.pk}"
        elif multistatus_settings.IDEMPOTENCY_ALLOW_ANONYMOUS:
            self.scope = ANONYMOUS
        else:
            raise NotAuthenticated(_("Authenticate to send an Idempotency-Key."))
        self.request = request

    @functools.cached_property
    def fingerprint(self) -> str:
        """Taken when first needed: a batch streamed into a job is hashed as it is stored (a
        replay reads the rest of the body, unparsed, to hash it)."""
        return fingerprint(self.request)

    @property
    def records(self) -> Any:
        return IdempotencyRecord.objects.using(self.database).filter(scope=self.scope, key=self.key)

    def respond(self, respond: Callable[[], Response]) -> Response:
        """``respond()`` run once for this key, its outcome stored with its writes; or the
        stored outcome."""
        record = self.records.filter(expires__gt=timezone.now()).first()
        if record is not None:  # a replay takes no lock and writes nothing
            return self.replay(record)
        with transaction.atomic(using=self.database):
            self.lock()
            record = self.records.first()  # a duplicate may have finished while we waited
            if record is not None and record.expires > timezone.now():
                return self.replay(record)
            if record is not None:
                record.delete()
            response = respond()
            self.store(response)
            return response

    def lock(self) -> None:
        """Hold the key until this transaction ends; 409 while another request holds it.

        PostgreSQL: a transaction-level advisory lock, tried without waiting. Elsewhere (SQLite)
        a write, which takes the database's write lock: a duplicate waits until this request
        committed, then finds its outcome.
        """
        connection = connections[self.database]
        try:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [self.lock_id()])
                    if not cursor.fetchone()[0]:
                        raise IdempotencyKeyInUse
            else:
                self.records.update(key=F("key"))
        except DatabaseError as exc:  # SQLite: the write lock was not free in time
            raise IdempotencyKeyInUse from exc

    def lock_id(self) -> int:
        digest = hashlib.sha256(f"drf-multistatus {self.scope} {self.key}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def store(self, response: Response) -> None:
        ttl = datetime.timedelta(seconds=multistatus_settings.IDEMPOTENCY_KEY_TTL)
        IdempotencyRecord(
            scope=self.scope,
            key=self.key,
            fingerprint=self.fingerprint,
            status=response.status_code,
            data=json.dumps(dump_data(response.data), cls=DjangoJSONEncoder),
            headers={name: response[name] for name in STORED_RESPONSE_HEADERS if name in response},
            expires=timezone.now() + ttl,
        ).save(using=self.database, force_insert=True)

    def replay(self, record: IdempotencyRecord) -> Response:
        if record.fingerprint != self.fingerprint:
            raise IdempotencyKeyReused
        headers = {**record.headers, "Idempotent-Replayed": "true"}
        return Response(load_data(json.loads(record.data)), status=record.status, headers=headers)


def fingerprint(request: Request) -> str:
    """What makes two requests the same: method, path and query (``?format=`` aside), content
    type, preferences and body — its bytes as the parsers read them (``body_digest``), or, for
    a body DRF's form parsers read, its data."""
    path = remove_query_param(request.get_full_path(), api_settings.URL_FORMAT_OVERRIDE)
    data = request.data
    if isinstance(data, StreamedBatch):
        digest = data.digest()
    else:
        digest = request.parser_context.get("body_digest") or data_digest(request)
    parts = [
        request.method or "",
        path,
        request.content_type or "",
        request.META.get("HTTP_PREFER", ""),
        digest,
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def data_digest(request: Request) -> str:
    """SHA-256 of a request's parsed data and files, in a canonical form."""
    data = request.data
    files = request.FILES
    fields = dict(data.lists()) if hasattr(data, "lists") else data
    uploads = {name: [file_digest(upload) for upload in files.getlist(name)] for name in files}
    canonical = json.dumps([fields, uploads], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def file_digest(upload: Any) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


# The stored outcome: JSON, with error codes and the multistatus kept --------------------------


def dump_data(data: Any) -> dict[str, Any]:
    if isinstance(data, MultiStatusData):
        multistatus = data.multistatus
        return {
            "multistatus": {
                "atomic": multistatus.atomic,
                "minimal": multistatus.minimal,
                "request_id": multistatus.request_id,
                "results": [dump_result(result) for result in multistatus.results],
            }
        }
    return {"data": dump(data)}


def load_data(stored: Mapping[str, Any]) -> Any:
    if "multistatus" in stored:
        multistatus = stored["multistatus"]
        return MultiStatus(
            results=[load_result(result) for result in multistatus["results"]],
            atomic=multistatus["atomic"],
            minimal=multistatus.get("minimal", False),
            request_id=multistatus.get("request_id"),
        ).as_data()
    return load(stored["data"])
