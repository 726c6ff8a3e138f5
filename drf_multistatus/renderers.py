"""Renderers for multistatus bodies: JSON, and RFC 4918 ``DAV:multistatus`` XML.

The XML renderer also renders everything else a bulk view answers: whole-request errors become a
``DAV:error`` document, other data (a single create, a list or detail GET) a ``ms:data`` document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urldefrag

from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings

from . import xmlwriter
from .browsable import MultiStatusBrowsableAPIRenderer
from .namespaces import DAV_NAMESPACE, XML_NAMESPACE, XSI_NAMESPACE, is_xml_media_type
from .results import ItemResult, MultiStatusData
from .settings import PROPSTAT_STYLE, multistatus_settings
from .statuses import reason_phrase, status_line

__all__ = [
    "DAV_NAMESPACE",
    "XML_NAMESPACE",
    "XSI_NAMESPACE",
    "MultiStatusJSONRenderer",
    "MultiStatusTextXMLRenderer",
    "MultiStatusXMLRenderer",
    "multistatus_renderer_classes",
    "reason_phrase",
    "status_line",
]


class MultiStatusJSONRenderer(JSONRenderer):
    """DRF's JSON renderer. A multistatus body is a plain dict, so any JSON renderer renders it;
    this one is named so that ``renderer_classes`` read alike for both formats."""


class MultiStatusXMLRenderer(BaseRenderer):
    """Renders bulk results as an RFC 4918 ``DAV:multistatus`` document.

    Also renders everything else a bulk view answers: whole-request errors become a
    ``DAV:error`` document, other data (a single create, a list or detail GET) ``ms:data``.
    """

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
            # A background job's view passes its request's URL, style and items (see
            # ``background.job_renderer_context``); a bulk view's are the request's own.
            base = renderer_context.get("bulk_request_url")
            results = data.multistatus.results
            hrefs = self.get_hrefs(results, request, base)
            submitted = None
            style = renderer_context.get("xml_style") or self.get_style(
                renderer_context.get("view")
            )
            if style == PROPSTAT_STYLE:
                items = renderer_context.get("bulk_items", getattr(request, "data", None))
                submitted = items if isinstance(items, list) else []
            body = xmlwriter.multistatus(
                results,
                hrefs,
                data.multistatus.summary(),
                api_settings.NON_FIELD_ERRORS_KEY,
                data.multistatus.minimal,
                [
                    href != result.href and href == self.item_uri(result.index, request, base)
                    for href, result in zip(hrefs, results, strict=True)
                ],
                submitted,
            )
        elif response is not None and response.status_code >= 400:
            body = xmlwriter.error_document(data)
        else:
            body = xmlwriter.data_document(data)
        return xmlwriter.document(body)

    def get_style(self, view: Any) -> str:
        """The view's ``xml_style``, or the ``XML_STYLE`` setting."""
        if view is not None and getattr(view, "xml_style", None):
            return view.xml_style
        return multistatus_settings.XML_STYLE

    def get_hrefs(
        self, results: list[ItemResult], request: Request | None, base: str | None = None
    ) -> list[str]:
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
        return [self.get_href(result, request, seen, base) for result in results]

    def get_href(
        self, result: ItemResult, request: Request | None, seen: set[str], base: str | None = None
    ) -> str:
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
            href = self.item_uri(result.index, request, base)
        seen.add(href)
        return href

    def item_uri(self, index: int, request: Request | None, base: str | None = None) -> str:
        """``<request URL>/~item/<index>``: a path of its own, which path-keyed WebDAV clients
        keep apart from the others; dereferenced, it is a 404 that says what it names (the
        bulk routers' ``item_reference`` route). ``base``: the bulk request's URL, where it is
        not ``request``'s (a background job's)."""
        if base is None:
            base = request.build_absolute_uri(request.path) if request is not None else "/"
        if not base.endswith("/"):
            base += "/"
        return f"{base}{quote(multistatus_settings.ITEM_PATH, safe='~')}/{index}"


class MultiStatusTextXMLRenderer(MultiStatusXMLRenderer):
    """The same document for clients that ask for ``text/xml``."""

    media_type = "text/xml"


MULTISTATUS_XML_RENDERERS = (MultiStatusXMLRenderer, MultiStatusTextXMLRenderer)


def multistatus_renderer_classes(base: Iterable[Any] | None = None) -> list[Any]:
    """``base`` (default: DRF's ``DEFAULT_RENDERER_CLASSES``) with the multistatus XML renderers.

    They go just before the first renderer that claims an XML media type, so they answer
    ``application/xml`` and ``?format=xml`` on bulk views, while the first renderer (usually
    JSON) stays the default for clients that accept anything. DRF's browsable API renderer is
    swapped for one that knows bulk forms and per-item results.
    """
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
