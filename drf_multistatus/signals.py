"""Signals sent by bulk views."""

from django.dispatch import Signal

#: Sent once per bulk request, after its transaction ended, with ``view``, ``request`` and
#: ``summary``: a dict with ``view`` (dotted class path), ``method``, ``path``, ``items``,
#: ``succeeded``, ``failed``, ``by_status`` (status code as string → count), ``atomic`` and
#: ``duration_ms``. The same dict is logged on the ``drf_multistatus`` logger.
bulk_request_finished = Signal()
