"""The README's django-simple-history recipe: every history row a bulk request writes carries
the user and the request id as its change reason, synchronously and in a job; a dry run or a
rolled-back atomic batch leaves no history; and what the history costs, in statements."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from simple_history.models import HistoricalRecords

from tests.testapp.models import Memo

from .conftest import make_user

pytestmark = pytest.mark.django_db

URL = "/test/memos/"


@pytest.fixture
def ann(api):
    user = make_user("ann")
    api.force_authenticate(user)
    return user


def history(*types: str) -> list[tuple]:
    rows = Memo.history.filter(history_type__in=types or ("+", "~", "-")).order_by("history_id")
    return list(
        rows.values_list("title", "history_type", "history_user__username", "history_change_reason")
    )


def test_each_change_names_the_user_and_the_request(api, ann):
    created = api.post(
        URL, [{"title": "a"}, {"title": "b"}], format="json", HTTP_X_REQUEST_ID="import-7"
    )
    assert [r["status"] for r in created.json()["results"]] == [201, 201]
    assert history("+") == [("a", "+", "ann", "import-7"), ("b", "+", "ann", "import-7")]
    a, b = Memo.objects.all()
    updated = api.patch(URL, [{"id": a.pk, "done": True}], format="json")
    generated = updated["X-Request-ID"]
    assert updated.json()["summary"]["request_id"] == generated
    assert history("~") == [("a", "~", "ann", generated)]
    api.delete(URL, [{"id": b.pk}], format="json", HTTP_X_REQUEST_ID="cleanup-1")
    assert history("-") == [("b", "-", "ann", "cleanup-1")]
    assert not hasattr(HistoricalRecords.context, "bulk_request_id")  # nothing left behind
    assert getattr(HistoricalRecords.context, "request", None) is None
    # A single-object write is recorded by the same rule.
    api.patch(f"{URL}{a.pk}/", {"title": "a2"}, format="json", HTTP_X_REQUEST_ID="edit-1")
    assert history("~")[-1] == ("a2", "~", "ann", "edit-1")


def test_a_job_writes_history_under_its_submitting_request(api, ann, run_jobs):
    response = api.post(
        URL,
        [{"title": f"m{i}"} for i in range(3)],
        format="json",
        HTTP_PREFER="respond-async",
        HTTP_X_REQUEST_ID="nightly-import",
    )
    assert response.status_code == 202
    assert api.get(response["Location"]).status_code == 207
    assert history("+") == [(f"m{i}", "+", "ann", "nightly-import") for i in range(3)]


def test_what_is_rolled_back_leaves_no_history(api, ann):
    memo = Memo.objects.create(title="kept")
    before = history()
    dry = api.patch(URL, [{"id": memo.pk, "done": True}], format="json", HTTP_PREFER="tx=rollback")
    assert dry.json()["results"][0]["status"] == 200
    atomic = api.patch(
        URL + "?atomic=true", [{"id": memo.pk, "done": True}, {"id": 0}], format="json"
    )
    assert [r["status"] for r in atomic.json()["results"]] == [424, 404]
    assert history() == before


@pytest.mark.parametrize("size", [10, 40])
def test_history_costs_one_insert_per_item(api, ann, size):
    """The model's post_save receiver puts its batches on the per-item path; the history itself
    is one INSERT per item on top of it."""
    memos = Memo.objects.bulk_create(Memo(title=f"m{i}") for i in range(2 * size))
    counts = []
    for enabled, batch in ((True, memos[:size]), (False, memos[size:])):
        items = [{"id": memo.pk, "done": True} for memo in batch]
        with (
            override_settings(SIMPLE_HISTORY_ENABLED=enabled),
            CaptureQueriesContext(connection) as queries,
        ):
            response = api.patch(URL, items, format="json")
        assert {r["status"] for r in response.json()["results"]} == {200}
        counts.append(len(queries))
    with_history, without = counts
    assert with_history - without == size
    assert Memo.history.filter(history_type="~").count() == size
