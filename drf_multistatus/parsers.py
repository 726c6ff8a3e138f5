"""DRF's JSON parser, hardened for request bodies that carry whole batches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO, Any

from lxml import etree
from rest_framework import exceptions
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.settings import api_settings

from . import xmlreader
from .namespaces import XML_NAMESPACE, is_xml_media_type


class MultiStatusJSONParser(JSONParser):
    """``JSONParser`` that answers 400, not 500, to nesting too deep for Python's decoder."""

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nesting too deep.") from exc


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
        try:
            root = xmlreader.parse(stream.read())
        except (xmlreader.UnsafeXML, etree.XMLSyntaxError) as exc:
            raise exceptions.ParseError(f"XML parse error - {exc}") from exc
        if root.tag != f"{{{XML_NAMESPACE}}}data":
            raise exceptions.ParseError(
                f'XML parse error - the root element must be "data" in the namespace '
                f'"{XML_NAMESPACE}", not "{etree.QName(root).localname}".'
            )
        data = xmlreader.element_data(root)
        return [] if data == "" else data  # an empty ms:data is an empty batch


class MultiStatusTextXMLParser(MultiStatusXMLParser):
    media_type = "text/xml"


def multistatus_parser_classes(base: Iterable[Any] | None = None) -> list[Any]:
    """``base`` (default: DRF's ``DEFAULT_PARSER_CLASSES``) with ``JSONParser`` hardened and,
    unless it has one already, the XML parsers."""
    parsers = [
        MultiStatusJSONParser if parser is JSONParser else parser
        for parser in (base or api_settings.DEFAULT_PARSER_CLASSES)
    ]
    if not any(is_xml_media_type(str(getattr(parser, "media_type", ""))) for parser in parsers):
        parsers += [MultiStatusXMLParser, MultiStatusTextXMLParser]
    return parsers
