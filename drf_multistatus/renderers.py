"""Renderers for multistatus bodies: JSON, and RFC 4918 ``DAV:multistatus`` XML.

The XML renderer also renders everything else a bulk view answers: whole-request errors become a
``DAV:error`` document, other data (a single create, a list or detail GET) a ``ms:data`` document.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings

from . import xmlwriter
from .bodies import csv_cell
from .browsable import MultiStatusBrowsableAPIRenderer
from .hrefs import response_hrefs
from .namespaces import DAV_NAMESPACE, XML_NAMESPACE, XSI_NAMESPACE, is_xml_media_type
from .results import MultiStatusData
from .settings import PROPSTAT_STYLE, view_setting
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


#: DRF's JSON renderer: a multistatus body is a plain dict, so any JSON renderer renders it. The
#: name is kept so that ``renderer_classes`` read alike for both formats.
MultiStatusJSONRenderer = JSONRenderer


class MultiStatusXMLRenderer(BaseRenderer):
    """Renders bulk results as an RFC 4918 ``DAV:multistatus`` document.

    Also renders everything else a bulk view answers: whole-request errors become a
    ``DAV:error`` document, other data (a single create, a list or detail GET) ``ms:data``.

    A 207 is written in the view's ``xml_style``, its items without a resource named under the
    request's URL. A background job's view, which is not the request's, passes both in the
    renderer context (``xml_style``, ``bulk_request_url``), with the items submitted
    (``bulk_items``, by index, which the propstat style names).
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
            body = self.multistatus(data, request, renderer_context)
        elif response is not None and response.status_code >= 400:
            body = xmlwriter.error_document(data)
        else:
            body = xmlwriter.data_document(data)
        return xmlwriter.document(body)

    def multistatus(
        self, data: MultiStatusData, request: Request | None, context: Mapping[str, Any]
    ) -> str:
        results = data.multistatus.results
        base = context.get("bulk_request_url") or (
            request.build_absolute_uri(request.path) if request is not None else "/"
        )
        absolute = request.build_absolute_uri if request is not None else None
        hrefs = response_hrefs(results, base, absolute)
        submitted = None
        style = context.get("xml_style") or view_setting(
            context.get("view"), "xml_style", "XML_STYLE"
        )
        if style == PROPSTAT_STYLE:
            items = context.get("bulk_items", getattr(request, "data", None))
            submitted = dict(enumerate(items)) if isinstance(items, list) else items or {}
        return xmlwriter.multistatus(
            results,
            [href for href, _names_item in hrefs],
            data["summary"],
            api_settings.NON_FIELD_ERRORS_KEY,
            data.multistatus.minimal,
            [names_item for _href, names_item in hrefs],
            submitted,
        )


class MultiStatusTextXMLRenderer(MultiStatusXMLRenderer):
    """The same document for clients that ask for ``text/xml``."""

    media_type = "text/xml"


class ResultsNDJSONRenderer(BaseRenderer):
    """A 207's results as JSON lines, one result a line: how a job's results are exported
    (``<job>/results/``, which streams them)."""

    media_type = "application/x-ndjson"
    format = "ndjson"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        rows = data["results"] if isinstance(data, MultiStatusData) else [data]
        return b"".join(JSONRenderer().render(row) + b"\n" for row in rows)


class ResultsCSVRenderer(BaseRenderer):
    """CSV: how a job's results are exported with the items they answer for
    (``<job>/results/``, which streams them itself). Anything else (an error, a job's state) is
    written as a header of its keys and a row of its values."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        rows = data if isinstance(data, list) else [data]
        rows = [row if isinstance(row, Mapping) else {"value": row} for row in rows]
        names = list(dict.fromkeys(name for row in rows for name in row))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([csv_cell(row[name]) if name in row else "" for name in names])
        return buffer.getvalue().encode()


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
