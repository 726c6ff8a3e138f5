"""Renderers for multistatus bodies: JSON, and RFC 4918 ``DAV:multistatus`` XML.

The XML renderer also renders everything else a bulk view answers: whole-request errors become a
``DAV:error`` document, other data (a single create, a list or detail GET) a ``ms:data`` document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import urldefrag, urlencode

from lxml import etree
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings

from .results import ItemResult, MultiStatus, MultiStatusData, describe_errors, iter_error_messages
from .settings import multistatus_settings

DAV_NAMESPACE = "DAV:"
XML_NAMESPACE = "urn:drf-multistatus"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"D": DAV_NAMESPACE, "ms": XML_NAMESPACE}

# RFC 9110 names, which Python's HTTPStatus has only from 3.13 on.
REASON_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}

# Characters XML 1.0 allows (production [2] Char); anything else is replaced.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """``str(value)`` with every character XML 1.0 forbids replaced by U+FFFD."""
    return _NOT_XML_CHAR.sub("\ufffd", str(value))


def reason_phrase(code: int) -> str:
    if code in REASON_PHRASES:
        return REASON_PHRASES[code]
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def status_line(code: int) -> str:
    """The RFC 4918 §14.28 status line: ``HTTP/1.1 409 Conflict``."""
    return f"HTTP/1.1 {code} {reason_phrase(code)}".rstrip()


def dav(name: str) -> str:
    return f"{{{DAV_NAMESPACE}}}{name}"


def ms(name: str) -> str:
    return f"{{{XML_NAMESPACE}}}{name}"


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
            root = self.multistatus_element(data.multistatus, request)
        elif response is not None and response.status_code >= 400:
            root = self.error_element(data)
        else:
            root = etree.Element(ms("data"), nsmap=NSMAP)
            self.fill_data(root, data)
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")

    # Multistatus ----------------------------------------------------------------------------

    def multistatus_element(
        self, multistatus: MultiStatus, request: Request | None
    ) -> etree._Element:
        root = etree.Element(dav("multistatus"), nsmap=NSMAP)
        seen: set[str] = set()
        for result in multistatus.results:
            root.append(self.response_element(result, self.get_href(result, request, seen)))
        summary = multistatus.summary()
        etree.SubElement(
            root, dav("responsedescription")
        ).text = f"{summary['succeeded']} of {summary['total']} items succeeded."
        return root

    def response_element(self, result: ItemResult, href: str) -> etree._Element:
        response = etree.Element(dav("response"))
        etree.SubElement(response, dav("href")).text = xml_text(href)
        etree.SubElement(response, dav("status")).text = status_line(result.status)
        if not result.succeeded:
            response.append(self.error_element(result.errors or {}))
            etree.SubElement(response, dav("responsedescription")).text = xml_text(
                describe_errors(result.errors) or reason_phrase(result.status)
            )
        etree.SubElement(response, ms("index")).text = str(result.index)
        if result.succeeded:
            self.fill_data(etree.SubElement(response, ms("data")), result.data)
        return response

    def get_href(self, result: ItemResult, request: Request | None, seen: set[str]) -> str:
        """The item's resource URI, or one that names the request item; never repeated.

        Every href is an absolute URI without fragment (RFC 4918 §8.3, §14.7). A second item that
        names an already listed resource gets its request-item URI instead.
        """
        href = result.href and urldefrag(result.href)[0]
        if href and request is not None:
            href = request.build_absolute_uri(href)
        if not href or href in seen:
            href = self.item_uri(result.index, request)
        seen.add(href)
        return href

    def item_uri(self, index: int, request: Request | None) -> str:
        path = request.build_absolute_uri(request.path) if request is not None else "/"
        return f"{path}?{urlencode({multistatus_settings.ITEM_PARAM: index})}"

    # Errors and data --------------------------------------------------------------------------

    def error_element(self, errors: Any) -> etree._Element:
        """``DAV:error`` holding one ``ms:error`` per message, with its field path and code."""
        element = etree.Element(dav("error"), nsmap=NSMAP)
        if not isinstance(errors, Mapping | list):
            errors = {"detail": errors}
        for path, message, code in iter_error_messages(errors):
            error = etree.SubElement(element, ms("error"))
            if path and path != "detail":
                error.set("field", xml_text(path))
            if code:
                error.set("code", xml_text(code))
            error.text = xml_text(message)
        return element

    def fill_data(self, element: etree._Element, value: Any) -> None:
        """Write a serializer representation into ``element``.

        Dict keys become child elements (``ms:field name="…"`` where a key is not an XML name),
        list members become ``ms:item`` elements, None is ``xsi:nil="true"``.
        """
        if value is None:
            element.set(f"{{{XSI_NAMESPACE}}}nil", "true")
        elif isinstance(value, Mapping):
            for key, member in value.items():
                self.fill_data(self.field_element(element, str(key)), member)
        elif isinstance(value, Sequence | set | frozenset) and not isinstance(value, str | bytes):
            for member in value:
                self.fill_data(etree.SubElement(element, ms("item")), member)
        elif isinstance(value, bool):
            element.text = "true" if value else "false"
        else:
            element.text = xml_text(value)

    @staticmethod
    def field_element(parent: etree._Element, key: str) -> etree._Element:
        try:
            return etree.SubElement(parent, ms(key))
        except ValueError:
            element = etree.SubElement(parent, ms("field"))
            element.set("name", xml_text(key))
            return element


class MultiStatusTextXMLRenderer(MultiStatusXMLRenderer):
    """The same document for clients that ask for ``text/xml``."""

    media_type = "text/xml"


MULTISTATUS_XML_RENDERERS = (MultiStatusXMLRenderer, MultiStatusTextXMLRenderer)


def is_xml_media_type(media_type: str) -> bool:
    base = media_type.split(";", 1)[0].strip().lower()
    return base in ("application/xml", "text/xml") or base.endswith("+xml")


def multistatus_renderer_classes(base: Iterable[type[BaseRenderer]] | None = None) -> list:
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
        (i for i, renderer in enumerate(renderers) if is_xml_media_type(renderer.media_type)),
        len(renderers),
    )
    return [*renderers[:position], *MULTISTATUS_XML_RENDERERS, *renderers[position:]]
