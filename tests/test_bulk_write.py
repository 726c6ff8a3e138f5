"""The bulk-write path (bulk_create/bulk_update, batch-wide uniqueness) against the per-item path:
identical bodies, identical database state, and a number of queries that does not grow with N."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demo_project.contacts.models import Contact
from demo_project.contacts.views import ContactViewSet
from drf_multistatus.equivalence import can_save_in_bulk
from drf_multistatus.etags import etag_of
from drf_multistatus.operations import Create, Update
from tests.testapp.views import GadgetViewSet

pytestmark = pytest.mark.django_db


def can_write_in_bulk(view, serializer, creating):
    operation = Create if creating else Update
    return can_save_in_bulk(view, serializer, operation.hooks, operation.serializer_methods)


URL = "/api/contacts/"
EXISTING = ["e0@example.com", "e1@example.com", "e2@example.com"]

names = st.sampled_from(["Ann", "Bob", "", "x" * 101, None])
emails = st.sampled_from(["a@example.com", "b@example.com", "c@example.com", "bad", *EXISTING])
ages = st.one_of(st.integers(-1, 152), st.none(), st.just("old"))
fields = st.fixed_dictionaries({}, optional={"name": names, "email": emails, "age": ages})
non_objects = st.one_of(st.integers(), st.lists(st.integers(), max_size=1), st.none())
targets = st.one_of(st.integers(0, len(EXISTING) - 1), st.just("unknown"), st.just("zz"))
update_items = st.one_of(
    st.builds(lambda f, t: {**f, "target": t}, fields, targets),
    st.builds(lambda f, t: {**f, "target": t}, fields, targets),
    fields,
    non_objects,
)


def normalised(body: dict, rows: list[tuple]) -> tuple[dict, list[tuple]]:
    """Body and rows with primary keys replaced by the row's email, unique: sequences differ
    per run, and the order new rows take them in is the database's business."""
    rank = {row[0]: row[2] for row in rows}
    body = {**body, "summary": {k: v for k, v in body["summary"].items() if k != "request_id"}}

    def ids(value):
        if isinstance(value, dict):
            return {
                k: (rank.get(v, v) if k == "id" and isinstance(v, int) else ids(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [ids(v) for v in value]
        if isinstance(value, str):
            return re.sub(r"/(\d+)/$", lambda m: f"/#{rank.get(int(m[1]), m[1])}/", value)
        return value

    return ids(body), sorted((rank[row[0]], *row[1:]) for row in rows)


def run(api, monkeypatch, method, batch, atomic, bulk_write):
    """Send ``batch`` on fresh rows, then undo everything; return (status, body, rows)."""
    monkeypatch.setattr(ContactViewSet, "bulk_write", bulk_write)
    with transaction.atomic():
        existing = [Contact.objects.create(name="E", email=email, age=1) for email in EXISTING]
        resolved = []
        for item in batch:
            if isinstance(item, dict) and "target" in item:
                item = dict(item)
                target = item.pop("target")
                item["id"] = existing[target].id if isinstance(target, int) else target
                if item["id"] == "unknown":
                    item["id"] = 10**9
            resolved.append(item)
        url = URL + ("?atomic=true" if atomic else "")
        response = getattr(api, method)(url, resolved, format="json")
        rows = list(Contact.objects.values_list("id", "name", "email", "age"))
        body = response.json()
        for result in body["results"]:  # an etag covers the id, which the paths number apart
            if "etag" in result:
                row = Contact.objects.get(pk=result["data"]["id"])
                result["etag"] = result["etag"] == etag_of(row)
        transaction.set_rollback(True)
    return response.status_code, *normalised(body, rows)


EQUIVALENCE = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@EQUIVALENCE
@given(batch=st.lists(st.one_of(fields, fields, non_objects), max_size=10), atomic=st.booleans())
def test_bulk_create_matches_the_per_item_path(api, monkeypatch, batch, atomic):
    fast = run(api, monkeypatch, "post", batch, atomic, bulk_write=True)
    slow = run(api, monkeypatch, "post", batch, atomic, bulk_write=False)
    assert fast == slow


@EQUIVALENCE
@given(batch=st.lists(update_items, max_size=10), atomic=st.booleans(), partial=st.booleans())
def test_bulk_update_matches_the_per_item_path(api, monkeypatch, batch, atomic, partial):
    method = "patch" if partial else "put"
    fast = run(api, monkeypatch, method, batch, atomic, bulk_write=True)
    slow = run(api, monkeypatch, method, batch, atomic, bulk_write=False)
    assert fast == slow


def test_swapping_unique_values_within_one_batch(api):
    a = Contact.objects.create(name="A", email="a@example.com")
    b = Contact.objects.create(name="B", email="b@example.com")
    batch = [
        {"id": a.id, "email": "tmp@example.com"},
        {"id": b.id, "email": "a@example.com"},
        {"id": a.id, "email": "b@example.com"},  # a second target of a: 409
    ]
    response = api.patch(URL, batch, format="json")
    assert [r["status"] for r in response.json()["results"]] == [200, 200, 409]
    assert dict(Contact.objects.values_list("id", "email")) == {
        a.id: "tmp@example.com",
        b.id: "a@example.com",
    }


def items(n, start=0):
    return [
        {"name": f"n{i}", "email": f"u{i}@example.com", "age": i % 100}
        for i in range(start, start + n)
    ]


@pytest.mark.parametrize("n", [10, 300])
def test_bulk_create_queries_do_not_grow_with_n(api, n, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        response = api.post(URL, items(n), format="json")
    assert response.json()["summary"]["by_status"] == {"201": n}
    assert Contact.objects.count() == n


@pytest.mark.parametrize("n", [10, 300])
def test_mixed_create_batch_queries_do_not_grow_with_n(api, n, django_assert_max_num_queries):
    Contact.objects.create(name="x", email="existing@example.com")
    batch = items(n)
    batch[1::10] = [{"name": "dup", "email": "existing@example.com"}] * len(batch[1::10])
    batch[2::10] = [{"name": "twin", "email": "twin@example.com"}] * len(batch[2::10])
    batch[3::10] = [{"name": "", "email": "bad"}] * len(batch[3::10])
    with django_assert_max_num_queries(10):
        response = api.post(URL, batch, format="json")
    counts = response.json()["summary"]["by_status"]
    assert counts["409"] == len(batch[1::10]) + len(batch[2::10]) - 1
    assert counts["422"] == len(batch[3::10])
    assert Contact.objects.filter(email="twin@example.com").count() == 1


@pytest.mark.parametrize("n", [10, 300])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_bulk_update_queries_do_not_grow_with_n(api, n, method, django_assert_max_num_queries):
    Contact.objects.bulk_create(Contact(name="x", email=f"u{i}@example.com") for i in range(n))
    batch = [{"id": c.id, "name": "y", "email": c.email, "age": 5} for c in Contact.objects.all()]
    with django_assert_max_num_queries(10):
        response = getattr(api, method)(URL, batch, format="json")
    assert response.json()["summary"]["by_status"] == {"200": n}
    assert set(Contact.objects.values_list("name", "age")) == {("y", 5)}


def test_views_with_own_save_hooks_keep_the_per_item_path(rf):
    from demo_project.contacts.serializers import ContactSerializer

    assert can_write_in_bulk(ContactViewSet(), ContactSerializer(), creating=True)
    assert can_write_in_bulk(ContactViewSet(), ContactSerializer(), creating=False)

    class OptedOut(ContactViewSet):
        bulk_write = False

    assert not can_write_in_bulk(OptedOut(), ContactSerializer(), creating=True)

    class OwnHook(ContactViewSet):
        def perform_create(self, serializer):
            serializer.save(name="x")

    assert not can_write_in_bulk(OwnHook(), ContactSerializer(), creating=True)
    assert can_write_in_bulk(OwnHook(), ContactSerializer(), creating=False)
    # Gadget has its own hooks and a post_save receiver.
    from tests.testapp.serializers import GadgetSerializer

    assert not can_write_in_bulk(GadgetViewSet(), GadgetSerializer(), creating=False)


def test_database_refusal_falls_back_to_the_per_item_path(api, monkeypatch):
    """A unique value taken after the batch looked (a concurrent writer) still gets 409."""
    from drf_multistatus import uniqueness

    original = uniqueness.UniqueIndex.prefetch

    def blind_prefetch(self, values):
        original(self, values)
        self.holders.clear()  # pretend the database had nothing when the batch looked

    monkeypatch.setattr(uniqueness.UniqueIndex, "prefetch", blind_prefetch)
    Contact.objects.create(name="Early", email="taken@example.com")
    batch = [{"name": "A", "email": "a@example.com"}, {"name": "B", "email": "taken@example.com"}]
    response = api.post(URL, batch, format="json")
    assert [r["status"] for r in response.json()["results"]] == [201, 409]
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "taken@example.com",
    ]
    assert connection.vendor in {"sqlite", "postgresql"}


EVENTS = "/test/events/"


def event_rows():
    from tests.testapp.models import Event

    return sorted(
        Event.objects.values_list(
            "id", "title", "starts", "day", "all_day", "score", "uid", "details", "owner_id"
        )
    )


def test_update_rows_writes_every_column_type_as_save_does(api, user):
    """Dates, times, booleans, floats, UUIDs, JSON, nulls, foreign keys: UPDATE … FROM
    VALUES."""
    from tests.testapp.models import Event
    from tests.testapp.serializers import EventSerializer
    from tests.testapp.views import EventViewSet

    assert can_write_in_bulk(EventViewSet(), EventSerializer(), creating=False)
    events = [
        Event.objects.create(title=f"e{i}", starts="2026-01-01T10:00:00Z", score=1.5)
        for i in range(3)
    ]
    before = {e.id: e.updated for e in events}
    batch = [
        {
            "id": events[0].id,
            "title": "moved",
            "starts": "2026-02-03T04:05:06.789Z",
            "day": "2026-02-03",
            "all_day": True,
            "score": None,
            "uid": "12345678-1234-5678-1234-567812345678",
            "details": {"tags": ["a", 1, None], "nested": {"x": 1.5}},
            "owner": user.id,
        },
        {"id": events[1].id, "title": "x" * 51},  # too long: 422, row untouched
        {"id": events[2].id, "score": -0.25, "day": None, "details": [1, "two"], "owner": None},
    ]
    results = {}
    for bulk_write in (True, False):
        EventViewSet.bulk_write = bulk_write
        try:
            with transaction.atomic():
                response = api.patch(EVENTS, batch, format="json")
                results[bulk_write] = (
                    [r["status"] for r in response.json()["results"]],
                    event_rows(),
                    {e.id: e.updated for e in Event.objects.all()},
                )
                transaction.set_rollback(True)
        finally:
            EventViewSet.bulk_write = True
    assert results[True][:2] == results[False][:2]
    statuses, rows, updated = results[True]
    assert statuses == [200, 422, 200]
    moved = next(row for row in rows if row[0] == events[0].id)
    assert moved[1:] == (
        "moved",
        datetime.datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=datetime.UTC),
        datetime.date(2026, 2, 3),
        True,
        None,
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        {"tags": ["a", 1, None], "nested": {"x": 1.5}},
        user.id,
    )
    assert updated[events[0].id] > before[events[0].id]  # auto_now, as save() sets it
    assert updated[events[1].id] == before[events[1].id]
