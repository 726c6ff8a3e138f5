"""Parsers for bodies that carry whole batches: a JSON array, JSON lines (``application/x-ndjson``),
CSV (``text/csv``) and the project's XML.

Each reads its body from the stream itself, its size checked against its limit before more than a
first look is read: a batch's (``max_batch_body_size`` in the parser context, larger for one to
run in the background) or a single object's (``max_body_size``, by default Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE``). A batch to run in the background (``stream_batches`` in the
parser context) is not read here at all: the parser answers a :class:`StreamedBatch`, read item
by item, in bounded memory, as the job stores it. The body's SHA-256 is left in the parser
context as ``body_digest`` once it is all read, for ``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext as _
from lxml import etree
from rest_framework import exceptions, renderers, serializers
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils import json

from . import bodies, xmlreader
from .exceptions import RequestBodyTooLarge
from .namespaces import XML_NAMESPACE, is_xml_media_type

#: Bytes read to tell a batch from a single object before the size check.
FIRST_LOOK = 8192
#: Bytes read at a time from a body streamed into a job.
CHUNK = 64 * 1024


class BodyStream:
    """A request's body as it arrives, in chunks: counted against ``limit`` (413 as soon as it
    is passed, whatever the ``Content-Length`` said), hashed, the digest left in the parser
    context once it is all read."""

    def __init__(
        self, stream: IO[bytes], head: bytes, limit: int | None, context: Mapping[str, Any]
    ) -> None:
        self.stream = stream
        self.head = head
        self.limit = limit
        self.context = context
        self.size = 0
        self.hash = hashlib.sha256()
        self.ended = len(head) < FIRST_LOOK

    def __iter__(self) -> Iterator[bytes]:
        if self.head:
            yield self.counted(self.head)
            self.head = b""
        while not self.ended:
            chunk = self.stream.read(CHUNK)
            if not chunk:
                break
            yield self.counted(chunk)
        self.ended = True
        if isinstance(self.context, dict):
            self.context["body_digest"] = self.hash.hexdigest()

    def counted(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            raise RequestBodyTooLarge(RequestBodyTooLarge.more_detail.format(limit=self.limit))
        self.hash.update(chunk)
        return chunk

    def read(self) -> bytes:
        return b"".join(self)


class StreamedBatch:
    """The items of a batch read from its body as they are iterated (once): what a parser
    answers for a batch to run in the background. What cannot be read as a whole raises
    DRF's 400 as it is met (the job storing the items then stores none)."""

    def __init__(self, body: BodyStream, items: Iterable[Any]) -> None:
        self.body = body
        self.items = items

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self.items
        except bodies.BodyError as exc:
            raise exceptions.ParseError(str(exc)) from exc

    def digest(self) -> str:
        """The body's SHA-256, the rest of it read (and not parsed) where needed."""
        for _chunk in self.body:
            pass
        return str(self.body.context.get("body_digest", self.body.hash.hexdigest()))


def is_batch(data: Any) -> bool:
    """Whether parsed data is a batch: a list, or a batch streamed into a job."""
    return isinstance(data, list | StreamedBatch)


