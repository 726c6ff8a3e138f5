"""Bulk create, update, delete and upsert for Django REST framework, answered with 207
Multi-Status."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "MultiStatusMixin": "generics",
    "BulkCreateModelMixin": "mixins",
    "BulkUpdateModelMixin": "mixins",
    "BulkDestroyModelMixin": "mixins",
    "BulkMetadata": "metadata",
    "BulkModelViewSet": "viewsets",
    "BulkRouter": "routers",
    "BulkDefaultRouter": "routers",
    "MultiStatusJSONRenderer": "renderers",
    "MultiStatusXMLRenderer": "renderers",
    "MultiStatusTextXMLRenderer": "renderers",
    "MultiStatusBrowsableAPIRenderer": "browsable",
    "multistatus_renderer_classes": "renderers",
    "MultiStatusJSONParser": "parsers",
    "MultiStatusXMLParser": "parsers",
    "multistatus_parser_classes": "parsers",
    "ItemResult": "results",
    "MultiStatus": "results",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import public names on first use, so importing the package needs no configured Django."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
