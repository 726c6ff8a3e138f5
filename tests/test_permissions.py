"""A bulk request can do nothing the single-object endpoints would refuse."""

from __future__ import annotations

import pytest

from tests.testapp.models import Note

from .conftest import make_user

pytestmark = pytest.mark.django_db

URL = "/test/notes/"


@pytest.fixture
def notes(user, other_user):
    return {
        "mine": Note.objects.create(owner=user, title="mine"),
        "theirs-public": Note.objects.create(owner=other_user, title="public", public=True),
        "theirs-private": Note.objects.create(owner=other_user, title="private"),
    }


@pytest.mark.parametrize(
    ("target", "status"), [("mine", 200), ("theirs-public", 403), ("theirs-private", 404)]
)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_bulk_item_status_matches_the_single_endpoint(api, user, notes, target, status, method):
    api.force_authenticate(user)
    note = notes[target]
    single = getattr(api, method)(f"{URL}{note.id}/", {"title": "changed"}, format="json")
    assert single.status_code == status
    Note.objects.filter(pk=note.pk).update(title=note.title)
    bulk = getattr(api, method)(URL, [{"id": note.id, "title": "changed"}], format="json")
    assert bulk.json()["results"][0]["status"] == status
    expected = "changed" if status == 200 else note.title
    assert Note.objects.get(pk=note.pk).title == expected


def test_created_rows_belong_to_the_requesting_user_whatever_the_body_says(api, user, other_user):
    api.force_authenticate(user)
    response = api.post(URL, [{"title": "forged", "owner": other_user.id}], format="json")
    assert response.json()["results"][0]["status"] == 201
    assert Note.objects.get(title="forged").owner == user


@pytest.mark.parametrize(
    ("permissions", "method", "status"),
    [
        ((), "post", 403),
        (("view_note",), "post", 403),
        (("view_note", "add_note"), "patch", 403),
        (("view_note", "change_note"), "post", 403),
    ],
)
def test_model_permissions_refuse_the_whole_batch(api, notes, permissions, method, status):
    api.force_authenticate(make_user("limited", *permissions))
    body = [{"id": notes["mine"].id, "title": "x"}] if method == "patch" else [{"title": "x"}]
    single = (
        api.patch(f"{URL}{notes['theirs-public'].id}/", {"title": "x"}, format="json")
        if method == "patch"
        else api.post(URL, {"title": "x"}, format="json")
    )
    assert single.status_code == status
    assert getattr(api, method)(URL, body, format="json").status_code == status
    assert Note.objects.filter(title="x").count() == 0
