"""Bulk delete: DELETE of an array on the list URL, each item naming its target."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from demo_project.contacts.models import Company, Contact
from tests.testapp.models import Gadget, GadgetLog, Note

from .conftest import parse_multistatus, statuses, xml_results

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
COMPANIES = "/api/companies/"


@pytest.fixture
def contacts():
    return [Contact.objects.create(name=f"c{i}", email=f"c{i}@example.com") for i in range(3)]


def test_deletes_every_target_and_answers_204_with_its_href(api, contacts):
    response = api.delete(URL, [{"id": c.id} for c in contacts[:2]], format="json")
    assert response.status_code == 207
    body = response.json()
    assert body["results"] == [
        {"index": 0, "status": 204, "href": f"http://testserver{URL}{contacts[0].id}/"},
        {"index": 1, "status": 204, "href": f"http://testserver{URL}{contacts[1].id}/"},
    ]
    assert body["summary"]["by_status"] == {"204": 2}
    assert list(Contact.objects.values_list("id", flat=True)) == [contacts[2].id]


@pytest.mark.parametrize("bulk_write", [True, False])
def test_each_item_gets_its_own_answer(api, contacts, bulk_write, monkeypatch):
    from demo_project.contacts.views import ContactViewSet

    monkeypatch.setattr(ContactViewSet, "bulk_write", bulk_write)
    batch = [
        {"id": contacts[0].id},
        {"id": 10**9},  # unknown
        {"id": contacts[0].id},  # second item naming the same target
        {"name": "no id"},
        "not an object",
        {"id": "abc"},
        {"id": contacts[1].id},
    ]
    response = api.delete(URL, batch, format="json")
    assert statuses(response) == [204, 404, 409, 400, 400, 404, 204]
    results = response.json()["results"]
    assert results[2]["errors"] == {"id": ["Item 0 of this batch already targets this object."]}
    assert results[3]["errors"] == {"id": ["This field is required to name the object to delete."]}
    assert results[1]["errors"] == {"detail": "No Contact matches the given query."}
    assert list(Contact.objects.values_list("id", flat=True)) == [contacts[2].id]


@pytest.mark.parametrize("bulk_write", [True, False])
def test_protected_objects_answer_409_saying_what_protects_them(api, bulk_write, monkeypatch):
    from demo_project.contacts.views import CompanyViewSet

    monkeypatch.setattr(CompanyViewSet, "bulk_write", bulk_write)
    busy, free, other = (Company.objects.create(name=n) for n in ("busy", "free", "other"))
    for i in range(3):
        Contact.objects.create(name="x", email=f"x{i}@example.com", company=busy)
    Contact.objects.create(name="y", email="y@example.com", company=other)
    batch = [{"id": busy.id}, {"id": free.id}, {"id": other.id}]
    response = api.delete(COMPANIES, batch, format="json")
    assert statuses(response) == [409, 204, 409]
    results = response.json()["results"]
    assert results[0]["errors"] == {"detail": "Not deleted: 3 contacts refer to this company."}
    assert results[2]["errors"] == {"detail": "Not deleted: 1 contact refers to this company."}
    assert results[0]["href"] == f"http://testserver{COMPANIES}{busy.id}/"
    assert set(Company.objects.values_list("name", flat=True)) == {"busy", "other"}
    assert Contact.objects.count() == 4


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (None, None),
        (b"null", "application/json"),
        (b'{"id": 1}', "application/json"),
        (b'"everything"', "application/json"),
        (b"id=1", "application/x-www-form-urlencoded"),
    ],
)
def test_never_a_delete_without_an_array_of_targets(api, contacts, body, content_type):
    if body is None:
        response = api.delete(URL)
    else:
        response = api.generic("DELETE", URL, body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("Expected a list of items")
    assert Contact.objects.count() == 3


def test_an_empty_array_deletes_nothing(api, contacts):
    response = api.delete(URL, [], format="json")
    assert response.status_code == 207
    assert response.json() == {
        "results": [],
        "summary": {
            "total": 0,
            "succeeded": 0,
            "failed": 0,
            "atomic": False,
            "by_status": {},
            "request_id": response["X-Request-ID"],
        },
    }
    assert Contact.objects.count() == 3


def test_max_batch_size_applies(api, contacts, settings):
    settings.DRF_MULTISTATUS = {"MAX_BATCH_SIZE": 2}
    response = api.delete(URL, [{"id": c.id} for c in contacts], format="json")
    assert response.status_code == 413
    assert Contact.objects.count() == 3


def test_atomic_delete_keeps_everything_when_one_item_fails(api, contacts):
    batch = [{"id": contacts[0].id}, {"id": 10**9}]
    response = api.delete(f"{URL}?atomic=true", batch, format="json")
    assert statuses(response) == [424, 404]
    assert response.json()["results"][0]["href"] == f"http://testserver{URL}{contacts[0].id}/"
    assert Contact.objects.count() == 3


def test_slug_lookup_and_always_atomic_view(api):
    from demo_project.contacts.models import Tag

    Tag.objects.create(slug="a", label="A")
    Tag.objects.create(slug="b", label="B")
    response = api.delete("/api/tags/", [{"slug": "a"}, {"slug": "b"}], format="json")
    assert statuses(response) == [204, 204]
    assert response.json()["results"][0]["href"] == "http://testserver/api/tags/a/"
    assert not Tag.objects.exists()


def test_object_permissions_as_drf_destroy(api, user, other_user):
    mine = Note.objects.create(owner=user, title="mine")
    public = Note.objects.create(owner=other_user, title="public", public=True)
    private = Note.objects.create(owner=other_user, title="private")
    user.user_permissions.add(Permission.objects.get(codename="delete_note"))
    api.force_authenticate(user)
    for note in (public, private):
        assert api.delete(f"/test/notes/{note.id}/").status_code in (403, 404)
    batch = [{"id": mine.id}, {"id": public.id}, {"id": private.id}]
    response = api.delete("/test/notes/", batch, format="json")
    assert statuses(response) == [204, 403, 404]
    assert set(Note.objects.values_list("title", flat=True)) == {"public", "private"}


def test_model_permission_refuses_the_whole_batch(api, user):
    note = Note.objects.create(owner=user, title="mine")
    api.force_authenticate(user)  # may add, change and view notes, not delete them
    assert api.delete(f"/test/notes/{note.id}/").status_code == 403
    assert api.delete("/test/notes/", [{"id": note.id}], format="json").status_code == 403
    assert Note.objects.count() == 1


def test_own_perform_destroy_runs_per_item(api):
    keep = Contact.objects.create(name="keep", email="keep@example.com")
    drop = Contact.objects.create(name="drop", email="drop@example.com")
    url = "/test/hooked-contacts/"
    response = api.delete(url, [{"email": keep.email}, {"email": drop.email}], format="json")
    assert statuses(response) == [403, 204]
    assert response.json()["results"][0]["errors"] == {"detail": "This contact is kept."}
    assert list(Contact.objects.values_list("email", flat=True)) == ["keep@example.com"]


def test_xml_body_lists_204_items_without_data(api, contacts):
    response = api.delete(
        URL, [{"id": contacts[0].id}, {"id": 10**9}], format="json", HTTP_ACCEPT="application/xml"
    )
    root = parse_multistatus(response.content)
    results = xml_results(root)
    assert [r["status"] for r in results] == [204, 404]
    assert results[0]["data"] is None
    assert results[0]["href"] == f"http://testserver{URL}{contacts[0].id}/"


def test_xml_request_body(api, contacts):
    body = (
        '<ms:data xmlns:ms="urn:drf-multistatus">'
        f"<ms:item><ms:id>{contacts[0].id}</ms:id></ms:item></ms:data>"
    )
    response = api.generic("DELETE", URL, body, content_type="application/xml")
    assert statuses(response) == [204]
    assert Contact.objects.count() == 2


def make_gadgets(n: int, logs: int = 5) -> list[int]:
    gadgets = Gadget.objects.bulk_create(Gadget(name="g", code=f"g{i}") for i in range(n))
    GadgetLog.objects.bulk_create(
        GadgetLog(gadget=gadget, action="create") for gadget in gadgets for _ in range(logs)
    )
    return [gadget.id for gadget in gadgets]


def test_set_based_delete_cascades_in_a_constant_number_of_queries(api):
    """Cascaded rows cost one statement whatever their number; the objects themselves one per
    100, as Django's collector deletes them."""
    counts = {}
    for n in (10, 100, 200):
        ids = make_gadgets(n)
        with CaptureQueriesContext(connection) as queries:
            response = api.delete("/test/gadgets/", [{"id": i} for i in ids], format="json")
        assert response.json()["summary"]["by_status"] == {"204": n}
        counts[n] = len(queries)
        assert not Gadget.objects.exists() and not GadgetLog.objects.exists()
    assert counts[100] == counts[10] <= 11, counts  # one query per related model
    assert counts[200] == counts[100] + 1, counts


