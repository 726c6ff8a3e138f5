"""Exceptions for whole-request errors, and the mapping of per-item exceptions to statuses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
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
    default_code = "not_a_list"

    def __init__(self, datatype: str) -> None:
        super().__init__(self.default_detail.format(datatype=datatype))


class BatchTooLarge(exceptions.APIException):
    """More items than the view's ``max_batch_size``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("A batch may hold at most {limit} items; this one holds {count}.")
    default_code = "batch_too_large"

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(self.default_detail.format(limit=limit, count=count))


class RequestBodyTooLarge(exceptions.APIException):
    """A body over Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``, refused before it is read."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _(
        "The request body holds {length} bytes; this server accepts at most {limit}."
    )
    default_code = "request_too_large"

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(self.default_detail.format(length=length, limit=limit))


class InvalidItem(exceptions.APIException):
    """An item that cannot be processed at all: not an object, or no usable lookup value."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"


class ItemConflict(exceptions.APIException):
    """An item collides with another item of the same batch or with the database."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This item conflicts with the current state of the resource.")
    default_code = "conflict"


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
    default_code = "failed_dependency"


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
    "FailedDependency",
    "InvalidItem",
    "ItemConflict",
    "NotABatch",
    "RequestBodyTooLarge",
    "error_dict",
    "is_conflict",
    "item_error",
]
