"""``Prefer: tx=rollback``: a bulk request run as it would be, answered, and rolled back — the
same body as the real request that follows (ids aside), the database untouched, nothing run on
commit; and ``Prefer: handling=strict``, which refuses what a request cannot honour."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from django.db.models.signals import post_save
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demo_project.contacts.models import Company, Contact, Tag
from drf_multistatus import tasks
from drf_multistatus.models import BulkJob, IdempotencyRecord

pytestmark = pytest.mark.django_db

DRY = "tx=rollback"
VERBS = {
    "create": ("post", "/api/contacts/", ""),
    "upsert": ("post", "/api/contacts/", "resolution=merge-duplicates"),
    "put": ("put", "/api/contacts/", ""),
    "patch": ("patch", "/api/contacts/", ""),
    "delete": ("delete", "/api/contacts/", ""),
    "delete companies": ("delete", "/api/companies/", ""),
}


def send(api, verb: str, items: Any, prefer: str = "", atomic: bool = False, **headers: str):
    method, url, preference = VERBS[verb]
    prefer = ", ".join(p for p in (preference, prefer) if p)
    if prefer:
        headers["HTTP_PREFER"] = prefer
    url += "?atomic=true" if atomic else ""
    return getattr(api, method)(url, items, format="json", **headers)


def snapshot() -> dict[str, list]:
    """Every row a bulk request here could touch."""
    return {
        "companies": list(Company.objects.order_by("pk").values_list()),
        "contacts": list(Contact.objects.order_by("pk").values_list()),
        "tags": sorted(Contact.tags.through.objects.values_list("contact_id", "tag_id")),
        "jobs": list(BulkJob.objects.values_list("pk")),
        "keys": list(IdempotencyRecord.objects.values_list("key")),
    }


def ids_aside(body: dict) -> dict:
    """A body with what a real run may number otherwise left out: created objects' ids and
    hrefs; and etags, which a dry run leaves out (it leaves no state for one to name)."""
    results = []
    for result in body["results"]:
        result = dict(result)
        result.pop("etag", None)
        if result["status"] == 201:
            result.pop("href", None)
            result["data"] = {k: v for k, v in result["data"].items() if k != "id"}
        results.append(result)
    summary = {k: v for k, v in body["summary"].items() if k != "request_id"}
    return {**body, "results": results, "summary": summary}


@pytest.fixture
def world(db) -> dict[str, Any]:
    companies = [Company.objects.create(name=name) for name in ("Engines", "Park", "Harvard")]
    tags = [Tag.objects.create(slug=slug, label=slug) for slug in ("friends", "work")]
    contacts = [
        Contact.objects.create(name=name, email=f"{name}@example.com", age=40, company=company)
        for name, company in (("ada", companies[0]), ("alan", companies[1]), ("grace", None))
    ]
    contacts[0].tags.set(tags)
    return {"companies": companies, "contacts": contacts, "tags": tags}


# Items named by what they do, made real against the world.
new_items = st.sampled_from(
    [
        {"name": "Nia", "email": "nia@example.com", "age": 30, "tags": ["work"]},
        {"name": "Ola", "email": "ola@example.com", "company": 0},
        {"name": "Bad", "email": "not an email"},
        {"name": "Taken", "email": "ada@example.com"},  # create: 409; upsert: replaces ada
        {"name": "Nia again", "email": "nia@example.com"},  # twice in the batch
        {"name": "Tagless", "email": "tag@example.com", "tags": ["nope"]},
        {"name": "Old", "email": "old@example.com", "age": 999},
    ]
)
changes = st.fixed_dictionaries(
    {"target": st.sampled_from([0, 1, 2, "unknown"])},
    optional={
        "name": st.sampled_from(["Renamed", ""]),
        "email": st.sampled_from(["new@example.com", "alan@example.com", "bad"]),
        "tags": st.sampled_from([[], ["friends"], ["nope"]]),
    },
)
ITEMS = {
    "create": new_items,
    "upsert": new_items,
    "put": changes.map(lambda c: {"name": "Put", "email": f"put{c['target']}@example.com", **c}),
    "patch": changes,
    "delete": st.fixed_dictionaries({"target": st.sampled_from([0, 1, 2, "unknown"])}),
    "delete companies": st.fixed_dictionaries({"company": st.sampled_from([0, 1, 2, "unknown"])}),
}


def resolve(item: dict, world: dict[str, Any]) -> dict:
    item = dict(item)
    if "target" in item:
        target = item.pop("target")
        item["id"] = world["contacts"][target].pk if target != "unknown" else 10**6
    if "company" in item and isinstance(item["company"], int):
        item["company"] = world["companies"][item["company"]].pk
    elif item.get("company") == "unknown":
        item["company"] = 10**6
    if "company" in item and "name" not in item and "email" not in item:  # a company to delete
        item = {"id": item.pop("company")}
    return item


@pytest.mark.parametrize("verb", list(VERBS))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), atomic=st.booleans())
def test_a_dry_run_answers_what_the_real_run_then_does_and_leaves_nothing(
    api, world, verb, data, atomic
):
    drawn = data.draw(st.lists(ITEMS[verb], min_size=1, max_size=6), label="batch")
    batch = [resolve(item, world) for item in drawn]
    with transaction.atomic():
        before = snapshot()
        dry = send(api, verb, batch, DRY, atomic)
        assert snapshot() == before
        real = send(api, verb, batch, "", atomic)
        transaction.set_rollback(True)
    assert dry.status_code == real.status_code == 207, dry.content
    assert DRY in dry["Preference-Applied"]
    assert DRY not in real.get("Preference-Applied", "")
    assert ids_aside(dry.json()) == ids_aside(real.json())
    assert not any("href" in r for r in dry.json()["results"] if r["status"] == 201)
    assert not any("etag" in r for r in dry.json()["results"])


def test_nothing_a_dry_run_registers_on_commit_runs(api, world, django_capture_on_commit_callbacks):
    ran: list[str] = []

    def on_save(sender, instance, **kwargs):
        transaction.on_commit(lambda: ran.append(instance.email))

    post_save.connect(on_save, sender=Contact)
    try:
        items = [{"name": "Nia", "email": "nia@example.com"}, {"name": "Ola", "email": "o@x.io"}]
        with django_capture_on_commit_callbacks(execute=True):
            dry = send(api, "create", items, DRY)
        assert [r["status"] for r in dry.json()["results"]] == [201, 201]
        assert ran == []
        with django_capture_on_commit_callbacks(execute=True):
            send(api, "create", items)
        assert ran == ["nia@example.com", "o@x.io"]
    finally:
        post_save.disconnect(on_save, sender=Contact)


def test_the_log_record_and_signal_say_it_was_a_dry_run(
    api, world, caplog, django_capture_on_commit_callbacks
):
    from drf_multistatus.signals import bulk_request_finished

    summaries: list[dict] = []

    def receiver(sender, summary, **kwargs):
        summaries.append(summary)

    bulk_request_finished.connect(receiver)
    try:
        with (
            caplog.at_level("INFO", logger="drf_multistatus"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            send(api, "create", [{"name": "Nia", "email": "nia@example.com"}], DRY)
    finally:
        bulk_request_finished.disconnect(receiver)
    assert [s["dry_run"] for s in summaries] == [True]
    assert "bulk dry run of POST /api/contacts/: 1 items" in caplog.text


def test_an_idempotency_key_on_a_dry_run_stores_nothing(api, world):
    items = [{"name": "Nia", "email": "nia@example.com"}]
    key = {"HTTP_IDEMPOTENCY_KEY": '"import-1"'}
    dry = send(api, "create", items, DRY, **key)
    assert dry.status_code == 207 and not IdempotencyRecord.objects.exists()
    real = send(api, "create", items, **key)
    assert real.get("Idempotent-Replayed") is None
    assert [r["status"] for r in real.json()["results"]] == [201]
    assert Contact.objects.filter(email="nia@example.com").exists()


def test_a_dry_run_in_xml_points_created_items_at_the_request(api, world):
    response = send(
        api, "create", [{"name": "Nia", "email": "nia@example.com"}], DRY, HTTP_ACCEPT="text/xml"
    )
    assert response.status_code == 207
    assert b"<d:href>http://testserver/api/contacts/~item/0</d:href>" in response.content
    assert not Contact.objects.filter(email="nia@example.com").exists()


@pytest.mark.parametrize(
    ("prefer", "refused"),
    [
        ("tx=rollback", "tx=rollback"),  # dry runs are off here
        ("respond-async", "respond-async"),  # no task framework
        ("wait=10", "wait=10"),  # a preference this server does not know
        ("return=minimal, tx=commit, return=representation", None),
    ],
)
def test_handling_strict_refuses_what_the_request_cannot_honour(
    api, world, monkeypatch, prefer, refused
):
    monkeypatch.setattr(tasks, "available", lambda: False)
    items = [{"name": "Nia", "email": "nia@example.com"}]
    with override_settings(DRF_MULTISTATUS={"ALLOW_DRY_RUN": False}):
        lenient = send(api, "create", items, prefer)
        Contact.objects.filter(email="nia@example.com").delete()
        strict = send(api, "create", items, f"{prefer}, handling=strict")
    assert lenient.status_code == 207  # ignored: the batch ran, for real
    assert DRY not in lenient.get("Preference-Applied", "")
    if refused is None:
        assert strict.status_code == 207
        return
    assert strict.status_code == 400, strict.content
    assert strict.json() == {
        "detail": f"This request cannot honour Prefer: {refused} (handling=strict)."
    }
    assert not Contact.objects.filter(email="nia@example.com").exists()


# Background jobs -------------------------------------------------------------------------------


def job_body(api, response) -> dict:
    assert response.status_code == 202, response.content
    ended = api.get(response["Location"], HTTP_ACCEPT="application/json")
    assert ended.status_code == 207, ended.content
    return ended.json()


@pytest.mark.parametrize("atomic", [False, True])
def test_a_dry_run_job_answers_what_the_real_job_then_does(api, world, run_jobs, atomic):
    items = [{"name": f"n{i}", "email": f"n{i}@example.com"} for i in range(7)]
    items[5] = {"name": "again", "email": "n1@example.com"}  # another chunk's email: 409
    items[3] = {"name": "bad", "email": "bad"}
    with override_settings(DRF_MULTISTATUS={"JOB_CHUNK_SIZE": 2}):
        before = snapshot()
        dry = send(api, "create", items, f"respond-async, {DRY}", atomic)
        assert dry["Preference-Applied"] == f"respond-async, {DRY}"
        dry_body = job_body(api, dry)
        after = snapshot()
        real_body = job_body(api, send(api, "create", items, "respond-async", atomic))
    assert {k: v for k, v in after.items() if k != "jobs"} == {
        k: v for k, v in before.items() if k != "jobs"
    }
    assert ids_aside(dry_body) == ids_aside(real_body)
    statuses = [r["status"] for r in real_body["results"]]
    assert statuses == (
        [424] * 3 + [422, 424, 409, 424] if atomic else [201] * 3 + [422, 201, 409, 201]
    )
    state = api.get(dry["Location"]).json()
    assert state["summary"]["total"] == 7


def test_a_dry_run_jobs_items_run_for_real_through_retry(api, world, run_jobs):
    items = [{"name": f"n{i}", "email": f"n{i}@example.com"} for i in range(3)]
    items.append({"name": "bad", "email": "bad"})
    dry = send(api, "create", items, f"respond-async, {DRY}")
    job = BulkJob.objects.get()
    assert job.dry_run and not Contact.objects.filter(name__startswith="n").exists()
    again = api.post(dry["Location"] + "retry/", {"status": ["succeeded"]}, format="json")
    assert again.status_code == 202, again.content
    assert again.json()["dry_run"] is False
    body = job_body(api, again)
    assert [(r["index"], r["status"]) for r in body["results"]] == [(0, 201), (1, 201), (2, 201)]
    assert Contact.objects.filter(name__startswith="n").count() == 3
    state = json.loads(api.get(dry["Location"] + "results/?status=failed").content)
    assert [r["index"] for r in state["results"]] == [3]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/contacts/", {"name": "Nia", "email": "nia@example.com"}),
        ("patch", "/api/contacts/{ada}/", {"name": "Ada L."}),
        ("delete", "/api/contacts/{ada}/", None),
    ],
)
def test_a_single_object_write_honours_no_preference(api, world, method, url, body):
    """A dry run is a batch's: a single-object write asking for one runs for real, or with
    handling=strict is refused."""
    url = url.format(ada=world["contacts"][0].pk)
    before = snapshot()
    prefer = {"HTTP_PREFER": "tx=rollback, handling=strict"}
    refused = getattr(api, method)(url, body, format="json", **prefer)
    assert refused.status_code == 400, refused.content
    assert refused.json()["detail"] == (
        "This request cannot honour Prefer: tx=rollback (handling=strict)."
    )
    assert snapshot() == before
    lenient = getattr(api, method)(url, body, format="json", HTTP_PREFER="tx=rollback")
    assert lenient.status_code in (200, 201, 204)
    assert "Preference-Applied" not in lenient
    assert snapshot() != before
