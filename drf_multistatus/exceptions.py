"""Exceptions for whole-request errors, and the mapping of per-item exceptions to statuses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError, models
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings

from .results import iter_error_messages


class NotABatch(exceptions.ParseError):
    """The body of a bulk request is not a JSON array."""

    default_detail = _('Expected a list of items but got type "{datatype}".')
    empty_detail = _("Expected a list of items but the request body is empty.")
    default_code = "not_a_list"

    def __init__(self, datatype: str | None) -> None:
        """``datatype`` is the name of the type the body holds; None for an empty body."""
        if datatype is None:
            super().__init__(self.empty_detail)
        else:
            super().__init__(self.default_detail.format(datatype=datatype))


class BatchTooLarge(exceptions.APIException):
    """More items than the view's ``max_batch_size`` (or the background limit)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("A batch may hold at most {limit} items; this one holds {count}.")
    background_detail = _(
        " Send it with the header Prefer: respond-async to run up to {background} items as a "
        "background job."
    )
    default_code = "batch_too_large"

    def __init__(self, count: int, limit: int, background: int | None = None) -> None:
        detail = self.default_detail.format(limit=limit, count=count)
        if background:
            detail += self.background_detail.format(background=background)
        super().__init__(detail)


class RequestBodyTooLarge(exceptions.APIException):
    """A body over Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``, refused before it is read."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _(
        "The request body holds {length} bytes; this server accepts at most {limit}."
    )
    default_code = "request_too_large"

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(self.default_detail.format(length=length, limit=limit))


class InvalidIdempotencyKey(exceptions.ParseError):
    """An ``Idempotency-Key`` header that is empty, too long or not a string."""

    default_detail = _("Invalid Idempotency-Key header: {reason}")
    default_code = "invalid_idempotency_key"

    def __init__(self, reason: str) -> None:
        super().__init__(self.default_detail.format(reason=reason))


class IdempotencyKeyRequired(exceptions.ParseError):
    default_detail = _(
        'This endpoint requires an Idempotency-Key header, e.g. Idempotency-Key: "<a new UUID>".'
    )
    default_code = "idempotency_key_required"


class IdempotencyKeyInUse(exceptions.APIException):
    """A request with this key is still running: retry after ``wait`` seconds (DRF's exception
    handler sends it as ``Retry-After``)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("A request with this Idempotency-Key is still being processed; retry later.")
    default_code = "idempotency_key_in_use"

    def __init__(self, wait: int = 1) -> None:
        super().__init__()
        self.wait = wait


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _(
        "This Idempotency-Key was used for another request (method, path, user or body differ); "
        "send a new key for a new request."
    )
    default_code = "idempotency_key_reused"


class InvalidItem(exceptions.APIException):
    """An item that cannot be processed at all: not an object, or no usable lookup value."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("This item cannot be processed.")
    default_code = "invalid"


class NotAnObject(InvalidItem):
    """An item that is not an object (a number, a string, a list, null)."""

    default_detail = _("Invalid data. Expected a dictionary, but got {datatype}.")

    def __init__(self, item: Any) -> None:
        message = self.default_detail.format(datatype=type(item).__name__)
        detail = {api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail(message, code=self.default_code)]}
        super().__init__(detail)


class MissingLookup(InvalidItem):
    """An item without the field that names its target."""

    default_detail = _("This field is required to name the object to {verb}.")
    default_code = "required"

    def __init__(self, key: str, verb: str) -> None:
        message = self.default_detail.format(verb=verb)
        super().__init__({key: [ErrorDetail(message, code=self.default_code)]})


class ItemConflict(exceptions.APIException):
    """An item collides with another item of the same batch or with the database."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This item conflicts with the current state of the resource.")
    default_code = "conflict"


class DuplicateTarget(ItemConflict):
    """A second item of one batch naming an object an earlier item already names."""

    default_detail = _("Item {index} of this batch already targets this object.")
    default_code = "duplicate_target"

    def __init__(self, key: str, index: int) -> None:
        message = self.default_detail.format(index=index)
        super().__init__({key: [ErrorDetail(message, code=self.default_code)]})


