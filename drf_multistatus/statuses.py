"""HTTP status lines and reason phrases, as multistatus bodies write them."""

from __future__ import annotations

import functools
from http import HTTPStatus

# RFC 9110 names, which Python's HTTPStatus has only from 3.13 on.
REASON_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}


def reason_phrase(code: int) -> str:
    if code in REASON_PHRASES:
        return REASON_PHRASES[code]
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


@functools.lru_cache(maxsize=128)
def status_line(code: int) -> str:
    """The RFC 4918 §14.28 status line: ``HTTP/1.1 409 Conflict``."""
    return f"HTTP/1.1 {code} {reason_phrase(code)}".rstrip()
