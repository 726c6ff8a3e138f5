"""All-or-nothing batches: chosen by the view or per request with ?atomic=true."""

from __future__ import annotations

import pytest
from django.test import override_settings

from demo_project.contacts.models import Contact, Tag
from tests.testapp.models import Gadget

from .conftest import statuses

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"


def test_atomic_param_rolls_back_everything_when_an_item_fails(api):
    batch = [
        {"name": "a", "email": "a@example.com"},
        {"name": "b", "email": "bad"},
        {"name": "c", "email": "c@example.com"},
        {"name": "d", "email": "a@example.com"},
    ]
    response = api.post(URL + "?atomic=true", batch, format="json")
    assert response.status_code == 207
    assert statuses(response) == [424, 422, 424, 409]
    results = response.json()["results"]
    assert results[0]["errors"] == {
        "detail": "Not saved: this batch is all-or-nothing and 2 item(s) failed "
        "(first failed item: 1)."
    }
    assert "href" not in results[0] and "data" not in results[0]
    assert response.json()["summary"]["atomic"] is True
    assert Contact.objects.count() == 0


def test_atomic_batch_without_failures_saves_everything(api):
    batch = [{"name": "a", "email": "a@example.com"}, {"name": "b", "email": "b@example.com"}]
    response = api.post(URL + "?atomic=true", batch, format="json")
    assert statuses(response) == [201, 201]
    assert Contact.objects.count() == 2


def test_atomic_update_keeps_hrefs_of_existing_targets(api):
    ann = Contact.objects.create(name="Ann", email="ann@example.com")
    bob = Contact.objects.create(name="Bob", email="bob@example.com")
    batch = [{"id": ann.id, "name": "Annie"}, {"id": bob.id, "age": 999}]
    response = api.patch(URL + "?atomic=1", batch, format="json")
    assert statuses(response) == [424, 422]
    assert response.json()["results"][0]["href"] == f"http://testserver/api/contacts/{ann.id}/"
    ann.refresh_from_db()
    assert ann.name == "Ann"


def test_atomic_batch_with_a_server_error_and_a_database_error(api):
    batch = [
        {"name": "ok", "code": "a"},
        {"name": "boom", "code": "b"},
        {"name": "big", "code": "c", "quantity": 50},
    ]
    response = api.post("/test/gadgets/?atomic=true", batch, format="json")
    assert statuses(response) == [424, 500, 409]
    assert Gadget.objects.count() == 0


def test_view_level_atomic_and_forbidden_param(api):
    batch = [{"slug": "a", "label": "A"}, {"slug": "bad slug", "label": "B"}]
    response = api.post("/api/tags/", batch, format="json")
    assert statuses(response) == [424, 422]
    assert Tag.objects.count() == 0
    refused = api.post("/api/tags/?atomic=false", batch, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"atomic": ["This endpoint always saves batches all-or-nothing."]}
    assert api.post("/api/tags/?atomic=true", batch[:1], format="json").status_code == 207
    assert Tag.objects.count() == 1


def test_invalid_atomic_value_is_400(api):
    response = api.post(URL + "?atomic=maybe", [{"name": "a", "email": "a@example.com"}])
    assert response.status_code == 400
    assert response.json() == {"atomic": ["Must be a valid boolean."]}
    assert Contact.objects.count() == 0


@override_settings(DRF_MULTISTATUS={"ALLOW_ATOMIC_PARAM": False})
def test_param_can_be_disabled_by_setting(api):
    response = api.post(URL + "?atomic=true", [{"name": "a", "email": "a@example.com"}])
    assert response.status_code == 400
    assert Contact.objects.count() == 0


@override_settings(DRF_MULTISTATUS={"ATOMIC": True})
def test_atomic_by_setting(api):
    response = api.post(URL, [{"name": "a", "email": "a@example.com"}, {"name": "b"}])
    assert statuses(response) == [424, 422]
    assert Contact.objects.count() == 0
