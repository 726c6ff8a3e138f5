"""Property-based tests: whatever the batch and the faults, the 207 body and the database agree,
for every bulk verb.

Items mix valid data, invalid fields, duplicates within the batch and of existing rows, unknown
ids, non-objects, and faults in the save path: an exception from a hook before or after it wrote
a related row, an exception from a post_save receiver, and IntegrityErrors raised by the database
itself (a unique index the serializer does not check, and a CHECK constraint).
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.testapp.models import Gadget, GadgetLock, GadgetLog
from tests.testapp.views import GadgetViewSet

pytestmark = pytest.mark.django_db

URL = "/test/gadgets/"
FAULTY_NAMES = {"boom", "late-boom", "signal-boom"}
EXISTING_CODES = ["e0", "e1", "e2"]
UNKNOWN_ID = 10**9

names = st.sampled_from(["ok", "fine", "", "boom", "late-boom", "signal-boom", "x" * 60])
codes = st.sampled_from(["c0", "c1", "c2", "c3", *EXISTING_CODES, ""])
quantities = st.one_of(st.integers(-2, 14), st.just("many"), st.none())
fields = st.fixed_dictionaries({}, optional={"name": names, "code": codes, "quantity": quantities})
non_objects = st.one_of(
    st.lists(st.integers(), max_size=2), st.integers(), st.text(max_size=3), st.none()
)
# Update targets: an index into the existing rows, or something that names no row.
targets = st.one_of(st.integers(0, len(EXISTING_CODES) - 1), st.just("unknown"), st.just("abc"))


def snapshot() -> tuple[dict, list]:
    rows = {g.id: (g.name, g.code, g.quantity) for g in Gadget.objects.all()}
    logs = sorted(GadgetLog.objects.values_list("gadget_id", "action"))
    return rows, logs


def check_invariant(batch, response, before, after, atomic, expected_success_status):
    """The body and the database tell the same story."""
    assert response.status_code == 207, response.content
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    rows_before, logs_before = before
    rows_after, logs_after = after
    succeeded = [r for r in results if 200 <= r["status"] < 300]
    failed = [r for r in results if r["status"] >= 400]
    assert len(succeeded) + len(failed) == len(batch)
    assert all(
        r["status"] != 500
        or r["errors"] == {"detail": "A server error occurred while processing this item."}
        for r in results
    )

    for result, item in zip(results, batch, strict=True):
        if not isinstance(item, dict):
            assert result["status"] == 400
        elif item.get("name") in FAULTY_NAMES or (
            isinstance(item.get("quantity"), int) and item["quantity"] > 10
        ):
            assert result["status"] >= 400, (item, result)

    if atomic and failed:
        assert not succeeded
        assert all(
            r["status"] != 424 or "href" not in r or expected_success_status == 200 for r in results
        )
        assert rows_after == rows_before and logs_after == logs_before
        return

    assert all(r["status"] == expected_success_status for r in succeeded)
    changed = {r["data"]["id"]: r for r in succeeded}
    assert len(changed) == len(succeeded), "two successes reported for one row"
    for row_id, result in changed.items():
        data = result["data"]
        assert rows_after[row_id] == (data["name"], data["code"], data["quantity"])
        assert result["href"] == f"http://testserver{URL}{row_id}/"
    for row_id, row in rows_after.items():
        if row_id not in changed:
            assert rows_before.get(row_id) == row, "a row changed that no success reports"
    assert set(rows_after) == set(rows_before) | set(changed)
    action = "create" if expected_success_status == 201 else "update"
    expected_logs = sorted([*logs_before, *((row_id, action) for row_id in changed)])
    assert logs_after == expected_logs, "a failed item left a related row behind"


def run_batch(api, method, batch, atomic):
    with transaction.atomic():
        existing = [
            Gadget.objects.create(name="orig", code=code, quantity=1) for code in EXISTING_CODES
        ]
        batch = [resolve_target(item, existing) for item in batch]
        before = snapshot()
        response = getattr(api, method)(
            URL + ("?atomic=true" if atomic else ""), batch, format="json"
        )
        after = snapshot()
        transaction.set_rollback(True)
    return batch, response, before, after


def resolve_target(item, existing):
    if not isinstance(item, dict) or "target" not in item:
        return item
    item = dict(item)
    target = item.pop("target")
    if isinstance(target, int):
        item["id"] = existing[target].id
    elif target == "unknown":
        item["id"] = UNKNOWN_ID
    else:
        item["id"] = target
    return item


HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(
    batch=st.lists(st.one_of(fields, fields, fields, non_objects), max_size=8),
    atomic=st.booleans(),
)
def test_bulk_create_body_matches_database(api, batch, atomic):
    batch, response, before, after = run_batch(api, "post", batch, atomic)
    check_invariant(batch, response, before, after, atomic, 201)


update_items = st.one_of(
    st.builds(lambda f, t: {**f, "target": t}, fields, targets),
    st.builds(lambda f, t: {**f, "target": t}, fields, targets),
    fields,  # no lookup value
    non_objects,
)


@HYPOTHESIS
@given(batch=st.lists(update_items, max_size=8), atomic=st.booleans(), partial=st.booleans())
def test_bulk_update_body_matches_database(api, batch, atomic, partial):
    batch, response, before, after = run_batch(api, "patch" if partial else "put", batch, atomic)
    check_invariant(batch, response, before, after, atomic, 200)


# Delete and upsert ---------------------------------------------------------------------------

# Existing rows for deletes: a plain one, one whose delete receiver fails, one a lock protects.
DELETE_ROWS = [("orig", "e0"), ("delete-boom", "e1"), ("locked", "e2")]


def run_delete(api, batch, atomic, bulk_write):
    with transaction.atomic():
        existing = [Gadget.objects.create(name=name, code=code) for name, code in DELETE_ROWS]
        for gadget in existing:
            GadgetLog.objects.create(gadget=gadget, action="create")
        GadgetLock.objects.create(gadget=existing[2])
        batch = [resolve_target(item, existing) for item in batch]
        before = snapshot()
        GadgetViewSet.bulk_write = bulk_write
        try:
            response = api.delete(URL + ("?atomic=true" if atomic else ""), batch, format="json")
        finally:
            GadgetViewSet.bulk_write = True
        after = snapshot()
        transaction.set_rollback(True)
    return batch, response, before, after


delete_items = st.one_of(
    st.builds(lambda t: {"target": t}, targets),
    st.builds(lambda t: {"target": t}, targets),
    st.fixed_dictionaries({}, optional={"name": names}),  # no lookup value
    non_objects,
)


@HYPOTHESIS
@given(batch=st.lists(delete_items, max_size=8), atomic=st.booleans(), bulk_write=st.booleans())
def test_bulk_delete_body_matches_database(api, batch, atomic, bulk_write):
    batch, response, (rows_before, logs_before), (rows_after, logs_after) = run_delete(
        api, batch, atomic, bulk_write
    )
    assert response.status_code == 207, response.content
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    by_name = {row[0]: row_id for row_id, row in rows_before.items()}
    seen = set()
    for result, item in zip(results, batch, strict=True):
        target = item.get("id") if isinstance(item, dict) else None
        if target == by_name["delete-boom"] and target not in seen:
            assert result["status"] in (424, 500) if atomic else result["status"] == 500
        elif target == by_name["locked"] and target not in seen:
            assert result["status"] == 409
            assert result["errors"] == {
                "detail": "Not deleted: 1 gadget lock refers to this gadget."
            }
        if isinstance(target, int):
            seen.add(target)
    deleted = {int(r["href"].rstrip("/").rsplit("/", 1)[1]) for r in results if r["status"] == 204}
    failed = [r for r in results if r["status"] >= 400]
    if atomic and failed:
        assert not deleted
        assert (rows_after, logs_after) == (rows_before, logs_before)
        return
    assert all(r["status"] in (204, 400, 404, 409, 500) for r in results)
    assert set(rows_after) == set(rows_before) - deleted
    assert all(rows_after[row_id] == rows_before[row_id] for row_id in rows_after)
    assert logs_after == [log for log in logs_before if log[0] not in deleted]


upsert_fields = st.fixed_dictionaries(
    {"name": names, "code": codes}, optional={"quantity": quantities}
)
upsert_items = st.one_of(upsert_fields, upsert_fields, fields, non_objects)


@HYPOTHESIS
@given(batch=st.lists(upsert_items, max_size=8), atomic=st.booleans())
def test_bulk_upsert_body_matches_database(api, batch, atomic):
    GadgetViewSet.upsert_fields = ("code",)
    try:
        with transaction.atomic():
            for code in EXISTING_CODES:
                Gadget.objects.create(name="orig", code=code, quantity=1)
            before = snapshot()
            response = api.post(
                URL + ("?atomic=true" if atomic else ""),
                batch,
                format="json",
                HTTP_PREFER="resolution=merge-duplicates",
            )
            after = snapshot()
            transaction.set_rollback(True)
    finally:
        GadgetViewSet.upsert_fields = ()
    assert response.status_code == 207, response.content
    assert response["Preference-Applied"] == "resolution=merge-duplicates"
    results = response.json()["results"]
    rows_before, logs_before = before
    rows_after, logs_after = after
    existing = {row[1]: row_id for row_id, row in rows_before.items()}
    keys = [item.get("code") if isinstance(item, dict) else None for item in batch]
    for position, (result, item) in enumerate(zip(results, batch, strict=True)):
        if not isinstance(item, dict):
            assert result["status"] == 400
        elif item.get("name") in FAULTY_NAMES:
            assert result["status"] >= 400, (item, result)
        if keys[position] is not None and keys[position] in keys[:position]:
            assert result["status"] in (409, 424) if atomic else result["status"] == 409
    succeeded = [r for r in results if r["status"] in (200, 201)]
    if atomic and len(succeeded) != len(results):
        assert all(r["status"] not in (200, 201) for r in results)
        assert (rows_after, logs_after) == (rows_before, logs_before)
        return
    changed = {r["data"]["id"]: r for r in succeeded}
    assert len(changed) == len(succeeded)
    for row_id, result in changed.items():
        data = result["data"]
        assert rows_after[row_id] == (data["name"], data["code"], data["quantity"])
        expected = 200 if existing.get(rows_before.get(row_id, (None, None))[1]) == row_id else 201
        assert result["status"] == expected, (result, rows_before)
    for row_id, row in rows_after.items():
        if row_id not in changed:
            assert rows_before.get(row_id) == row
    assert set(rows_after) == set(rows_before) | set(changed)
    actions = {200: "update", 201: "create"}
    expected_logs = sorted([*logs_before, *((i, actions[r["status"]]) for i, r in changed.items())])
    assert logs_after == expected_logs
