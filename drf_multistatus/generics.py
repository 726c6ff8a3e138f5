"""``MultiStatusMixin``: the machinery every bulk verb shares, as DRF's ``GenericAPIView`` is
for its mixins — reading the batch, running an operation over it, one item's href and failure,
and the response.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, router
from django.urls import NoReverseMatch
from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.exceptions import (
    AuthenticationFailed,
    NotAuthenticated,
    NotFound,
    ValidationError,
)
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param

from . import background
from .actions import TWINS, BulkAction
from .batch import Batch
from .exceptions import (
    SERVER_ERROR,
    BatchTooLarge,
    IdempotencyKeyRequired,
    NotABatch,
    RequestBodyTooLarge,
    item_error,
)
from .idempotency import IdempotentRequest, parse_key
from .metadata import BulkMetadata
from .operations import Operation
from .preferences import RESPOND_ASYNC, RETURN_MINIMAL, prefers
from .results import ItemResult, MultiStatus
from .schemas import MultiStatusSchema
from .settings import WHEN_MIXED, multistatus_settings, view_setting

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView

    ViewBase = GenericAPIView
else:
    ViewBase = object

logger = logging.getLogger("drf_multistatus")

# Reversed once per request to learn the shape of the detail URL: digits, which most lookup
# patterns accept.
HREF_PLACEHOLDER = "9" * 19
UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")  # characters reverse() leaves as they are


class MultiStatusMixin(ViewBase):
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
    xml_style: str | None = None  # "status" or "propstat"; None: the XML_STYLE setting

    action: str | None  # set by DRF's ViewSetMixin
    bulk_database: str  # the database alias the running batch writes to

    # Request --------------------------------------------------------------------------------

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        """A bulk action answers to its single-object twin's name too (see ``BulkAction``)."""
        request = super().initialize_request(request, *args, **kwargs)
        action = getattr(self, "action", None)
        if action in TWINS:
            self.action = BulkAction(action)
        return request

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.check_body_size(request)
        self.idempotent_request = self.get_idempotent_request(request)

    def get_idempotent_request(self, request: Request) -> IdempotentRequest | None:
        """The request's ``Idempotency-Key``, read (with the raw body it fingerprints) before
        anything parses the body; None without one, for safe methods, and for the actions that
        do not honour it (the detail routes, extra actions): only POST and the bulk verbs do."""
        header = request.META.get("HTTP_IDEMPOTENCY_KEY")
        if header is None or request.method in SAFE_METHODS:
            return None
        if self.action is not None and not (
            isinstance(self.action, BulkAction) or self.action == "create"
        ):
            return None
        key = parse_key(header)
        return IdempotentRequest(request, key, request._request.body, self.get_bulk_database())

    def respond_once(self, respond: Callable[[], Response]) -> Response:
        """``respond()``; with an ``Idempotency-Key``, at most once per key, retries getting the
        stored outcome (see ``idempotency``)."""
        idempotent = getattr(self, "idempotent_request", None)
        if idempotent is None:
            if view_setting(self, "idempotency_key_required", "IDEMPOTENCY_KEY_REQUIRED"):
                raise IdempotencyKeyRequired
            return respond()
        return idempotent.respond(respond)

    def check_body_size(self, request: Request) -> None:
        """Refuse a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (or, for a background batch, the
        larger ``MAX_BACKGROUND_BODY_SIZE``) with 413 before reading it.

        Django counts no uploaded files in that limit, so multipart bodies are left to it.
        """
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if self.is_background(request):
            limit = multistatus_settings.MAX_BACKGROUND_BODY_SIZE or scaled(limit)
        if limit is None or request.content_type.startswith("multipart/"):
            return
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return
        if length > limit:
            raise RequestBodyTooLarge(length=length, limit=limit)

    def get_max_batch_size(self) -> int | None:
        return view_setting(self, "max_batch_size", "MAX_BATCH_SIZE")

    def is_background(self, request: Request) -> bool:
        """``Prefer: respond-async``: run the batch as a background job (202 and a job URL)."""
        return prefers(request, RESPOND_ASYNC)

    def is_minimal(self, request: Request) -> bool:
        """``Prefer: return=minimal``: successful items without their data."""
        return prefers(request, RETURN_MINIMAL)

    def get_bulk_items(self, request: Request) -> list[Any]:
        """The request's items; a whole-request error if the body is not a list or too long."""
        data = request.data
        if not isinstance(data, list):
            raise NotABatch(type(data).__name__ if request.stream is not None else None)
        limit = self.get_max_batch_size()
        background = multistatus_settings.MAX_BACKGROUND_BATCH_SIZE
        if self.is_background(request):
            limit = background
        elif limit is not None and len(data) > limit and (background or 0) > limit:
            raise BatchTooLarge(count=len(data), limit=limit, background=background)
        if limit is not None and len(data) > limit:
            raise BatchTooLarge(count=len(data), limit=limit)
        return data

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

    # Running a batch ------------------------------------------------------------------------

    def run_bulk(self, operation: Operation) -> Response:
        """Run ``operation`` over the batch in one transaction and answer with its results
        (once per ``Idempotency-Key``)."""

        applied = [operation.preference_applied] if operation.preference_applied else []
        if self.is_minimal(self.request):
            applied.append(RETURN_MINIMAL)
        if self.is_background(self.request):
            return self.respond_once(functools.partial(background.submit, self, operation, applied))

        def respond() -> Response:
            self.bulk_database = self.get_bulk_database()
            batch = Batch(self, self.bulk_database, self.is_atomic_batch(self.request))
            multistatus = batch.run(operation)
            if RETURN_MINIMAL in applied:
                multistatus = replace(multistatus, minimal=True)
            headers = {"Preference-Applied": ", ".join(applied)} if applied else {}
            return self.multistatus_response(multistatus, headers)

        return self.respond_once(respond)

    def get_bulk_database(self) -> str:
        return router.db_for_write(self.get_bulk_model())

    def get_bulk_model(self) -> type[models.Model]:
        """The model the batch writes, found without calling ``get_queryset()`` where possible
        (schema generation has no real request to scope it by)."""
        queryset = getattr(self, "queryset", None)
        if queryset is not None:
            return queryset.model
        model = getattr(getattr(self.get_serializer_class(), "Meta", None), "model", None)
        if model is not None:
            return model
        return self.get_queryset().model

    def get_item_lookup_key(self) -> str:
        """The key that names an item's target: the lookup field, ``pk`` read as the pk's name."""
        if self.lookup_field == "pk":
            return self.get_bulk_model()._meta.pk.name
        return self.lookup_field

    def handle_item_exception(
        self, index: int, exc: Exception, href: str | None = None
    ) -> ItemResult:
        """Turn an exception raised by one item into that item's result; unknown errors are 500.

        Authentication failures answer as DRF's ``handle_exception`` answers them: 403 where no
        authenticator offers a ``WWW-Authenticate`` challenge.
        """
        if isinstance(exc, NotAuthenticated | AuthenticationFailed) and not (
            self.get_authenticate_header(self.request)
        ):
            exc.status_code = status.HTTP_403_FORBIDDEN
        outcome = item_error(exc, multistatus_settings.CONFLICT_CODES)
        if outcome is None:
            logger.error(
                "Unexpected error in item %d of %s %s",
                index,
                self.request.method,
                self.request.get_full_path(),
                exc_info=exc,
            )
            outcome = status.HTTP_500_INTERNAL_SERVER_ERROR, dict(SERVER_ERROR)
        code, errors = outcome
        return ItemResult(index=index, status=code, href=href, errors=errors)

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
        if not getattr(self, "basename", None):
            return None
        value = getattr(instance, self.lookup_field)
        text, template = str(value), self.item_href_template
        lookup_regex = getattr(self, "lookup_value_regex", "[^/.]+")
        if template and UNRESERVED.fullmatch(text) and re.fullmatch(lookup_regex, text):
            return f"{template[0]}{text}{template[1]}"
        return self.reverse_item_href(value)

    def reverse_item_href(self, value: Any) -> str | None:
        kwarg = self.lookup_url_kwarg or self.lookup_field
        try:
            url = self.reverse_action("detail", kwargs={kwarg: value})  # type: ignore[attr-defined]
        except NoReverseMatch:
            return None
        # DRF's reverse() carries ?format= over from the request; a resource's URI has none.
        return remove_query_param(url, api_settings.URL_FORMAT_OVERRIDE)

    @cached_property
    def item_href_template(self) -> tuple[str, str] | None:
        """The detail URL split around its lookup value, reversed once per request: a value
        that needs no quoting and matches the route's pattern is put in between, which is what
        ``reverse()`` would return, some twenty times faster."""
        url = self.reverse_item_href(HREF_PLACEHOLDER)
        if url is None or url.count(HREF_PLACEHOLDER) != 1:
            return None
        prefix, suffix = url.split(HREF_PLACEHOLDER)
        return prefix, suffix

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


def scaled(limit: int | None) -> int | None:
    """The body size limit of a background batch: the synchronous one, scaled by how many more
    items a background batch may hold."""
    sync, background = (
        multistatus_settings.MAX_BATCH_SIZE,
        multistatus_settings.MAX_BACKGROUND_BATCH_SIZE,
    )
    if limit is None or not sync or not background:
        return None
    return limit * max(1, background // sync)
