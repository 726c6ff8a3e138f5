"""The client side of drf-multistatus, no Django needed: reading 207 bodies (``parse``,
``from_response``), sending long lists of items safely (``send_batch``), and waiting for
background jobs (``wait_for_job``)."""

from .jobs import JobTimeout, wait_for_job
from .parsing import (
    RETRYABLE_STATUSES,
    MultiStatusBody,
    MultiStatusError,
    PropStat,
    Result,
    from_response,
    parse,
    parse_json,
    parse_xml,
    status_code,
)
from .sending import BatchRefused, send_batch

__all__ = [
    "RETRYABLE_STATUSES",
    "BatchRefused",
    "JobTimeout",
    "MultiStatusBody",
    "MultiStatusError",
    "PropStat",
    "Result",
    "from_response",
    "parse",
    "parse_json",
    "parse_xml",
    "send_batch",
    "status_code",
    "wait_for_job",
]
