"""PUT and PATCH of an array on the list URL."""

from __future__ import annotations

import pytest

from demo_project.contacts.models import Contact, Tag
from tests.testapp.models import Note

from .conftest import statuses

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"


@pytest.fixture
def contacts():
    return [
        Contact.objects.create(name="Ann", email="ann@example.com", age=30),
        Contact.objects.create(name="Bob", email="bob@example.com", age=40),
        Contact.objects.create(name="Cy", email="cy@example.com"),
    ]


def test_put_replaces_each_target(api, contacts):
    ann, bob, _ = contacts
    batch = [
        {"id": ann.id, "name": "Ann B", "email": "annb@example.com", "age": 31},
        {"id": bob.id, "name": "Bob", "email": "bob@example.com"},
    ]
    response = api.put(URL, batch, format="json")
    assert response.status_code == 207
    assert statuses(response) == [200, 200]
    first = response.json()["results"][0]
    assert first["href"] == f"http://testserver/api/contacts/{ann.id}/"
    assert first["data"] == {
        "id": ann.id,
        "name": "Ann B",
        "email": "annb@example.com",
        "age": 31,
        "company": None,
        "tags": [],
    }
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.name, ann.email, ann.age) == ("Ann B", "annb@example.com", 31)
    assert bob.age == 40  # as with a single PUT, an omitted optional field keeps its value


def test_put_requires_every_field_and_patch_does_not(api, contacts):
    ann = contacts[0]
    put = api.put(URL, [{"id": ann.id, "age": 5}], format="json")
    assert statuses(put) == [422]
    assert put.json()["results"][0]["href"] == f"http://testserver/api/contacts/{ann.id}/"
    patch = api.patch(URL, [{"id": ann.id, "age": 5}], format="json")
    assert statuses(patch) == [200]
    ann.refresh_from_db()
    assert (ann.name, ann.age) == ("Ann", 5)


def test_mixed_update_batch(api, contacts):
    ann, bob, cy = contacts
    batch = [
        {"id": ann.id, "age": 33},
        {"id": 999999, "age": 1},
        {"id": ann.id, "age": 99},
        {"age": 3},
        {"id": bob.id, "email": "cy@example.com"},
        {"id": cy.id, "age": -1},
        {"id": "not-a-number", "age": 1},
        "text",
        {"id": str(cy.id), "name": "Cyrus"},  # the same target as item 5, named by a string
    ]
    response = api.patch(URL, batch, format="json")
    assert statuses(response) == [200, 404, 409, 400, 409, 422, 404, 400, 409]
    results = response.json()["results"]
    assert results[1]["errors"] == {"detail": "No Contact matches the given query."}
    assert results[6]["errors"] == results[1]["errors"]
    assert results[2]["errors"] == {"id": ["Item 0 of this batch already targets this object."]}
    assert results[3]["errors"] == {"id": ["This field is required to name the object to update."]}
    assert results[4]["errors"] == {"email": ["contact with this email already exists."]}
    assert results[4]["href"] == f"http://testserver/api/contacts/{bob.id}/"
    assert "href" not in results[1] and "href" not in results[2]
    for contact in contacts:
        contact.refresh_from_db()
    assert ann.age == 33
    assert bob.email == "bob@example.com"
    assert cy.age is None and cy.name == "Cy"


def test_targets_come_from_get_queryset_and_object_permissions_apply(api, user, other_user):
    mine = Note.objects.create(owner=user, title="mine")
    theirs_public = Note.objects.create(owner=other_user, title="public", public=True)
    theirs_private = Note.objects.create(owner=other_user, title="private")
    api.force_authenticate(user)
    batch = [
        {"id": mine.id, "title": "mine!"},
        {"id": theirs_public.id, "title": "hijacked"},
        {"id": theirs_private.id, "title": "hijacked"},
    ]
    response = api.patch("/test/notes/", batch, format="json")
    assert statuses(response) == [200, 403, 404]
    assert response.json()["results"][1]["errors"] == {
        "detail": "You do not have permission to perform this action."
    }
    assert sorted(Note.objects.values_list("title", flat=True)) == ["mine!", "private", "public"]


def test_lookup_value_may_be_a_string(api, contacts):
    response = api.patch(URL, [{"id": str(contacts[2].id), "name": "Cyrus"}], format="json")
    assert statuses(response) == [200]
    contacts[2].refresh_from_db()
    assert contacts[2].name == "Cyrus"


def test_lookup_field_other_than_pk(api):
    Tag.objects.create(slug="work", label="Work")
    response = api.patch("/api/tags/", [{"slug": "work", "label": "Job"}], format="json")
    assert statuses(response) == [200]
    assert response.json()["results"][0]["href"] == "http://testserver/api/tags/work/"
    assert Tag.objects.get(slug="work").label == "Job"
    missing = api.patch("/api/tags/", [{"label": "Job"}], format="json")
    assert missing.json()["results"][0]["errors"] == {
        "slug": ["This field is required to name the object to update."]
    }


def test_targets_are_loaded_in_one_query(api, contacts, django_assert_max_num_queries):
    batch = [{"id": c.id, "age": 1} for c in contacts]
    # 1 lookup; per item: savepoint, update, release (3); outer transaction: 0 extra on SQLite
    # in tests. The bound only has to show the lookup is not per item.
    with django_assert_max_num_queries(2 + 3 * len(batch) + 2) as captured:
        response = api.patch(URL, batch, format="json")
    assert statuses(response) == [200, 200, 200]
    lookups = [q["sql"] for q in captured if q["sql"].startswith('SELECT "contacts_contact"')]
    assert len(lookups) == 1


def test_a_lookup_the_database_gives_up_on_answers_503_per_item(api, monkeypatch):
    """A deadlock victim's lookup is no value the database could not compare: its items are
    503 ``concurrent_conflict`` (send them again), not 404, and nothing is written."""
    from django.db import OperationalError

    from drf_multistatus.targets import TargetLookup

    class Deadlock(Exception):
        sqlstate = "40P01"

    def deadlocked(self, keys):
        error = OperationalError("deadlock detected")
        error.__cause__ = Deadlock()
        raise error

    ada = Contact.objects.create(name="Ada", email="ada@example.com")
    monkeypatch.setattr(TargetLookup, "_fetch", deadlocked)
    response = api.patch(URL, [{"id": ada.id, "name": "x"}, {"id": 10**6}], format="json")
    assert [(r["status"], r["code"]) for r in response.json()["results"]] == [
        (503, "concurrent_conflict"),
        (503, "concurrent_conflict"),
    ]
    assert Contact.objects.get().name == "Ada"
