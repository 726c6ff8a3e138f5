"""The client side of drf-multistatus, no Django needed: reading 207 bodies (``parse``,
``from_response``), sending long lists of items safely (``send_batch``) and files of them
(``send_file``), and background jobs (``Job``, ``wait_for_job``)."""

from .jobs import Job, JobTimeout, wait_for_job
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
from .sending import BatchRefused, send_batch, send_file

__all__ = [
    "RETRYABLE_STATUSES",
    "BatchRefused",
    "Job",
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
    "send_file",
    "status_code",
    "wait_for_job",
]
