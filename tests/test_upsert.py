"""Upsert: POST of an array with ``Prefer: resolution=merge-duplicates`` on a view with
``upsert_fields``."""

from __future__ import annotations

import pytest
from django.core import checks
from django.db import connection
from django.test.utils import CaptureQueriesContext

from demo_project.contacts.models import Contact, Tag
from drf_multistatus.checks import key_problem, upsert_problem

from .conftest import make_user, parse_multistatus, statuses, xml_results

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
MERGE = {"HTTP_PREFER": "resolution=merge-duplicates"}


def rows():
    return {c.email: (c.name, c.age) for c in Contact.objects.all()}


@pytest.fixture
def ada():
    return Contact.objects.create(name="Ada", email="ada@example.com", age=36)


@pytest.mark.parametrize("bulk_write", [True, False])
def test_existing_keys_are_replaced_and_new_ones_created(api, ada, bulk_write, monkeypatch):
    from demo_project.contacts.views import ContactViewSet

    monkeypatch.setattr(ContactViewSet, "bulk_write", bulk_write)
    batch = [
        {"name": "Ada L.", "email": "ada@example.com", "age": 37},
        {"name": "Bea", "email": "bea@example.com"},
    ]
    response = api.post(URL, batch, format="json", **MERGE)
    assert response.status_code == 207
    assert response["Preference-Applied"] == "resolution=merge-duplicates"
    assert statuses(response) == [200, 201]
    results = response.json()["results"]
    assert results[0]["href"] == f"http://testserver{URL}{ada.id}/"
    assert results[0]["data"]["id"] == ada.id
    bea = Contact.objects.get(email="bea@example.com")
    assert results[1]["href"] == f"http://testserver{URL}{bea.id}/"
    assert rows() == {"ada@example.com": ("Ada L.", 37), "bea@example.com": ("Bea", None)}


def test_a_matched_item_is_validated_as_a_put(api, ada):
    response = api.post(URL, [{"email": "ada@example.com"}], format="json", **MERGE)
    assert statuses(response) == [422]
    assert response.json()["results"][0]["errors"] == {"name": ["This field is required."]}
    assert response.json()["results"][0]["href"] == f"http://testserver{URL}{ada.id}/"
    assert rows() == {"ada@example.com": ("Ada", 36)}


def test_without_the_preference_post_stays_a_plain_create(api, ada):
    batch = [{"name": "Ada 2", "email": "ada@example.com"}]
    response = api.post(URL, batch, format="json")
    assert statuses(response) == [409]
    assert "Preference-Applied" not in response
    assert rows() == {"ada@example.com": ("Ada", 36)}


@pytest.mark.parametrize(
    "prefer",
    [
        "return=minimal, resolution=merge-duplicates",
        'resolution="merge-duplicates"; x=1',
        "RESOLUTION=Merge-Duplicates",
    ],
)
def test_the_preference_is_read_as_rfc_7240_says(api, ada, prefer):
    batch = [{"name": "Ada 2", "email": "ada@example.com"}]
    response = api.post(URL, batch, format="json", HTTP_PREFER=prefer)
    assert statuses(response) == [200]


@pytest.mark.parametrize("prefer", ["resolution=ignore-duplicates", "resolution=merge", ""])
def test_other_preferences_are_not_an_upsert(api, ada, prefer):
    response = api.post(
        URL, [{"name": "A", "email": "ada@example.com"}], format="json", HTTP_PREFER=prefer
    )
    assert statuses(response) == [409]
    assert "Preference-Applied" not in response


def test_views_without_upsert_fields_ignore_the_preference(api):
    Tag.objects.create(slug="a", label="A")
    response = api.post("/api/tags/", [{"slug": "a", "label": "B"}], format="json", **MERGE)
    assert statuses(response) == [409]
    assert "Preference-Applied" not in response
    assert Tag.objects.get(slug="a").label == "A"


def test_a_single_object_post_is_not_an_upsert(api, ada):
    response = api.post(URL, {"name": "A", "email": "ada@example.com"}, format="json", **MERGE)
    assert response.status_code == 400
    assert "Preference-Applied" not in response


@pytest.mark.parametrize("bulk_write", [True, False])
def test_a_second_item_with_the_same_key_is_409(api, ada, bulk_write, monkeypatch):
    from demo_project.contacts.views import ContactViewSet

    monkeypatch.setattr(ContactViewSet, "bulk_write", bulk_write)
    batch = [
        {"name": "New 1", "email": "new@example.com"},
        {"name": "New 2", "email": "new@example.com"},
        {"name": "Ada 1", "email": "ada@example.com"},
        {"name": "Ada 2", "email": "ada@example.com"},
        "not an object",
    ]
    response = api.post(URL, batch, format="json", **MERGE)
    assert statuses(response) == [201, 409, 200, 409, 400]
    errors = response.json()["results"][1]["errors"]
    assert errors == {"email": ["Item 0 of this batch already targets this object."]}
    assert rows() == {"ada@example.com": ("Ada 1", 36), "new@example.com": ("New 1", None)}


@pytest.fixture
def adult_api(api):
    api.force_authenticate(make_user("editor", "add_contact", "change_contact", "view_contact"))
    return api


