"""Sending a long list of items safely, through a ``requests`` session or an ``httpx`` client::

    from drf_multistatus.client import send_batch

    body = send_batch(requests.Session(), "https://example.com/api/contacts/", rows)
    body.raise_for_failures()   # or look at body.failed

The list goes in requests of at most ``batch_size`` items (halved when the server answers 413),
each with an ``Idempotency-Key`` of its own. A request whose answer is lost (a transport error),
refused while its twin still runs (409 with ``Retry-After``) or answered 502/503/504/429 is sent
again with the same key, after a backoff that honours ``Retry-After``: the server runs it at most
once and replays its outcome. Items that failed for a passing reason (503 by default) go again in
a new request, with a new key. The result is one body, in the caller's own indexes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..results import summarize
from .jobs import Job, wait_for_job
from .parsing import MultiStatusBody, Result, from_response

#: Whole-response statuses sent again with the same key.
RETRY_RESPONSE_STATUSES = frozenset({429, 502, 503, 504})
#: Item statuses sent again, in a new request.
RETRY_ITEM_STATUSES = (503,)


class BatchRefused(Exception):
    """The server refused a whole request (400, 401, 403, 422, …): no item of it ran."""

    def __init__(self, status: int, detail: Any, items: Sequence[int]) -> None:
        super().__init__(f"The server refused a batch with {status}: {detail}")
        self.status = status
        self.detail = detail
        self.items = list(items)  # the caller's indexes of the refused request's items


def send_batch(
    session: Any,
    url: str,
    items: Sequence[Any],
    method: str = "POST",
    *,
    batch_size: int = 1000,
    headers: dict[str, str] | None = None,
    retries: int = 5,
    backoff: float = 0.5,
    max_backoff: float = 30.0,
    timeout: float = 60.0,
    retry_item_statuses: Sequence[int] = RETRY_ITEM_STATUSES,
    raise_on_failure: bool = False,
    background: bool = False,
    job_timeout: float = 3600.0,
    idempotency_key: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> MultiStatusBody:
    """Send ``items`` to ``url`` in as many bulk requests as needed; return every item's result,
    ``index`` being its position in ``items``.

    With ``background``, each request asks for a background job (``Prefer: respond-async``;
    ``batch_size`` may then go up to the server's background limit) and its result is awaited
    with ``wait_for_job``.

    Each request's ``Idempotency-Key`` is random, or, given an ``idempotency_key`` for the whole
    list, derived from it and the items the request carries: the same call run again (after the
    script itself crashed, say) sends the same keys, so the server replays what it already did
    instead of doing it twice.

    Raises ``BatchRefused`` when the server refuses a request whole, the last transport error
    when a request could not be sent after ``retries`` attempts, and with ``raise_on_failure``
    ``MultiStatusError`` when any item failed.
    """
    headers = dict(headers or {})
    if background:
        headers["Prefer"] = ", ".join(filter(None, [headers.get("Prefer"), "respond-async"]))
    sender = _Sender(session, url, method, headers, retries, backoff, max_backoff, timeout)
    sender.sleep = sleep
    sender.job_timeout = job_timeout
    sender.idempotency_key = idempotency_key
    results: dict[int, Result] = {}
    pending = list(range(len(items)))
    size = max(1, batch_size)
    for round_number in range(retries + 1):
        again: list[int] = []
        start = 0
        while start < len(pending):
            chunk = pending[start : start + size]
            status, body, refused = sender.send([items[i] for i in chunk], (round_number, chunk))
            if status == 413 and len(chunk) > 1:
                size = max(1, len(chunk) // 2)  # the server's limit is lower: halve and resend
                continue
            if refused is not None:
                raise BatchRefused(status, refused, chunk)
            assert body is not None
            for result in body.results:
                original = chunk[result.index]
                last_round = round_number == retries
                if result.status in retry_item_statuses and not last_round:
                    again.append(original)
                else:
                    results[original] = replace(result, index=original)
            start += len(chunk)
        if not again:
            break
        pending = sorted(again)
        sender.wait(round_number, None)
    merged = merge([results[i] for i in sorted(results)])
    if raise_on_failure:
        merged.raise_for_failures()
    return merged


def merge(results: list[Result]) -> MultiStatusBody:
    summary = summarize(result.status for result in results)
    return MultiStatusBody(results, status=207, summary=summary)


class _Sender:
    """Sends one request's items with one key, again and again until it has an answer."""

    sleep: Callable[[float], None]
    job_timeout: float
    idempotency_key: str | None = None

    def __init__(
        self,
        session: Any,
        url: str,
        method: str,
        headers: dict[str, str],
        retries: int,
        backoff: float,
        max_backoff: float,
        timeout: float,
    ) -> None:
        self.session = session
        self.url = url
        self.method = method.upper()
        self.headers = headers
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.is_httpx = type(session).__module__.split(".")[0] == "httpx"
        self.transport_errors = transport_errors()

    def send(
        self, items: list[Any], position: tuple[int, list[int]]
    ) -> tuple[int, MultiStatusBody | None, Any]:
        """``(status, body, None)``, or ``(status, None, error detail)`` for a refused request;
        ``position``: the round and the caller's indexes of ``items``."""
        key = self.key(*position)
        content = json.dumps(items).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            **self.headers,
            "Idempotency-Key": f'"{key}"',
        }
        response = self.answer(lambda: self.request(content, headers))
        status = response.status_code
        if status == 202 and "Location" in response.headers:  # a background job
            body = wait_for_job(
                self.session,
                response.headers["Location"],
                timeout=self.job_timeout,
                sleep=self.sleep,
            )
            return body.status or 207, body, None
        try:
            return status, from_response(response), None
        except ValueError:
            return status, None, _detail(response)

    def answer(self, send: Callable[[], Any]) -> Any:
        """The response to ``send()``, sent again (it carries its key) after a transport error
        or a passing refusal, up to ``retries`` times."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = send()
            except self.transport_errors:
                if last:
                    raise
                self.wait(attempt, None)
                continue
            retry_after = response.headers.get("Retry-After")
            in_flight = response.status_code == 409 and retry_after is not None
            if (response.status_code in RETRY_RESPONSE_STATUSES or in_flight) and not last:
                self.wait(attempt, retry_after)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def key(self, round_number: int, indexes: list[int]) -> str:
        """A random key, or one derived from the caller's key, the round and the items."""
        if self.idempotency_key is None:
            return str(uuid.uuid4())
        digest = hashlib.sha256(json.dumps([round_number, indexes]).encode()).hexdigest()
        return f"{self.idempotency_key}-{digest[:32]}"

    def request(self, content: Any, headers: dict[str, str]) -> Any:
        body = {"content": content} if self.is_httpx else {"data": content}
        return self.session.request(
            self.method, self.url, headers=headers, timeout=self.timeout, **body
        )

    def wait(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: keep the backoff
                delay = max(delay, float(retry_after))
        self.sleep(min(delay, self.max_backoff))


def _detail(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return response.content[:500]


def transport_errors() -> tuple[type[BaseException], ...]:
    """The exceptions of a request whose answer never arrived, for the HTTP libraries present."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        import requests

        errors.append(requests.RequestException)
    except ImportError:
        pass
    try:
        import httpx

        errors.append(httpx.TransportError)
    except ImportError:
        pass
    return tuple(errors)


#: Content types of the files ``send_file`` sends, by name ending.
FILE_TYPES = {
    ".csv": "text/csv",
    ".ndjson": "application/x-ndjson",
    ".jsonl": "application/x-ndjson",
}


def send_file(
    session: Any,
    url: str,
    path: str | os.PathLike[str],
    method: str = "POST",
    *,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
    idempotency_key: str | None = None,
    retries: int = 5,
    backoff: float = 0.5,
    max_backoff: float = 30.0,
    timeout: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Job:
    """Upload a file of items (CSV, JSON lines, or a JSON array) to ``url`` as one background
    job, the body read from disk as it is sent; return the :class:`Job`.

    The content type comes from the name (``.csv``, ``.ndjson``/``.jsonl``, else JSON) unless
    given. With an ``idempotency_key`` the upload is sent again under it when its answer is lost
    or the server is busy (the job is made once); without one it is sent once. Raises
    ``BatchRefused`` when the server refuses the file whole (413, 415, 400, …).
    """
    suffix = os.path.splitext(str(path))[1].lower()
    headers = {
        "Content-Type": content_type or FILE_TYPES.get(suffix, "application/json"),
        "Accept": "application/json",
        **(headers or {}),
    }
    headers["Prefer"] = ", ".join(filter(None, [headers.get("Prefer"), "respond-async"]))
    if idempotency_key is not None:
        headers["Idempotency-Key"] = f'"{idempotency_key}"'
    else:
        retries = 0
    sender = _Sender(session, url, method, headers, retries, backoff, max_backoff, timeout)
    sender.sleep = sleep

    def upload() -> Any:
        with open(path, "rb") as file:
            return sender.request(file, headers)

    response = sender.answer(upload)
    if response.status_code == 202 and "Location" in response.headers:
        return Job(session, response.headers["Location"])
    raise BatchRefused(response.status_code, _detail(response), [])
