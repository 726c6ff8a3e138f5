"""Every bulk request has an id: the client's ``X-Request-ID`` where it is sane, else a new one;
echoed in the header and the summary, kept by its job, seen by the hooks, the log record and the
signal."""

from __future__ import annotations

import uuid

import pytest

from drf_multistatus.models import BulkJob
from drf_multistatus.signals import bulk_request_finished
from tests.testapp.views import HookedContactViewSet

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
ITEMS = [{"name": "Nia", "email": "nia@example.com"}]


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@pytest.mark.parametrize(
    "sent", ["4bf92f3577b34da6a3ce929d0e0e4736", "import:2026-12-01/7", "a" * 200, "x+y=z@host"]
)
def test_a_sane_request_id_is_echoed(api, sent):
    response = api.post(URL, ITEMS, format="json", HTTP_X_REQUEST_ID=sent)
    assert response["X-Request-ID"] == response.json()["summary"]["request_id"] == sent


@pytest.mark.parametrize(
    "sent", [None, "", "a" * 201, "two words", "-leading", "naïve", "semi;colon", "<script>"]
)
def test_anything_else_gets_a_new_one(api, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    first = api.post(URL, ITEMS, format="json", **headers)
    second = api.post(URL, ITEMS, format="json", **headers)
    ids = [r["X-Request-ID"] for r in (first, second)]
    assert ids == [r.json()["summary"]["request_id"] for r in (first, second)]
    assert all(is_uuid(i) for i in ids) and ids[0] != ids[1]


def test_the_xml_summary_carries_it(api):
    response = api.post(
        URL, ITEMS, format="json", HTTP_ACCEPT="application/xml", HTTP_X_REQUEST_ID="r-1"
    )
    assert b'ms:request-id="r-1"' in response.content


def test_hooks_and_the_signal_see_it(api, monkeypatch, django_capture_on_commit_callbacks):
    seen: list[str] = []
    original = HookedContactViewSet.perform_create

    def perform_create(self, serializer):
        seen.append(self.bulk_request_id)
        original(self, serializer)

    monkeypatch.setattr(HookedContactViewSet, "perform_create", perform_create)
    signalled: list[tuple[str, str]] = []

    def receiver(sender, view, summary, **kwargs):
        signalled.append((view.bulk_request_id, summary["request_id"]))

    bulk_request_finished.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            items = [*ITEMS, {"name": "Ola", "email": "ola@example.com"}]
            response = api.post(
                "/test/hooked-contacts/", items, format="json", HTTP_X_REQUEST_ID="batch-9"
            )
    finally:
        bulk_request_finished.disconnect(receiver)
    assert [r["status"] for r in response.json()["results"]] == [201, 201]
    assert seen == ["batch-9", "batch-9"]
    assert signalled == [("batch-9", "batch-9")]


def test_a_job_keeps_the_id_of_the_request_that_submitted_it(api, run_jobs, monkeypatch):
    seen: list[str] = []
    original = HookedContactViewSet.perform_create

    def perform_create(self, serializer):
        seen.append(self.bulk_request_id)
        original(self, serializer)

    monkeypatch.setattr(HookedContactViewSet, "perform_create", perform_create)
    submitted = api.post(
        "/test/hooked-contacts/",
        ITEMS,
        format="json",
        HTTP_PREFER="respond-async",
        HTTP_X_REQUEST_ID="nightly-sync",
    )
    assert submitted.status_code == 202
    assert submitted["X-Request-ID"] == submitted.json()["request_id"] == "nightly-sync"
    ended = api.get(submitted["Location"])
    assert ended.json()["summary"]["request_id"] == "nightly-sync"
    assert BulkJob.objects.get().request_id == "nightly-sync"
    assert seen == ["nightly-sync"]
    retried = api.post(submitted["Location"] + "retry/", {"status": ["201"]}, format="json")
    assert retried["X-Request-ID"] == retried.json()["request_id"] != "nightly-sync"
