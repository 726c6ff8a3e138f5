"""Parsers for bodies that carry whole batches: JSON and the project's XML.

Each reads its body from the stream itself, its size checked against its limit before more than a
first look is read: a batch's (``max_batch_body_size`` in the parser context, larger for one to
run in the background) or a single object's (``max_body_size``, by default Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE``). The body's SHA-256 is left in the parser context as
``body_digest``, for ``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from lxml import etree
from rest_framework import exceptions, renderers
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils import json

from . import xmlreader
from .exceptions import RequestBodyTooLarge
from .namespaces import XML_NAMESPACE, is_xml_media_type

#: Bytes read to tell a batch from a single object before the size check.
FIRST_LOOK = 8192


def read_body(
    stream: IO[bytes],
    parser_context: Mapping[str, Any] | None,
    is_batch: Callable[[bytes], bool],
) -> bytes:
    """The whole body, or 413 before more than its first look is read when it is over its
    limit."""
    context = parser_context or {}
    head = stream.read(FIRST_LOOK)
    single = context.get("max_body_size", settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    limit = context.get("max_batch_body_size", single) if is_batch(head) else single
    request = context.get("request")
    meta = getattr(request, "META", {})
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None and length > limit:
        raise RequestBodyTooLarge(length=length, limit=limit)
    body = head + stream.read() if len(head) == FIRST_LOOK else head
    if isinstance(parser_context, MutableMapping):
        parser_context["body_digest"] = hashlib.sha256(body).hexdigest()
    return body


def starts_json_array(head: bytes) -> bool:
    return head.lstrip(b" \t\r\n")[:1] == b"["


def starts_xml_batch(head: bytes) -> bool:
    """Whether the document's root (``ms:data``) starts with an ``ms:item`` child."""
    parser = etree.XMLPullParser(
        events=("start",), resolve_entities=False, no_network=True, load_dtd=False
    )
    try:
        parser.feed(head)
    except etree.XMLSyntaxError:
        return False
    events = parser.read_events()
    next(events, None)  # the root
    first = next(events, None)
    return first is not None and first[1].tag == xmlreader.ITEM


class MultiStatusJSONParser(BaseParser):
    """DRF's ``JSONParser``, reading its body under a batch's or an object's limit, and answering
    400, not 500, to nesting too deep for Python's decoder."""

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer
    strict = api_settings.STRICT_JSON

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body = read_body(stream, parser_context, starts_json_array)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(body.decode(encoding), parse_constant=parse_constant)
        except RecursionError as exc:
            raise exceptions.ParseError(_("JSON parse error - nesting too deep.")) from exc
        except ValueError as exc:
            raise exceptions.ParseError(_("JSON parse error - %s") % exc) from exc


class MultiStatusXMLParser(BaseParser):
    """Reads a batch (or a single object) sent as XML, in the format the XML renderer writes::

        <ms:data xmlns:ms="urn:drf-multistatus">
          <ms:item><ms:name>Ann</ms:name><ms:email>ann@example.com</ms:email></ms:item>
        </ms:data>

    Documents with a DTD are refused (no entity expansion, no external entities, no network).
    """

    media_type = "application/xml"

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body = read_body(stream, parser_context, starts_xml_batch)
        try:
            root = xmlreader.parse(body)
        except (xmlreader.UnsafeXML, etree.XMLSyntaxError) as exc:
            raise exceptions.ParseError(_("XML parse error - %s") % exc) from exc
        if root.tag != f"{{{XML_NAMESPACE}}}data":
            message = _(
                'XML parse error - the root element must be "data" in the namespace '
                '"%(namespace)s", not "%(root)s".'
            )
            raise exceptions.ParseError(
                message % {"namespace": XML_NAMESPACE, "root": etree.QName(root).localname}
            )
        data = xmlreader.element_data(root)
        return [] if data == "" else data  # an empty ms:data is an empty batch


class MultiStatusTextXMLParser(MultiStatusXMLParser):
    media_type = "text/xml"


def multistatus_parser_classes(base: Iterable[Any] | None = None) -> list[Any]:
    """``base`` (default: DRF's ``DEFAULT_PARSER_CLASSES``) with ``JSONParser`` replaced by ours
    and, unless it has one already, the XML parsers."""
    parsers = [
        MultiStatusJSONParser if parser is JSONParser else parser
        for parser in (base or api_settings.DEFAULT_PARSER_CLASSES)
    ]
    if not any(is_xml_media_type(str(getattr(parser, "media_type", ""))) for parser in parsers):
        parsers += [MultiStatusXMLParser, MultiStatusTextXMLParser]
    return parsers
