"""RFC 7240 ``Prefer`` request preferences, and the ``Preference-Applied`` answer."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.http import HttpRequest
from rest_framework.request import Request

#: PostgREST's preference for an upsert: items whose key exists replace that object.
MERGE_DUPLICATES = "resolution=merge-duplicates"
#: RFC 7240: successful items carry no representation.
RETURN_MINIMAL = "return=minimal"
#: RFC 7240: answer 202 at once and do the work in the background.
RESPOND_ASYNC = "respond-async"
#: PostgREST's dry run: the batch runs as it would, answers, and is rolled back.
TX_ROLLBACK = "tx=rollback"
#: RFC 7240: a preference the server cannot honour refuses the request (400), not ignored.
HANDLING_STRICT = "handling=strict"

_PREFERENCE = re.compile(r'\s*([^\s=;,]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;,]*))?[^,]*')


def preferences(request: Request | HttpRequest) -> dict[str, str]:
    """The request's preferences, name (lower case) to value (``""`` when it has none).

    Parameters after ``;`` are ignored; of a preference given twice, the first counts
    (RFC 7240 §2).
    """
    found: dict[str, str] = {}
    for match in _PREFERENCE.finditer(request.META.get("HTTP_PREFER", "")):
        name, value = match[1].lower(), (match[2] or "")
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.setdefault(name, value)
    return found


#: Preferences every bulk request honours by doing what it does anyway.
ALWAYS_HONOURED = frozenset(
    {"return=representation", "tx=commit", HANDLING_STRICT, "handling=lenient"}
)


def unhonoured(request: Request | HttpRequest, applied: Iterable[str]) -> list[str]:
    """The request's preferences that ``applied`` (and what is always honoured) leaves out,
    as ``name`` or ``name=value``."""
    honoured = {preference.lower() for preference in (*applied, *ALWAYS_HONOURED)}
    asked = (f"{name}={value}" if value else name for name, value in preferences(request).items())
    return [preference for preference in asked if preference.lower() not in honoured]


def prefers(request: Request | HttpRequest, preference: str) -> bool:
    """Whether the request asks for ``preference`` (``name=value``, or a bare ``name``)."""
    name, _, value = preference.partition("=")
    chosen = preferences(request).get(name)
    return chosen is not None and chosen.lower() == value.lower()
