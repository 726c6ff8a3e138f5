"""Renderers for multistatus bodies: JSON, and RFC 4918 ``DAV:multistatus`` XML.

The XML renderer also renders everything else a bulk view answers: whole-request errors become a
``DAV:error`` document, other data (a single create, a list or detail GET) a ``ms:data`` document.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urldefrag, urlencode

from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings

from . import xmlwriter
from .results import (
    ItemResult,
    MultiStatus,
    MultiStatusData,
    describe_messages,
    iter_error_messages,
)
from .settings import multistatus_settings
from .xmlwriter import DAV_NAMESPACE, XML_NAMESPACE, XSI_NAMESPACE

__all__ = ["DAV_NAMESPACE", "XML_NAMESPACE", "XSI_NAMESPACE"]

# RFC 9110 names, which Python's HTTPStatus has only from 3.13 on.
REASON_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}


def reason_phrase(code: int) -> str:
    if code in REASON_PHRASES:
        return REASON_PHRASES[code]
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


@functools.lru_cache(maxsize=128)
def status_line(code: int) -> str:
    """The RFC 4918 §14.28 status line: ``HTTP/1.1 409 Conflict``."""
    return f"HTTP/1.1 {code} {reason_phrase(code)}".rstrip()


class MultiStatusJSONRenderer(JSONRenderer):
    """DRF's JSON renderer. A multistatus body is a plain dict, so any JSON renderer renders it;
    this one is named so that ``renderer_classes`` read alike for both formats."""


class MultiStatusXMLRenderer(BaseRenderer):
    """Renders bulk results as an RFC 4918 ``DAV:multistatus`` document."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        renderer_context = renderer_context or {}
        request = renderer_context.get("request")
        response = renderer_context.get("response")
        if isinstance(data, MultiStatusData):
            document = self.multistatus_document(data.multistatus, request)
        elif response is not None and response.status_code >= 400:
            document = self.error_document(data)
        else:
            document = xmlwriter.data(data, (f"<ms:data {xmlwriter.NAMESPACES}", "</ms:data>"))
        return (xmlwriter.DECLARATION + document).encode("utf-8")

    # Multistatus ----------------------------------------------------------------------------

    def multistatus_document(self, multistatus: MultiStatus, request: Request | None) -> str:
        results = multistatus.results
        hrefs = self.get_hrefs(results, request)
        statuses = [result.status for result in results]
        responses = None
        if results and min(statuses) >= 200 and max(statuses) < 300:
            lines = {code: status_line(code) for code in set(statuses)}
            responses = xmlwriter.flat_responses(
                hrefs,
                [lines[code] for code in statuses],
                [result.index for result in results],
                [result.data for result in results],
            )
        if responses is None:
            responses = "".join(
                self.response_element(result, href)
                for result, href in zip(results, hrefs, strict=True)
            )
        summary = multistatus.summary()
        return (
            f"<D:multistatus {xmlwriter.NAMESPACES}>{responses}"
            f"<D:responsedescription>{summary['succeeded']} of {summary['total']} items "
            "succeeded.</D:responsedescription></D:multistatus>"
        )

    def response_element(self, result: ItemResult, href: str) -> str:
        head = (
            f"<D:response><D:href>{xmlwriter.text(href)}</D:href>"
            f"<D:status>{status_line(result.status)}</D:status>"
        )
        if result.succeeded:
            body = xmlwriter.data(result.data, DATA_TAGS)
            return f"{head}<ms:index>{result.index}</ms:index>{body}</D:response>"
        messages = list(iter_error_messages(result.errors or {}))
        description = describe_messages(
            messages, api_settings.NON_FIELD_ERRORS_KEY
        ) or reason_phrase(result.status)
        return (
            f"{head}<D:error>{xmlwriter.errors(messages)}</D:error>"
            f"<D:responsedescription>{xmlwriter.text(description)}</D:responsedescription>"
            f"<ms:index>{result.index}</ms:index></D:response>"
        )

    def get_hrefs(self, results: list[ItemResult], request: Request | None) -> list[str]:
        """Every item's href (see ``get_href``). When all are distinct absolute URIs without
        fragments, as the viewset's own are, they are taken as they are."""
        hrefs = [result.href or "" for result in results]
        if (
            all(href.startswith(("http://", "https://")) for href in hrefs)
            and len(set(hrefs)) == len(hrefs)
            and "#" not in "".join(hrefs)
        ):
            return hrefs
        seen: set[str] = set()
        return [self.get_href(result, request, seen) for result in results]

    def get_href(self, result: ItemResult, request: Request | None, seen: set[str]) -> str:
        """The item's resource URI, or one that names the request item; never repeated.

        Every href is an absolute URI without fragment (RFC 4918 §8.3, §14.7). A second item that
        names an already listed resource gets its request-item URI instead.
        """
        href = result.href
        if href and "#" in href:
            href = urldefrag(href)[0]
        if href and request is not None and not href.startswith(("http://", "https://")):
            href = request.build_absolute_uri(href)
        if not href or href in seen:
            href = self.item_uri(result.index, request)
        seen.add(href)
        return href

    def item_uri(self, index: int, request: Request | None) -> str:
        path = request.build_absolute_uri(request.path) if request is not None else "/"
        return f"{path}?{urlencode({multistatus_settings.ITEM_PARAM: index})}"

    # Errors ----------------------------------------------------------------------------------

    def error_document(self, errors: Any) -> str:
        """A whole-request error: ``DAV:error`` holding one ``ms:error`` per message."""
        if not isinstance(errors, Mapping | list):
            errors = {"detail": errors}
        messages = xmlwriter.errors(list(iter_error_messages(errors)))
        return f"<D:error {xmlwriter.NAMESPACES}>{messages}</D:error>"


DATA_TAGS = ("<ms:data", "</ms:data>")


class MultiStatusTextXMLRenderer(MultiStatusXMLRenderer):
    """The same document for clients that ask for ``text/xml``."""

    media_type = "text/xml"


MULTISTATUS_XML_RENDERERS = (MultiStatusXMLRenderer, MultiStatusTextXMLRenderer)


def is_xml_media_type(media_type: str) -> bool:
    base = media_type.split(";", 1)[0].strip().lower()
    return base in ("application/xml", "text/xml") or base.endswith("+xml")


def multistatus_renderer_classes(base: Iterable[Any] | None = None) -> list[Any]:
    """``base`` (default: DRF's ``DEFAULT_RENDERER_CLASSES``) with the multistatus XML renderers.

    They go just before the first renderer that claims an XML media type, so they answer
    ``application/xml`` and ``?format=xml`` on bulk views, while the first renderer (usually
    JSON) stays the default for clients that accept anything. DRF's browsable API renderer is
    swapped for one that knows bulk forms and per-item results.
    """
    from .browsable import MultiStatusBrowsableAPIRenderer

    renderers = [
        MultiStatusBrowsableAPIRenderer if renderer is BrowsableAPIRenderer else renderer
        for renderer in (base or api_settings.DEFAULT_RENDERER_CLASSES)
        if renderer not in MULTISTATUS_XML_RENDERERS
    ]
    position = next(
        (
            i
            for i, renderer in enumerate(renderers)
            if is_xml_media_type(str(getattr(renderer, "media_type", "")))
        ),
        len(renderers),
    )
    return [*renderers[:position], *MULTISTATUS_XML_RENDERERS, *renderers[position:]]
