"""Waiting for a background job (``Prefer: respond-async``) to end."""

from __future__ import annotations

import time
from collections.abc import Callable
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
    """Poll a job's URL (honouring ``Retry-After``) until it ends; return its 207 body.

    ``on_progress`` gets each state while it runs (``state``, ``done``, ``total``,
    ``by_status``).
    """
    deadline = time.monotonic() + timeout
    headers = {"Accept": "application/json"}
    while True:
        response = session.get(url, headers=headers)
        if response.status_code != 200:  # 207 (or the shared status of every item)
            return from_response(response)
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