def test_per_item_delete_when_the_model_deletes_its_own_way(api, monkeypatch):
    from tests.testapp import models

    deleted = []

    def delete(self, *args, **kwargs):
        deleted.append(self.code)
        return super(models.Gadget, self).delete(*args, **kwargs)

    monkeypatch.setattr(models.Gadget, "delete", delete)
    ids = make_gadgets(3, logs=1)
    response = api.delete("/test/gadgets/", [{"id": i} for i in ids], format="json")
    assert statuses(response) == [204, 204, 204]
    assert deleted == ["g0", "g1", "g2"]
    assert not GadgetLog.objects.exists()


def test_deleted_items_are_logged_and_signalled(api, contacts, django_capture_on_commit_callbacks):
    from drf_multistatus.signals import bulk_request_finished

    received = []

    def receiver(sender, summary, **kwargs):
        received.append(summary)

    bulk_request_finished.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            api.delete(URL, [{"id": contacts[0].id}], format="json")
    finally:
        bulk_request_finished.disconnect(receiver)
    assert received[0]["method"] == "DELETE" and received[0]["by_status"] == {"204": 1}


def test_single_delete_of_a_protected_object_is_409_too(api):
    company = Company.objects.create(name="busy")
    Contact.objects.create(name="x", email="x@example.com", company=company)
    response = api.delete(f"{COMPANIES}{company.id}/")
    assert response.status_code == 409
    assert response.json() == {"detail": "Not deleted: 1 contact refers to this company."}
    assert Company.objects.count() == 1


def test_client_reads_204_items_from_either_format(api, contacts):
    from drf_multistatus.client import from_response

    for accept in ("application/json", "application/xml"):
        batch = [{"id": contacts[0].id}, {"id": 10**9}]
        body = from_response(api.delete(URL, batch, format="json", HTTP_ACCEPT=accept))
        assert [(r.index, r.status, r.succeeded) for r in body] == [(0, 204, True), (1, 404, False)]
        assert body.results[0].href == f"http://testserver{URL}{contacts[0].id}/"
        assert body.results[0].data is None
        contacts[0].save()  # back, for the next format
