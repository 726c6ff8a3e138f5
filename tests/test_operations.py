"""Every bulk request leaves one structured log record and one signal with its summary."""

from __future__ import annotations

import logging

import pytest

from drf_multistatus.signals import bulk_request_finished

pytestmark = pytest.mark.django_db


def test_one_log_record_and_one_signal_per_bulk_request(
    api, caplog, django_capture_on_commit_callbacks
):
    """Sent once the transaction committed (here, the test's own transaction is kept open: the
    callbacks run as they would at its commit)."""
    received = []

    def receiver(sender, view, request, summary, **kwargs):
        received.append((sender, summary))

    bulk_request_finished.connect(receiver)
    try:
        with (
            caplog.at_level(logging.INFO, logger="drf_multistatus"),
            django_capture_on_commit_callbacks(execute=True) as callbacks,
        ):
            batch = [{"name": "A", "email": "a@example.com"}, {"name": "B", "email": "bad"}]
            response = api.post(
                "/api/contacts/?atomic=true", batch, format="json", HTTP_X_REQUEST_ID="req-7"
            )
            api.post("/api/contacts/", {"name": "single", "email": "s@example.com"}, format="json")
            assert received == []  # not before the commit
        assert len(callbacks) == 1
    finally:
        bulk_request_finished.disconnect(receiver)

    assert len(received) == 1  # the single create is not a bulk request
    sender, summary = received[0]
    assert sender.__name__ == "ContactViewSet"
    duration = summary.pop("duration_ms")
    assert duration > 0
    assert summary == {
        "view": "demo_project.contacts.views.ContactViewSet",
        "method": "POST",
        "path": "/api/contacts/",
        "items": 2,
        "succeeded": 0,
        "failed": 2,
        "by_status": {"422": 1, "424": 1},
        "atomic": True,
        "dry_run": False,
        "request_id": "req-7",
    }
    records = [r for r in caplog.records if r.name == "drf_multistatus"]
    assert len(records) == 1
    assert records[0].levelno == logging.INFO
    assert records[0].multistatus["by_status"] == {"422": 1, "424": 1}
    assert records[0].multistatus["request_id"] == "req-7"
    assert response["X-Request-ID"] == response.json()["summary"]["request_id"] == "req-7"
    assert (
        records[0]
        .getMessage()
        .startswith("bulk POST /api/contacts/: 2 items, 0 succeeded, 2 failed (422: 1, 424: 1) in ")
    )


def test_whole_request_errors_send_no_signal(api):
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    bulk_request_finished.connect(receiver)
    try:
        assert api.put("/api/contacts/", {"not": "a list"}, format="json").status_code == 400
    finally:
        bulk_request_finished.disconnect(receiver)
    assert received == []
