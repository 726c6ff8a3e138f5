"""Faults the tests inject into a running demo, on only when DEMO_FAULT_HOOKS=1.

``X-Demo-Fault: exit-after-commit`` on a bulk request ends the server process right after the
request's transaction committed, before any answer is sent: what a crash at that moment does.
"""

import os
from typing import Any

from drf_multistatus.signals import bulk_request_finished


def exit_after_commit(sender: Any, request: Any, **kwargs: Any) -> None:
    if request.META.get("HTTP_X_DEMO_FAULT") == "exit-after-commit":
        os._exit(1)


def install() -> None:
    if os.environ.get("DEMO_FAULT_HOOKS") == "1":
        bulk_request_finished.connect(exit_after_commit)
