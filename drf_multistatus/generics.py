"""``MultiStatusMixin``: what every bulk verb shares, as DRF's ``GenericAPIView`` is for its
mixins — reading the batch, running an operation over it, one item's href and failure, and the
response.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, router
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.exceptions import (
    NotFound,
    ValidationError,
)
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from . import engine, jobs, submission, tasks
from .actions import TWINS, BulkAction
from .conditional import ConditionalMixin
from .context import BatchContext
from .exceptions import (
    BatchTooLarge,
    IdempotencyKeyRequired,
    NotABatch,
    PreferenceNotHonoured,
)
from .hrefs import DetailHrefs
from .idempotency import IdempotentRequest
from .metadata import BulkMetadata
from .operations import Operation
from .parsers import StreamedBatch
from .preferences import (
    HANDLING_STRICT,
    RESPOND_ASYNC,
    RETURN_MINIMAL,
    TX_ROLLBACK,
    prefers,
    unhonoured,
)
from .requestid import HEADER as REQUEST_ID_HEADER
from .requestid import request_id
from .results import ItemResult, MultiStatus
from .schemas import MultiStatusSchema
from .settings import WHEN_MIXED, multistatus_settings, view_setting

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView

    ViewBase = GenericAPIView
else:
    ViewBase = object


class MultiStatusMixin(ConditionalMixin, ViewBase):
    """What every bulk verb shares: reading the batch, running it, answering 207.

    Class attributes left at ``None`` take their value from the ``DRF_MULTISTATUS`` setting.
    """

    schema = MultiStatusSchema()
    metadata_class = BulkMetadata
    max_batch_size: int | None = None
    atomic_batch: bool | None = None
    allow_atomic_param: bool | None = None
    outer_status: str | None = None
    # Write with one statement per batch where that is provably the same as item by item.
    bulk_write: bool = True
    # Lock update and delete targets (SELECT ... FOR UPDATE) until the batch commits.
    lock_bulk_targets: bool = True
    idempotency_key_required: bool | None = None
    allow_dry_run: bool | None = None  # Prefer: tx=rollback; None: the ALLOW_DRY_RUN setting
    xml_style: str | None = None  # "status" or "propstat"; None: the XML_STYLE setting

    action: str | None  # set by DRF's ViewSetMixin

    @cached_property
    def bulk_request_id(self) -> str:
        """The id of this request (``X-Request-ID``, see ``requestid``); the hooks may read it,
        a job's as its submitting request had it."""
        return request_id(self.request)

    # Request --------------------------------------------------------------------------------

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        """A bulk action answers to its single-object twin's name too (see ``BulkAction``)."""
        request = super().initialize_request(request, *args, **kwargs)
        action = getattr(self, "action", None)
        if isinstance(action, str) and action in TWINS:
            self.action = BulkAction(action)
        return request

    def get_parser_context(self, http_request: HttpRequest) -> dict[str, Any]:
        """DRF's, with what the parsers read a body by: Django's
        ``DATA_UPLOAD_MAX_MEMORY_SIZE``; and for a batch to run in the background on a list URL,
        ``MAX_BACKGROUND_BODY_SIZE`` alone, the batch streamed into the job as it arrives."""
        context = super().get_parser_context(http_request)
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        background = getattr(self, "detail", None) is False and self.is_background(http_request)
        return {
            **context,
            "max_body_size": limit,
            "max_batch_body_size": (
                multistatus_settings.MAX_BACKGROUND_BODY_SIZE if background else limit
            ),
            "stream_batches": background,
        }

    def get_bulk_items(self, request: Request) -> Sequence[Any] | StreamedBatch:
        """The request's items; a whole-request error if the body is not a list or too long. A
        batch to run in the background is read as the job stores it (and counted then)."""
        data = request.data
        if isinstance(data, StreamedBatch):
            return data
        if not isinstance(data, list):
            raise NotABatch(datatype=type(data).__name__ if request.stream is not None else None)
        limit = self.get_max_batch_size()
        background = multistatus_settings.MAX_BACKGROUND_BATCH_SIZE
        if self.is_background(request):
            limit = background
        elif limit is not None and len(data) > limit and (background or 0) > limit:
            raise BatchTooLarge(count=len(data), limit=limit, background=background)
        if limit is not None and len(data) > limit:
            raise BatchTooLarge(count=len(data), limit=limit)
        return data

    def get_max_batch_size(self) -> int | None:
        return view_setting(self, "max_batch_size", "MAX_BATCH_SIZE")

    def is_atomic_batch(self, request: Request) -> bool:
        """All-or-nothing for this request: the view's choice, or ``?atomic=`` where allowed."""
        default = view_setting(self, "atomic_batch", "ATOMIC")
        param = multistatus_settings.ATOMIC_PARAM
        raw = request.query_params.get(param)
        if raw is None:
            return default
        try:
            requested = serializers.BooleanField().to_internal_value(raw)
        except ValidationError as exc:
            raise ValidationError({param: exc.detail}) from exc
        if requested != default and not view_setting(
            self, "allow_atomic_param", "ALLOW_ATOMIC_PARAM"
        ):
            mode = _("all-or-nothing") if default else _("item by item")
            raise ValidationError(
                {param: [_("This endpoint always saves batches %(mode)s.") % {"mode": mode}]}
            )
        return requested

    def is_background(self, request: Request | HttpRequest) -> bool:
        """``Prefer: respond-async``, where a task framework runs background jobs; ignored
        otherwise (RFC 7240 lets a server ignore a preference)."""
        return prefers(request, RESPOND_ASYNC) and tasks.available()

    def is_minimal(self, request: Request) -> bool:
        """``Prefer: return=minimal``: successful items without their data."""
        return prefers(request, RETURN_MINIMAL)

    def check_preferences(self, request: Request, applied: Sequence[str]) -> None:
        """With ``Prefer: handling=strict``, 400 for any preference this request does not
        apply (RFC 7240): a client asking for a preview never gets a real write."""
        if prefers(request, HANDLING_STRICT) and (missing := unhonoured(request, applied)):
            raise PreferenceNotHonoured(missing)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """DRF's; a single-object write applies no preference (a bulk one checks its own)."""
        super().initial(request, *args, **kwargs)
        if getattr(self, "detail", None) and request.method not in SAFE_METHODS:
            self.check_preferences(request, ())

    def is_dry_run(self, request: Request) -> bool:
        """``Prefer: tx=rollback``, where the view allows dry runs."""
        allowed = view_setting(self, "allow_dry_run", "ALLOW_DRY_RUN")
        return bool(allowed) and prefers(request, TX_ROLLBACK)

    # Running a batch ------------------------------------------------------------------------

    def run_bulk(self, operation: Operation) -> Response:
        """Run ``operation`` over its items — now, or as a background job — and answer with its
        results, once per ``Idempotency-Key``."""
        operation.check_permissions(self)
        request = self.request
        background, dry_run = self.is_background(request), self.is_dry_run(request)
        applied = [operation.preference_applied] if operation.preference_applied else []
        if self.is_minimal(request):
            applied.append(RETURN_MINIMAL)
        if dry_run:
            applied.append(TX_ROLLBACK)
        self.check_preferences(request, [RESPOND_ASYNC] * background + applied)

        def respond() -> Response:
            if background:
                job = submission.submit(self, operation)
                return jobs.accepted(request, job, [RESPOND_ASYNC, *applied])
            items = operation.items
            ran = engine.run(operation, self.get_batch_context(list_of(items)))
            headers = {REQUEST_ID_HEADER: self.bulk_request_id}
            if applied:
                headers["Preference-Applied"] = ", ".join(applied)
            return self.multistatus_response(ran.multistatus, headers)

        # A dry run stores no outcome under its key: the real request may use the key next.
        return respond() if dry_run else self.respond_once(respond)

    def get_batch_context(self, items: Sequence[Any]) -> BatchContext:
        request = self.request
        return BatchContext(
            view=self,
            items=items,
            database=self.get_bulk_database(),
            atomic=self.is_atomic_batch(request),
            minimal=self.is_minimal(request),
            dry_run=self.is_dry_run(request),
            request_id=self.bulk_request_id,
        )

    def respond_once(self, respond: Callable[[], Response]) -> Response:
        """``respond()``; with an ``Idempotency-Key``, at most once per key, retries getting the
        stored outcome (see ``idempotency``)."""
        header = self.request.META.get("HTTP_IDEMPOTENCY_KEY")
        if header is None:
            if view_setting(self, "idempotency_key_required", "IDEMPOTENCY_KEY_REQUIRED"):
                raise IdempotencyKeyRequired
            return respond()
        return IdempotentRequest(self.request, header, self.get_bulk_database()).respond(respond)

    def get_bulk_database(self) -> str:
        return router.db_for_write(self.get_bulk_model())

    def get_bulk_model(self) -> type[models.Model]:
        """The model the batch writes, found without calling ``get_queryset()`` where possible
        (schema generation has no real request to scope it by)."""
        model = declared_model(type(self), self.get_serializer_class())
        return model or self.get_queryset().model

    def get_item_lookup_key(self) -> str:
        """The key that names an item's target: the lookup field, ``pk`` read as the pk's name."""
        if self.lookup_field == "pk":
            return self.get_bulk_model()._meta.pk.name
        return self.lookup_field

    def handle_item_exception(
        self, index: int, exc: Exception, href: str | None = None
    ) -> ItemResult:
        """Turn an exception raised by one item into that item's result: the status the
        single-object request would answer; an unexpected error 500 (``engine.failure``)."""
        return engine.failure(self, index, exc, href)

    def item_reference(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``<list URL>~item/<N>``, the XML href of an item that had no resource: it names item
        N of a bulk request, not a resource, and answers 404 saying so."""
        raise NotFound(
            _(
                "This URL names item %(index)s of a bulk request, not a resource: the request's "
                "207 body holds that item's outcome."
            )
            % {"index": kwargs.get("index")}
        )

    # Response --------------------------------------------------------------------------------

    def get_item_href(self, instance: models.Model) -> str | None:
        """The URL of an item's object: the detail route of this viewset, when it has one."""
        return self.detail_hrefs(instance)

    @cached_property
    def detail_hrefs(self) -> DetailHrefs:
        return DetailHrefs(self)

    def get_multistatus_status(self, multistatus: MultiStatus) -> int:
        return self.get_outer_status({result.status for result in multistatus.results})

    def get_outer_status(self, statuses: set[int]) -> int:
        """The response's status for items with ``statuses`` (a background job's too): 207, or
        under the ``when-mixed`` policy the one status they all share."""
        policy = view_setting(self, "outer_status", "OUTER_STATUS")
        if policy == WHEN_MIXED and len(statuses) == 1:
            return next(iter(statuses))
        return status.HTTP_207_MULTI_STATUS

    def multistatus_response(
        self, multistatus: MultiStatus, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(
            multistatus.as_data(), status=self.get_multistatus_status(multistatus), headers=headers
        )


def list_of(items: Iterable[Any]) -> Sequence[Any]:
    return items if isinstance(items, Sequence) else list(items)


def declared_model(view_class: type, serializer_class: Any = None) -> type[models.Model] | None:
    """The model a view class declares, by its ``queryset`` or its serializer's (by default its
    ``serializer_class``) ``Meta.model``; None where only a request can tell."""
    queryset = getattr(view_class, "queryset", None)
    if queryset is not None:
        return queryset.model
    serializer_class = serializer_class or getattr(view_class, "serializer_class", None)
    return getattr(getattr(serializer_class, "Meta", None), "model", None)
