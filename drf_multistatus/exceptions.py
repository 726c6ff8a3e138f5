"""Exceptions for whole-request errors, and the mapping of per-item exceptions to statuses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
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


class FormattedException(exceptions.APIException):
    """An ``APIException`` whose ``default_detail`` has ``{placeholders}``: DRF's
    ``(detail=None, code=None)`` signature, the values as keywords."""

    def __init__(self, detail: Any = None, code: str | None = None, **values: Any) -> None:
        if detail is None:
            detail = str(self.default_detail).format(**values)
        super().__init__(detail, code)


def field_error(field: str, message: str, code: str) -> dict[str, Any]:
    """An item's error on one field, as a serializer's validation would give it."""
    return {field: [ErrorDetail(message, code=code)]}


class NotABatch(exceptions.APIException):
    """The body of a bulk request is not a list of items; ``datatype`` names the type it holds
    (None: an empty body)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _('Expected a list of items but got type "{datatype}".')
    empty_detail = _("Expected a list of items but the request body is empty.")
    default_code = "not_a_list"

    def __init__(
        self, detail: Any = None, code: str | None = None, *, datatype: str | None = None
    ) -> None:
        if detail is None:
            template = self.default_detail if datatype is not None else self.empty_detail
            detail = str(template).format(datatype=datatype)
        super().__init__(detail, code)


class BatchTooLarge(exceptions.APIException):
    """More items than the view's ``max_batch_size`` (or the background limit)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("A batch may hold at most {limit} items; this one holds {count}.")
    more_detail = _("A batch may hold at most {limit} items; this one holds more.")
    background_detail = _(
        " Send it with the header Prefer: respond-async to run up to {background} items as a "
        "background job."
    )
    default_code = "batch_too_large"

    def __init__(
        self,
        detail: Any = None,
        code: str | None = None,
        *,
        count: int | None = None,
        limit: int = 0,
        background: int | None = None,
    ) -> None:
        """``count``: the items the batch holds (None: more than ``limit``, still counting)."""
        if detail is None:
            template = self.default_detail if count is not None else self.more_detail
            detail = str(template).format(limit=limit, count=count)
            if background:
                detail += str(self.background_detail).format(background=background)
        super().__init__(detail, code)


class RequestBodyTooLarge(FormattedException):
    """A body over its limit, refused before it is read."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _(
        "The request body holds {length} bytes; this server accepts at most {limit}."
    )
    more_detail = _("The request body holds more than the {limit} bytes this server accepts.")
    default_code = "request_too_large"


class InvalidIdempotencyKey(FormattedException):
    """An ``Idempotency-Key`` header that is empty, too long or not a string."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("Invalid Idempotency-Key header: {reason}")
    default_code = "invalid_idempotency_key"


class PreferenceNotHonoured(exceptions.ParseError):
    """``Prefer: handling=strict`` with a preference this request cannot honour (RFC 7240)."""

    default_detail = _("This request cannot honour Prefer: %(preferences)s (handling=strict).")
    default_code = "preference_not_honoured"

    def __init__(self, preferences: list[str]) -> None:
        super().__init__(self.default_detail % {"preferences": ", ".join(preferences)})


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

    def __init__(self, detail: Any = None, code: str | None = None, wait: int = 1) -> None:
        super().__init__(detail, code)
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

    def __init__(self, detail: Any = None, code: str | None = None, *, item: Any = None) -> None:
        if detail is None:
            message = str(self.default_detail).format(datatype=type(item).__name__)
            detail = field_error(api_settings.NON_FIELD_ERRORS_KEY, message, self.default_code)
        super().__init__(detail, code)


class UnreadableItem(InvalidItem):
    """An item of a JSON-lines or CSV body that could not be read (a line that is no JSON, a
    row with more cells than the header …): its own 400, the others run."""

    default_detail = _("This item could not be read.")
    default_code = "unreadable"

    def __init__(
        self,
        detail: Any = None,
        code: str | None = None,
        *,
        reason: Mapping[str, str] | None = None,
    ) -> None:
        if detail is None and reason:
            detail, code = reason.get("detail") or None, code or reason.get("code") or None
        super().__init__(detail, code)


class MissingLookup(InvalidItem):
    """An item without the field that names its target."""

    default_detail = _("This field is required to name the object to {verb}.")
    default_code = "required"

    def __init__(
        self, detail: Any = None, code: str | None = None, *, field: str = "", verb: str = ""
    ) -> None:
        if detail is None:
            message = str(self.default_detail).format(verb=verb)
            detail = field_error(field, message, self.default_code)
        super().__init__(detail, code)


class InvalidPrecondition(InvalidItem):
    """An item's precondition that names no etag."""

    default_detail = _(
        'Not an entity tag: give the "etag" of a result or of a GET, quoted, or "*".'
    )

    def __init__(self, detail: Any = None, code: str | None = None, *, field: str = "") -> None:
        if detail is None:
            detail = field_error(field, str(self.default_detail), self.default_code)
        super().__init__(detail, code)


