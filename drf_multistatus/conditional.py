"""Conditional requests (RFC 9110 §13) on the detail URLs of a bulk view, held to the rule each
bulk item is held to: a GET or HEAD sends its object's ``ETag`` and answers ``If-None-Match``
with 304; a PUT, PATCH or DELETE with ``If-Match`` or ``If-None-Match`` runs in a transaction
and compares its object's etag once the row is locked (412); a list URL has no etag, so a write
there whose ``If-Match`` names one is 412 (its items carry their own, ``_if_match``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, models, router, transaction
from django.http import HttpRequest, HttpResponseBase, HttpResponseNotModified
from django.utils.http import parse_etags
from rest_framework import status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from . import etags
from .exceptions import PreconditionFailed

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView

    ViewBase = GenericAPIView
else:
    ViewBase = object

CONDITIONS = ("HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH")
#: The actions whose 200 carries the object's ``ETag``: not a PUT's, whose stored
#: representation may differ from the one sent (RFC 9110 §9.3.4), nor an extra action's.
TAGGED_ACTIONS = frozenset({"retrieve", "partial_update"})
NOT_MODIFIED_HEADERS = ("Cache-Control", "Content-Location", "Date", "Expires", "Vary")


class ConditionalMixin(ViewBase):
    """Entity tags and preconditions for a generic view's single-object requests."""

    action: str | None

    def get_bulk_etag(self, instance: models.Model) -> str:
        """The strong etag of ``instance`` as stored (``etags.etag_of``); override it to give
        your own, a version column's for example (quoted for you)."""
        return etags.etag_of(instance)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """DRF's; a conditional write of one object in a transaction, so that its object stays
        locked from the comparison to the write."""
        write = request.method not in SAFE_METHODS
        if not (write and conditional(request) and self.names_object(kwargs)):
            return super().dispatch(request, *args, **kwargs)
        model = getattr(getattr(self, "queryset", None), "model", None)
        with transaction.atomic(using=router.db_for_write(model) if model else DEFAULT_DB_ALIAS):
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """DRF's; a write on a list URL with conditions on the list itself: it has no etag,
        so ``If-Match`` (but ``*``) fails, and so does ``If-None-Match: *`` (it exists)."""
        super().initial(request, *args, **kwargs)
        if request.method in SAFE_METHODS or self.names_object(kwargs):
            return
        if_match = request.META.get("HTTP_IF_MATCH")
        if if_match is not None and parse_etags(if_match) != [etags.ANY]:
            raise PreconditionFailed(
                'A list has no etag: give each item its own (the "_if_match" key).'
            )
        if parse_etags(request.META.get("HTTP_IF_NONE_MATCH", "")) == [etags.ANY]:
            raise PreconditionFailed

    def names_object(self, kwargs: dict[str, Any]) -> bool:
        """Whether the URL's ``kwargs`` name one object (a detail URL)."""
        return (self.lookup_url_kwarg or self.lookup_field) in kwargs

    def get_object(self) -> Any:
        """DRF's (its permission checks first); a write's object then locked, read again and
        held to its ``If-Match`` and ``If-None-Match`` (412), as a bulk item to its
        ``_if_match``."""
        instance = super().get_object()
        request = self.request
        if request.method not in SAFE_METHODS and conditional(request):
            database = router.db_for_write(type(instance))
            if transaction.get_connection(database).in_atomic_block:
                manager = type(instance)._base_manager.db_manager(database)
                instance.refresh_from_db(from_queryset=manager.select_for_update())
            current = etags.view_etag(self, instance)
            if_match = request.META.get("HTTP_IF_MATCH")
            if if_match is not None:
                etags.check(parse_etags(if_match), current)
            if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
            if if_none_match is not None and etags.if_none_match(if_none_match, current):
                raise PreconditionFailed
        self.etag_object = instance
        return instance

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        """DRF's; a detail GET, HEAD or PATCH answered with its object's ``ETag``, and a GET
        or HEAD whose ``If-None-Match`` names it 304 Not Modified. Not the browsable API's
        HTML, which is the user's page as much as the object's."""
        response = super().finalize_response(request, response, *args, **kwargs)
        instance = getattr(self, "etag_object", None)
        action = getattr(self, "action", None)
        if (
            instance is None
            or instance.pk is None
            or response.status_code != status.HTTP_200_OK
            or request.method not in ("GET", "HEAD", "PATCH")
            or (action is not None and action not in TAGGED_ACTIONS)
            or str(getattr(response, "accepted_media_type", "")).startswith("text/html")
        ):
            return response
        etag = etags.view_etag(self, instance)
        response["ETag"] = etag
        condition = request.META.get("HTTP_IF_NONE_MATCH")
        if request.method in SAFE_METHODS and condition and etags.if_none_match(condition, etag):
            return not_modified(response)
        return response


def conditional(request: HttpRequest | Request) -> bool:
    """Whether ``request`` carries ``If-Match`` or ``If-None-Match``."""
    return any(header in request.META for header in CONDITIONS)


def not_modified(response: Response) -> Response:
    """304 for ``response``, with the headers RFC 9110 §15.4.5 keeps and no body."""
    answer = HttpResponseNotModified()
    for header in ("ETag", *NOT_MODIFIED_HEADERS):
        if header in response:
            answer[header] = response[header]
    return answer  # type: ignore[return-value]
