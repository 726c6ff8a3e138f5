"""POST of an array: one result per item, each item in its own savepoint."""

from __future__ import annotations

import logging

import pytest

from demo_project.contacts.models import Contact
from tests.testapp.models import Gadget

from .conftest import statuses

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"


def test_mixed_batch_reports_each_item_and_saves_exactly_the_successes(api):
    Contact.objects.create(name="Existing", email="taken@example.com")
    batch = [
        {"name": "Ann", "email": "ann@example.com", "age": 30},
        {"name": "", "email": "not-an-email"},
        {"name": "Ann again", "email": "ann@example.com"},
        {"name": "Clash", "email": "taken@example.com"},
        {"name": "Old", "email": "old@example.com", "age": 151},
        ["not", "an", "object"],
        {"name": "Bea", "email": "bea@example.com"},
    ]
    response = api.post(URL, batch, format="json")

    assert response.status_code == 207
    body = response.json()
    assert [r["index"] for r in body["results"]] == list(range(len(batch)))
    assert statuses(response) == [201, 422, 409, 409, 422, 400, 201]
    ann, bea = body["results"][0], body["results"][6]
    assert ann["data"]["email"] == "ann@example.com"
    assert ann["href"] == f"http://testserver/api/contacts/{ann['data']['id']}/"
    assert set(body["results"][1]["errors"]) == {"name", "email"}
    assert body["results"][2]["errors"] == {"email": ["contact with this email already exists."]}
    assert body["results"][4]["errors"] == {
        "age": ["Ensure this value is less than or equal to 150."]
    }
    assert body["results"][5]["errors"] == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }
    for failed in body["results"][1:6]:
        assert "data" not in failed and "href" not in failed
    assert body["summary"] == {
        "total": 7,
        "succeeded": 2,
        "failed": 5,
        "atomic": False,
        "by_status": {"201": 2, "400": 1, "409": 2, "422": 2},
        "request_id": response["X-Request-ID"],
    }
    saved = {c.email: c for c in Contact.objects.all()}
    assert set(saved) == {"taken@example.com", "ann@example.com", "bea@example.com"}
    assert saved["ann@example.com"].id == ann["data"]["id"]
    assert saved["ann@example.com"].name == "Ann" and saved["ann@example.com"].age == 30
    assert saved["bea@example.com"].id == bea["data"]["id"]


def test_single_object_post_is_drf_single_create(api):
    response = api.post(URL, {"name": "Solo", "email": "solo@example.com"}, format="json")
    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"],
        "name": "Solo",
        "email": "solo@example.com",
        "age": None,
        "company": None,
        "tags": [],
    }
    invalid = api.post(URL, {"name": "Solo"}, format="json")
    assert invalid.status_code == 400
    assert invalid.json() == {"email": ["This field is required."]}


def test_unexpected_exception_is_500_for_that_item_only_and_logged(api, caplog):
    batch = [
        {"name": "ok", "code": "a"},
        {"name": "boom", "code": "b"},
        {"name": "fine", "code": "c"},
    ]
    with caplog.at_level(logging.ERROR, logger="drf_multistatus"):
        response = api.post("/test/gadgets/", batch, format="json")
    assert statuses(response) == [201, 500, 201]
    failed = response.json()["results"][1]
    assert failed["errors"] == {"detail": "A server error occurred while processing this item."}
    assert "secret internal detail" not in response.content.decode()
    record = next(r for r in caplog.records if r.name == "drf_multistatus")
    assert "item 1" in record.getMessage()
    assert "secret internal detail" in str(record.exc_info[1])
    assert sorted(Gadget.objects.values_list("code", flat=True)) == ["a", "c"]


def test_database_integrity_error_is_409_and_rolls_back_only_that_item(api):
    Gadget.objects.create(name="first", code="dup")
    batch = [
        {"name": "x", "code": "new1"},
        {"name": "y", "code": "dup"},  # unique violation raised by the database
        {"name": "z", "code": "new2", "quantity": 11},  # check constraint in the database
        {"name": "w", "code": "new3"},
    ]
    response = api.post("/test/gadgets/", batch, format="json")
    assert statuses(response) == [201, 409, 409, 201]
    assert response.json()["results"][1]["errors"] == {
        "detail": "This item conflicts with the current state of the resource."
    }
    assert sorted(Gadget.objects.values_list("code", flat=True)) == ["dup", "new1", "new3"]


def test_duplicates_within_the_batch_conflict_with_the_first(api):
    batch = [{"name": f"n{i}", "email": "same@example.com"} for i in range(3)]
    response = api.post(URL, batch, format="json")
    assert statuses(response) == [201, 409, 409]
    assert Contact.objects.filter(email="same@example.com").count() == 1


def test_item_with_both_conflict_and_invalid_field_is_422(api):
    Contact.objects.create(name="Existing", email="taken@example.com")
    response = api.post(URL, [{"name": "", "email": "taken@example.com"}], format="json")
    assert statuses(response) == [422]
    assert set(response.json()["results"][0]["errors"]) == {"name", "email"}


def test_perform_create_hook_runs_for_each_item(api, user):
    api.force_authenticate(user)
    response = api.post("/test/notes/", [{"title": "a"}, {"title": "b"}], format="json")
    assert statuses(response) == [201, 201]
    assert set(user.note_set.values_list("title", flat=True)) == {"a", "b"}
