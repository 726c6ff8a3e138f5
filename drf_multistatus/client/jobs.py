"""Background jobs (``Prefer: respond-async``): waiting for one to end, reading, exporting and
retrying its results."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from .parsing import MultiStatusBody, Result, from_response


class JobTimeout(Exception):
    """The job had not ended when ``wait_for_job`` gave up; ``state`` is its last state."""

    def __init__(self, url: str, state: Any) -> None:
        super().__init__(f"The job at {url} had not ended: {state}")
        self.url = url
        self.state = state


def wait_for_job(
    session: Any,
    url: str,
    *,
    timeout: float = 3600.0,
    interval: float = 1.0,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> MultiStatusBody:
    """Poll a job's URL (honouring ``Retry-After``) until it ends; return its 207 body with
    every result (a big job's are read page by page, following ``Link: rel="next"``).

    ``on_progress`` gets each state while it runs (``state``, ``done``, ``total``,
    ``by_status``).
    """
    deadline = time.monotonic() + timeout
    headers = JSON
    while True:
        response = session.get(url, headers=headers)
        if response.status_code != 200:  # 207 (or the shared status of every item)
            return with_every_page(session, response, headers)
        state = response.json()
        if on_progress is not None:
            on_progress(state)
        if time.monotonic() > deadline:
            raise JobTimeout(url, state)
        try:
            delay = float(response.headers.get("Retry-After", interval))
        except ValueError:
            delay = interval
        sleep(delay)


def with_every_page(session: Any, response: Any, headers: dict[str, str]) -> MultiStatusBody:
    """The body of ``response`` with the results of the pages its ``Link`` header leads to."""
    body = from_response(response)
    results = list(body.results)
    while (url := next_link(response)) is not None:
        response = session.get(url, headers=headers)
        _expect(response, 200, url)
        results.extend(from_response(response).results)
    return replace(body, results=results)


def next_link(response: Any) -> str | None:
    """The ``rel="next"`` target of a response's ``Link`` header (RFC 8288), if any."""
    headers = getattr(response, "headers", None) or {}
    for link in (headers.get("Link") or headers.get("link") or "").split(","):
        target, _semicolon, parameters = link.partition(";")
        rels = {
            value.strip().strip('"')
            for name, _eq, value in (p.partition("=") for p in parameters.split(";"))
            if name.strip().lower() == "rel"
        }
        if "next" in " ".join(rels).split():
            return target.strip().strip("<>")
    return None


class Job:
    """A background job on the server, from its URL: wait for it, read or export its results,
    send its failed items again::

        job = send_file(session, "https://example.com/api/contacts/", "contacts.csv")
        body = job.wait()
        job.export("failed.csv", status="failed")   # fix the rows, then send_file() them again
        again = job.retry()                          # or run the failed items once more as they are
    """

    def __init__(self, session: Any, url: str) -> None:
        self.session = session
        self.url = url

    def __repr__(self) -> str:
        return f"Job({self.url!r})"

    def state(self) -> dict[str, Any]:
        """The job's state (``state``, ``done``, ``total``, ``by_status``…) or, once it has
        ended, its summary."""
        response = self.session.get(self.url, headers=JSON)
        document = response.json()
        return document.get("summary", document) if response.status_code != 200 else document

    def wait(self, **options: Any) -> MultiStatusBody:
        """Its 207 body once it has ended, every result included (``wait_for_job``'s options)."""
        return wait_for_job(self.session, self.url, **options)

    def results(self, status: str | None = None, page_size: int = 1000) -> Iterator[Result]:
        """Its results so far, in index order, read a page at a time; ``status`` filters them
        as ``?status=`` does (``422``, ``4xx``, ``failed``, ``succeeded``)."""
        query = {"page_size": str(page_size), **({"status": status} if status else {})}
        url: str | None = f"{self.results_url}?{urlencode(query)}"
        while url is not None:
            response = self.session.get(url, headers=JSON)
            _expect(response, 200, url)
            yield from from_response(response).results
            url = next_link(response)

    def export(self, path: str | os.PathLike[str], status: str | None = None) -> None:
        """Write its results matching ``status`` to ``path``: CSV for a ``.csv`` name (ready to
        be fixed and sent again), JSON lines otherwise."""
        media_type = "text/csv" if str(path).lower().endswith(".csv") else "application/x-ndjson"
        url = self.results_url + (f"?{urlencode({'status': status})}" if status else "")
        headers = {"Accept": media_type}
        with _streamed(self.session, url, headers) as (response, chunks), open(path, "wb") as file:
            _expect(response, 200, url)
            for chunk in chunks:
                file.write(chunk)

    def retry(self, status: Sequence[str] = (), idempotency_key: str | None = None) -> Job:
        """A new job over this one's items whose results match ``status`` (by default, the
        failed ones); its results keep this job's indexes. Raises ``ValueError`` when the
        server refuses: 409 for a job not ended or with no such result."""
        headers = {**JSON, "Content-Type": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = f'"{idempotency_key}"'
        body = json.dumps({"status": list(status)} if status else {}).encode()
        url = self.url.rstrip("/") + "/retry/"
        response = self.session.request("POST", url, headers=headers, **_body(self.session, body))
        _expect(response, 202, url)
        return Job(self.session, response.headers["Location"])

    @property
    def results_url(self) -> str:
        return self.url.rstrip("/") + "/results/"


JSON = {"Accept": "application/json"}


def _expect(response: Any, status: int, url: str) -> None:
    if response.status_code != status:
        raise ValueError(f"{url} answered {response.status_code}: {response.content[:500]!r}")


@contextlib.contextmanager
def _streamed(
    session: Any, url: str, headers: dict[str, str]
) -> Iterator[tuple[Any, Iterator[bytes]]]:
    """A GET whose body is read as it arrives, with httpx or requests."""
    if _is_httpx(session):
        with session.stream("GET", url, headers=headers) as response:
            yield response, response.iter_bytes()
    else:
        with session.get(url, headers=headers, stream=True) as response:
            yield response, response.iter_content(1 << 16)


def _is_httpx(session: Any) -> bool:
    return type(session).__module__.split(".")[0] == "httpx"


def _body(session: Any, content: Any) -> dict[str, Any]:
    """The keyword an HTTP library takes a request body by: httpx ``content``, requests
    ``data``."""
    return {"content": content} if _is_httpx(session) else {"data": content}