def open_body(
    stream: IO[bytes],
    parser_context: Mapping[str, Any] | None,
    is_batch_head: Callable[[bytes], bool],
) -> tuple[BodyStream, bool]:
    """The body, ready to be read under its limit, and whether it is a batch to stream into a
    job; 413 before more than its first look is read where its ``Content-Length`` is over the
    limit."""
    context = parser_context if parser_context is not None else {}
    head = stream.read(FIRST_LOOK)
    batch = is_batch_head(head)
    single = context.get("max_body_size", settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    limit = context.get("max_batch_body_size", single) if batch else single
    meta = getattr(context.get("request"), "META", {})
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None and length > limit:
        raise RequestBodyTooLarge(length=length, limit=limit)
    return BodyStream(stream, head, limit, context), batch and bool(context.get("stream_batches"))


def read_body(
    stream: IO[bytes],
    parser_context: Mapping[str, Any] | None,
    is_batch_head: Callable[[bytes], bool],
) -> bytes:
    """The whole body, or 413 before more than its first look is read when it is over its
    limit."""
    body, _streamed = open_body(stream, parser_context, is_batch_head)
    return body.read()


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


def always(head: bytes) -> bool:
    return True


def parse_constant() -> Callable[[str], Any] | None:
    return json.strict_constant if api_settings.STRICT_JSON else None


class MultiStatusJSONParser(BaseParser):
    """DRF's ``JSONParser``, reading its body under a batch's or an object's limit, streaming an
    array into a background job, and answering 400, not 500, to nesting too deep for Python's
    decoder."""

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer
    strict = api_settings.STRICT_JSON

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body, streamed = open_body(stream, parser_context, starts_json_array)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        constant = json.strict_constant if self.strict else None
        if streamed:
            return StreamedBatch(body, bodies.json_array_items(body, encoding, constant))
        try:
            return json.loads(body.read().decode(encoding), parse_constant=constant)
        except RecursionError as exc:
            raise exceptions.ParseError(_("JSON parse error - nesting too deep.")) from exc
        except ValueError as exc:
            raise exceptions.ParseError(_("JSON parse error - %s") % exc) from exc


class MultiStatusNDJSONParser(BaseParser):
    """JSON lines: one item per line, always a batch (of one, for one line). A line that is not
    JSON is that item's 400; blank lines are skipped."""

    media_type = "application/x-ndjson"

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body, streamed = open_body(stream, parser_context, always)
        items = bodies.ndjson_items(body, parse_constant())
        return StreamedBatch(body, items) if streamed else list(StreamedBatch(body, items))


class MultiStatusCSVParser(BaseParser):
    """RFC 4180 CSV: a header row naming the fields, then one item per row, always a batch.
    ``charset`` of the content type (UTF-8 by default; a byte order mark accepted). An empty
    cell leaves its field out, ``\\N`` is null, a many-valued field's cell holds a JSON array
    (``["friends", "work"]``) or one value. A row that cannot be read is that item's 400; a body
    without a header, or with a column named twice, is refused."""

    media_type = "text/csv"

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body, streamed = open_body(stream, parser_context, always)
        _type, parameters = parse_header_parameters(media_type or self.media_type)
        charset = parameters.get("charset", "utf-8")
        many = many_valued_fields((parser_context or {}).get("view"))
        items = bodies.csv_items(body, charset, many)
        return StreamedBatch(body, items) if streamed else list(StreamedBatch(body, items))


def many_valued_fields(view: Any) -> set[str]:
    """The input fields of the view's serializer that take a list: a CSV cell holds a JSON
    array for them."""
    get_serializer = getattr(view, "get_serializer", None)
    if get_serializer is None:
        return set()
    try:
        fields = get_serializer().fields
    except Exception:  # a serializer that needs an object to be made reads every cell as text
        return set()
    kinds = (
        serializers.ManyRelatedField,
        serializers.ListField,
        serializers.MultipleChoiceField,
        serializers.ListSerializer,
    )
    return {name for name, field in fields.items() if isinstance(field, kinds)}


class MultiStatusXMLParser(BaseParser):
    """Reads a batch (or a single object) sent as XML, in the format the XML renderer writes::

        <ms:data xmlns:ms="urn:drf-multistatus">
          <ms:item><ms:name>Ann</ms:name><ms:email>ann@example.com</ms:email></ms:item>
        </ms:data>

    Documents with a DTD are refused (no entity expansion, no external entities, no network).
    An XML body is read whole, also for a background job.
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


#: The parsers of the batch formats beside JSON and XML.
FILE_PARSERS = (MultiStatusNDJSONParser, MultiStatusCSVParser)


def multistatus_parser_classes(base: Iterable[Any] | None = None) -> list[Any]:
    """``base`` (default: DRF's ``DEFAULT_PARSER_CLASSES``) with ``JSONParser`` replaced by ours,
    the NDJSON and CSV parsers, and, unless it has one already, the XML parsers."""
    parsers = [
        MultiStatusJSONParser if parser is JSONParser else parser
        for parser in (base or api_settings.DEFAULT_PARSER_CLASSES)
    ]
    media_types = {str(getattr(parser, "media_type", "")) for parser in parsers}
    parsers += [parser for parser in FILE_PARSERS if parser.media_type not in media_types]
    if not any(is_xml_media_type(media_type) for media_type in media_types):
        parsers += [MultiStatusXMLParser, MultiStatusTextXMLParser]
    return parsers
