"""Signals sent by bulk views."""

from django.dispatch import Signal

#: Sent once per bulk request, once its transaction committed, with ``view``, ``request`` and
#: ``summary``: a dict with ``view`` (dotted class path), ``method``, ``path``, ``items``,
#: ``succeeded``, ``failed``, ``by_status`` (status code as string → count), ``atomic``,
#: ``dry_run`` (``Prefer: tx=rollback``: nothing was kept), ``request_id`` (its
#: ``X-Request-ID``, see ``requestid``) and ``duration_ms``. The same dict is logged on the
#: ``drf_multistatus`` logger.
bulk_request_finished = Signal()

#: Sent when a background job starts (once, not again when it resumes), with ``job``.
bulk_job_started = Signal()

#: Sent when a background job finished, was cancelled or failed, with ``job`` (its ``state``,
#: ``total``, ``counts`` by status). A log record on the ``drf_multistatus`` logger says the same.
bulk_job_finished = Signal()