class ProtectedItem(ItemConflict):
    """An object the database keeps because other rows refer to it (``on_delete=PROTECT`` or
    ``RESTRICT``): the message counts them, ``3 contacts refer to this company``."""

    default_detail = _("Not deleted: {referring} {verb} to this {model}.")
    default_code = "protected"

    def __init__(
        self, exc: ProtectedError | RestrictedError, model: type[models.Model] | None = None
    ) -> None:
        referring = (
            exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        )
        counts = Counter(type(obj)._meta for obj in referring)
        parts = [
            f"{n} {meta.verbose_name if n == 1 else meta.verbose_name_plural}"
            for meta, n in sorted(counts.items(), key=lambda entry: (-entry[1], str(entry[0])))
        ]
        message = self.default_detail.format(
            referring=" and ".join(parts) or _("other objects"),
            verb=_("refers") if sum(counts.values()) == 1 else _("refer"),
            model=model._meta.verbose_name if model is not None else _("object"),
        )
        super().__init__(message, self.default_code)


class ConcurrentConflict(exceptions.APIException):
    """The database gave up on an item because of a concurrent transaction (deadlock,
    serialization failure): a passing condition, so 503, and the same item may succeed when
    sent again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("This item collided with a concurrent request and was not saved; retry it.")
    default_code = "concurrent_conflict"


# SQLSTATEs for serialization failure and deadlock (PostgreSQL, and the SQL standard's 40001).
CONCURRENCY_SQLSTATES = {"40001", "40P01"}


def is_concurrency_failure(exc: OperationalError) -> bool:
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return sqlstate in CONCURRENCY_SQLSTATES


class FailedDependency(exceptions.APIException):
    """A valid item that was not saved because another item of an atomic batch failed."""

    status_code = status.HTTP_424_FAILED_DEPENDENCY
    default_detail = _(
        "Not saved: this batch is all-or-nothing and {count} item(s) failed "
        "(first failed item: {first})."
    )
    default_code = "failed_dependency"

    def __init__(
        self, detail: Any = None, code: str | None = None, *, failed: list[int] | None = None
    ) -> None:
        if detail is None and failed:
            detail = self.default_detail.format(count=len(failed), first=failed[0])
        super().__init__(detail, code)


def error_dict(exc: exceptions.APIException) -> dict[str, Any]:
    """DRF's error body for an exception: its dict detail as is, anything else under ``detail``."""
    detail = exc.detail
    if isinstance(detail, Mapping):
        return dict(detail)
    if isinstance(detail, list):
        return {api_settings.NON_FIELD_ERRORS_KEY: detail}
    return {"detail": detail}


def is_conflict(errors: Mapping[str, Any], conflict_codes: Iterable[str]) -> bool:
    """True when every error of an item carries one of the conflict codes (e.g. ``unique``)."""
    codes = [code for _path, _message, code in iter_error_messages(errors)]
    return bool(codes) and all(code in set(conflict_codes) for code in codes)


def item_error(exc: Exception, conflict_codes: Iterable[str]) -> tuple[int, dict[str, Any]] | None:
    """Map an exception raised while processing one item to ``(status, errors)``.

    Returns None for exceptions that are not expected outcomes: the caller answers 500.
    """
    if isinstance(exc, exceptions.ValidationError | DjangoValidationError):
        errors = as_serializer_error(exc)
        if is_conflict(errors, conflict_codes):
            return status.HTTP_409_CONFLICT, errors
        return status.HTTP_422_UNPROCESSABLE_ENTITY, errors
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ProtectedError | RestrictedError):
        exc = ProtectedItem(exc)
    elif isinstance(exc, IntegrityError):
        exc = ItemConflict()
    elif isinstance(exc, OperationalError) and is_concurrency_failure(exc):
        exc = ConcurrentConflict()
    if isinstance(exc, exceptions.APIException):
        return exc.status_code, error_dict(exc)
    return None


SERVER_ERROR = {
    "detail": ErrorDetail("A server error occurred while processing this item.", code="error")
}

__all__ = [
    "SERVER_ERROR",
    "BatchTooLarge",
    "ConcurrentConflict",
    "DuplicateTarget",
    "FailedDependency",
    "IdempotencyKeyInUse",
    "IdempotencyKeyRequired",
    "IdempotencyKeyReused",
    "InvalidIdempotencyKey",
    "InvalidItem",
    "ItemConflict",
    "MissingLookup",
    "NotABatch",
    "NotAnObject",
    "ProtectedItem",
    "RequestBodyTooLarge",
    "error_dict",
    "is_conflict",
    "item_error",
]
