"""Waiting for a background job (``Prefer: respond-async``) to end."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .parsing import MultiStatusBody, from_response


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
    headers = {"Accept": "application/json"}
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
        if response.status_code != 200:
            raise ValueError(f"The page of results at {url} answered {response.status_code}.")
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
