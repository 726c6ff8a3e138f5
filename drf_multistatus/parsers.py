"""DRF's JSON parser, hardened for request bodies that carry whole batches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO, Any

from rest_framework import exceptions
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.settings import api_settings


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


def multistatus_parser_classes(base: Iterable[type[BaseParser]] | None = None) -> list:
    """``base`` (default: DRF's ``DEFAULT_PARSER_CLASSES``) with ``JSONParser`` hardened."""
    return [
        MultiStatusJSONParser if parser is JSONParser else parser
        for parser in (base or api_settings.DEFAULT_PARSER_CLASSES)
    ]
