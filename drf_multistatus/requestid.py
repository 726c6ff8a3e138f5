"""The id of a bulk request: the client's ``X-Request-ID`` where it is a sane value, else a new
one. It is echoed in the response's header and the body's ``summary``, kept by the job the
request submits, and handed to the hooks (``view.bulk_request_id``), the log record and the
signals, so that a project can tie every change to the batch that made it."""

from __future__ import annotations

import re
import uuid

from django.http import HttpRequest
from rest_framework.request import Request

HEADER = "X-Request-ID"
#: What a client's id may be: a token of up to 200 characters (a UUID, a trace id, ``job:42``).
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,199}")


def request_id(request: Request | HttpRequest) -> str:
    """The client's ``X-Request-ID``, or, where it sent none or something else, a new UUID."""
    value = request.META.get("HTTP_X_REQUEST_ID", "").strip()
    return value if _SANE.fullmatch(value) else str(uuid.uuid4())
