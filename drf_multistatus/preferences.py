"""RFC 7240 ``Prefer`` request preferences, and the ``Preference-Applied`` answer."""

from __future__ import annotations

import re

from django.http import HttpRequest
from rest_framework.request import Request

#: PostgREST's preference for an upsert: items whose key exists replace that object.
MERGE_DUPLICATES = "resolution=merge-duplicates"
#: RFC 7240: successful items carry no representation.
RETURN_MINIMAL = "return=minimal"
#: RFC 7240: answer 202 at once and do the work in the background.
RESPOND_ASYNC = "respond-async"

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


def prefers(request: Request | HttpRequest, preference: str) -> bool:
    """Whether the request asks for ``preference`` (``name=value``, or a bare ``name``)."""
    name, _, value = preference.partition("=")
    chosen = preferences(request).get(name)
    return chosen is not None and chosen.lower() == value.lower()