def test_a_key_held_outside_the_queryset_is_409_and_changes_nothing(adult_api):
    Contact.objects.create(name="Kid", email="kid@example.com", age=9)
    Contact.objects.create(name="Grown", email="grown@example.com", age=40)
    batch = [
        {"name": "Kid 2", "email": "kid@example.com", "age": 30},
        {"name": "Grown 2", "email": "grown@example.com", "age": 41},
    ]
    response = adult_api.post("/test/adult-contacts/", batch, format="json", **MERGE)
    assert statuses(response) == [409, 200]
    assert rows() == {"kid@example.com": ("Kid", 9), "grown@example.com": ("Grown 2", 41)}


def test_an_upsert_needs_the_permissions_of_a_put_too(api):
    Contact.objects.create(name="Grown", email="grown@example.com", age=40)
    api.force_authenticate(make_user("adder", "add_contact", "view_contact"))
    batch = [{"name": "Grown 2", "email": "grown@example.com", "age": 41}]
    assert api.post("/test/adult-contacts/", batch, format="json").status_code == 207
    response = api.post("/test/adult-contacts/", batch, format="json", **MERGE)
    assert response.status_code == 403
    assert rows() == {"grown@example.com": ("Grown", 40)}


def test_atomic_upsert_rolls_back_both_kinds(api, ada):
    batch = [
        {"name": "Ada 2", "email": "ada@example.com"},
        {"name": "New", "email": "new@example.com"},
        {"name": "Bad", "email": "not an email"},
    ]
    response = api.post(f"{URL}?atomic=true", batch, format="json", **MERGE)
    assert statuses(response) == [424, 424, 422]
    results = response.json()["results"]
    assert results[0]["href"] == f"http://testserver{URL}{ada.id}/"
    assert "href" not in results[1]
    assert rows() == {"ada@example.com": ("Ada", 36)}


def test_own_hooks_take_the_per_item_path(api):
    Contact.objects.create(name="Old", email="old@example.com")
    batch = [{"name": "  Old 2 ", "email": "old@example.com"}, {"name": " New ", "email": "n@x.io"}]
    response = api.post("/test/hooked-contacts/", batch, format="json", **MERGE)
    assert statuses(response) == [200, 201]
    assert rows() == {"old@example.com": ("Old 2", None), "n@x.io": ("New", None)}
    assert (
        response.json()["results"][0]["href"]
        == "http://testserver/test/hooked-contacts/old@example.com/"
    )


@pytest.mark.parametrize("n", [20, 300])
def test_queries_do_not_grow_with_n(api, n):
    Contact.objects.bulk_create(
        Contact(name="old", email=f"u{i}@example.com") for i in range(0, n, 2)
    )
    batch = [{"name": "new", "email": f"u{i}@example.com"} for i in range(n)]
    with CaptureQueriesContext(connection) as queries:
        response = api.post(URL, batch, format="json", **MERGE)
    assert response.json()["summary"]["by_status"] == {"200": n // 2, "201": n // 2}
    assert len(queries) <= 10, [q["sql"][:60] for q in queries.captured_queries]
    assert set(rows().values()) == {("new", None)} and len(rows()) == n


def test_xml(api, ada):
    batch = [{"name": "Ada 2", "email": "ada@example.com"}, {"name": "N", "email": "n@x.io"}]
    response = api.post(URL, batch, format="json", HTTP_ACCEPT="application/xml", **MERGE)
    results = xml_results(parse_multistatus(response.content))
    assert [r["status"] for r in results] == [200, 201]
    assert response["Preference-Applied"] == "resolution=merge-duplicates"


def test_system_check_refuses_keys_that_are_not_unique():
    from demo_project.contacts.views import ContactViewSet

    assert key_problem(Contact, ("email",)) is None
    assert "not unique" in key_problem(Contact, ("name",))
    assert "no field 'nope'" in key_problem(Contact, ("nope",))

    class NotUnique(ContactViewSet):
        upsert_fields = ("name", "age")

    assert "not unique together" in upsert_problem(NotUnique, ("name", "age"))
    assert checks.run_checks(tags=[checks.Tags.urls]) == []


def test_system_check_runs_on_registered_views(settings):
    settings.ROOT_URLCONF = "tests.urls_bad_upsert"
    errors = checks.run_checks(tags=[checks.Tags.urls])
    assert [error.id for error in errors] == ["drf_multistatus.E001"]
    assert "upsert_fields = ('name',)" in errors[0].msg


@pytest.mark.parametrize("bulk_write", [True, False])
def test_items_with_a_null_key_match_nothing_and_are_creates(api, ada, bulk_write, monkeypatch):
    """SQL's NULL equals nothing: two items without a key are two creates, each answered by the
    field (here not nullable: 422), never a 409 that one targets what the other does."""
    from demo_project.contacts.views import ContactViewSet

    monkeypatch.setattr(ContactViewSet, "bulk_write", bulk_write)
    batch = [{"name": "N1", "email": None}, {"name": "N2", "email": None}, {"name": "N3"}]
    response = api.post(URL, batch, format="json", **MERGE)
    assert statuses(response) == [422, 422, 422]
    errors = [result["errors"] for result in response.json()["results"]]
    assert errors[:2] == [{"email": ["This field may not be null."]}] * 2
    assert errors[2] == {"email": ["This field is required."]}
    assert rows() == {"ada@example.com": ("Ada", 36)}