class PreconditionFailed(exceptions.APIException):
    """An item, or a single-object write, whose ``If-Match`` names an etag the object no longer
    has (or an object that does not exist): nothing written."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("The object has changed since this etag was read: read it again.")
    default_code = "precondition_failed"


class ItemConflict(exceptions.APIException):
    """An item collides with another item of the same batch or with the database."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This item conflicts with the current state of the resource.")
    default_code = "conflict"


class DuplicateTarget(ItemConflict):
    """A second item of one batch naming an object an earlier item already names."""

    default_detail = _("Item {index} of this batch already targets this object.")
    default_code = "duplicate_target"

    def __init__(
        self, detail: Any = None, code: str | None = None, *, field: str = "", index: int = 0
    ) -> None:
        if detail is None:
            message = str(self.default_detail).format(index=index)
            detail = field_error(field, message, self.default_code)
        super().__init__(detail, code)


class ProtectedItem(ItemConflict):
    """An object the database keeps because other rows refer to it (``on_delete=PROTECT`` or
    ``RESTRICT``): the message counts them, ``3 contacts refer to this company``."""

    default_detail = _("Not deleted: {referring} {verb} to this {model}.")
    default_code = "protected"

    def __init__(
        self,
        detail: Any = None,
        code: str | None = None,
        *,
        error: ProtectedError | RestrictedError | None = None,
        model: type[models.Model] | None = None,
    ) -> None:
        if detail is None:
            detail = self.describe(error, model)
        super().__init__(detail, code)

    def describe(
        self, error: ProtectedError | RestrictedError | None, model: type[models.Model] | None
    ) -> str:
        referring = (
            error.protected_objects
            if isinstance(error, ProtectedError)
            else getattr(error, "restricted_objects", ())
        )
        counts = Counter(type(obj)._meta for obj in referring)
        parts = [
            f"{n} {meta.verbose_name if n == 1 else meta.verbose_name_plural}"
            for meta, n in sorted(counts.items(), key=lambda entry: (-entry[1], str(entry[0])))
        ]
        return str(self.default_detail).format(
            referring=" and ".join(parts) or _("other objects"),
            verb=_("refers") if sum(counts.values()) == 1 else _("refer"),
            model=model._meta.verbose_name if model is not None else _("object"),
        )


class TooManyJobs(FormattedException):
    """One more background job than ``MAX_ACTIVE_JOBS`` queued or running at once: 429, and
    ``Retry-After`` (DRF's exception handler sends ``wait``)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = _(
        "{limit} background jobs of yours are queued or running; send this one when one of "
        "them has ended."
    )
    default_code = "too_many_jobs"
    wait = 5


class UserInactive(exceptions.PermissionDenied):
    """A background job's user was deactivated or deleted before its items ran."""

    default_detail = _("Not run: the user who submitted this job is inactive or deleted.")
    default_code = "user_inactive"


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
    """A valid item that was not saved because the items ``failed`` (their indexes) of an
    atomic batch failed."""

    status_code = status.HTTP_424_FAILED_DEPENDENCY
    default_detail = _(
        "Not saved: this batch is all-or-nothing and {count} item(s) failed "
        "(first failed item: {first})."
    )
    default_code = "failed_dependency"

    def __init__(
        self, detail: Any = None, code: str | None = None, *, failed: Sequence[int] = ()
    ) -> None:
        if detail is None and failed:
            detail = str(self.default_detail).format(count=len(failed), first=failed[0])
        super().__init__(detail, code)


class JobCancelled(exceptions.APIException):
    """An item of a background job that was cancelled before the item's turn: a failed
    dependency, as an atomic batch's unsaved items are."""

    status_code = status.HTTP_424_FAILED_DEPENDENCY
    default_detail = _("Not run: the job was cancelled before this item's turn.")
    default_code = "cancelled"


class JobFailed(exceptions.APIException):
    """An item of a background job that stopped on an unexpected error before its turn."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = _(
        "Not run: the job stopped on an unexpected server error before this item's turn."
    )
    default_code = "job_failed"


class ItemServerError(exceptions.APIException):
    """An unexpected exception in one item: its traceback is logged, never answered."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = _("A server error occurred while processing this item.")
    default_code = "error"


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
        exc = ProtectedItem(error=exc)
    elif isinstance(exc, IntegrityError):
        exc = ItemConflict()
    elif isinstance(exc, OperationalError) and is_concurrency_failure(exc):
        exc = ConcurrentConflict()
    if isinstance(exc, exceptions.APIException):
        return exc.status_code, error_dict(exc)
    return None


__all__ = [
    "BatchTooLarge",
    "ConcurrentConflict",
    "DuplicateTarget",
    "FailedDependency",
    "IdempotencyKeyInUse",
    "IdempotencyKeyRequired",
    "IdempotencyKeyReused",
    "InvalidIdempotencyKey",
    "InvalidItem",
    "InvalidPrecondition",
    "ItemConflict",
    "ItemServerError",
    "JobCancelled",
    "JobFailed",
    "MissingLookup",
    "NotABatch",
    "NotAnObject",
    "PreconditionFailed",
    "ProtectedItem",
    "RequestBodyTooLarge",
    "TooManyJobs",
    "UnreadableItem",
    "UserInactive",
    "error_dict",
    "is_conflict",
    "item_error",
]
