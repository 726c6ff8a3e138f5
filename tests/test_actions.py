"""A policy written for DRF's single-object actions holds for the bulk ones, and one that names a
bulk action still works; per-item statuses equal the detail URL's."""

from __future__ import annotations

import pickle

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from drf_multistatus.actions import BulkAction
from tests.testapp.models import Note

from .conftest import statuses

pytestmark = pytest.mark.django_db

URL = "/test/policy-notes/"


def test_bulk_action_equals_its_own_name_and_its_twins():
    action = BulkAction("partial_bulk_update")
    assert action == "partial_update" and action == "partial_bulk_update"
    assert action in ("update", "partial_update") and action in ["partial_bulk_update"]
    assert action != "update" and action not in ("bulk_update", "destroy")
    assert action.bulk_name == "partial_bulk_update" and str(action) == "partial_update"
    assert {"partial_update": 1}[action] == 1
    assert pickle.loads(pickle.dumps(action)) == "partial_bulk_update"
    match action:
        case "partial_bulk_update":
            matched = True
        case _:
            matched = False
    assert matched


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("owner", password="pw")


@pytest.fixture
def client(owner):
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(owner)
    return client


@pytest.fixture
def note(owner):
    return Note.objects.create(owner=owner, title="before", public=True)


SINGLE = {
    "put": lambda n: {"title": "after", "public": True},
    "patch": lambda n: {"title": "after"},
    "delete": lambda n: None,
}


def send_single(client, method, note, policy):
    body = SINGLE[method](note)
    url = f"{URL}{note.id}/?policy={policy}"
    return getattr(client, method)(url, body, format="json") if body else client.delete(url)


def send_bulk(client, method, note, policy):
    body = SINGLE[method](note) or {}
    return getattr(client, method)(
        f"{URL}?policy={policy}", [{"id": note.id, **body}], format="json"
    )


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("policy", ["single", "admin-writes"])
def test_a_policy_on_single_object_actions_holds_for_bulk_ones(client, note, method, policy):
    assert send_single(client, method, note, policy).status_code == 403
    response = send_bulk(client, method, note, policy)
    assert response.status_code == 403
    note.refresh_from_db()
    assert note.title == "before"


def test_a_policy_naming_a_bulk_action_still_works(client, note):
    response = send_bulk(client, "patch", note, "bulk")
    assert response.status_code == 403
    assert send_bulk(client, "put", note, "bulk").status_code == 207
    assert send_single(client, "patch", note, "bulk").status_code == 200


def test_serializer_choice_by_action_follows_the_twin(client, note, monkeypatch):
    from tests.testapp.views import PolicyNoteViewSet

    seen = []
    original = PolicyNoteViewSet.get_serializer_class

    def get_serializer_class(self):
        seen.append((self.action == "partial_update", self.action == "partial_bulk_update"))
        return original(self)

    monkeypatch.setattr(PolicyNoteViewSet, "get_serializer_class", get_serializer_class)
    send_bulk(client, "patch", note, "none")
    assert seen and set(seen) == {(True, True)}


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_anonymous_item_status_equals_the_detail_urls(note, method):
    anonymous = APIClient()
    single = send_single(anonymous, method, note, "none")
    assert single.status_code == 403  # SessionAuthentication offers no challenge: 403, not 401
    response = send_bulk(anonymous, method, note, "none")
    assert statuses(response) == [single.status_code]
    assert response.json()["results"][0]["errors"] == single.json()
    assert Note.objects.filter(title="before").count() == 1


def test_with_a_challenge_anonymous_items_are_401_as_the_detail_url(api, user, other_user):
    note = Note.objects.create(owner=other_user, title="t", public=True)
    single = api.patch(f"/test/notes/{note.id}/", {"title": "x"}, format="json")
    assert single.status_code == 401  # BasicAuthentication challenges: 401
    api.force_authenticate(user)
    assert statuses(api.patch("/test/notes/", [{"id": note.id, "title": "x"}], format="json")) == [
        403
    ]


@pytest.mark.parametrize("slug", ["fr\\u0000iends", "fr\\ud800iends"])
def test_lookup_values_the_database_rejects_are_404_and_the_rest_runs(api, slug):
    from demo_project.contacts.models import Contact, Tag

    Tag.objects.create(slug="work", label="Work")
    body = f'[{{"slug": "{slug}", "label": "x"}}]'
    response = api.generic("PATCH", "/api/tags/", body, content_type="application/json")
    assert statuses(response) == [404]
    ada = Contact.objects.create(name="Ada", email="ada@example.com")
    body = f'[{{"id": "{slug}"}}, {{"email": "{slug}"}}, {{"id": {ada.id}, "name": "Ada 2"}}]'
    response = api.generic("PATCH", "/api/contacts/", body, content_type="application/json")
    assert statuses(response) == [404, 400, 200]
    body = f'[{{"name": "N", "email": "{slug}@x.io"}}, {{"name": "M", "email": "m@x.io"}}]'
    for prefer in ("", "resolution=merge-duplicates"):
        response = api.generic(
            "POST", "/api/contacts/", body, content_type="application/json", HTTP_PREFER=prefer
        )
        assert statuses(response) == [422, 201 if not prefer else 200]
    assert Contact.objects.count() == 2


def test_integers_beyond_the_database_match_nothing(api):
    response = api.delete(
        "/api/contacts/", [{"id": 2**70}, {"id": -(2**70)}, {"id": 1.5}], format="json"
    )
    assert statuses(response) == [404, 404, 404]
