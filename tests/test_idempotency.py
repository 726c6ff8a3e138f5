"""Idempotency-Key: a keyed request runs once; its retries get the stored outcome."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.decorators import action

from demo_project.contacts.models import Contact
from demo_project.contacts.views import ContactViewSet
from drf_multistatus import BulkRouter
from drf_multistatus.idempotency import parse_key
from drf_multistatus.models import IdempotencyRecord
from drf_multistatus.operations import Create

from .conftest import make_user, parse_multistatus, statuses, xml_results

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
KEY = '"8e03978e-40d5-43e8-bc93-6894a57f9324"'


def post(api, body, key=KEY, url=URL, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(url, body, format="json", **headers, **extra)


def test_a_retry_returns_the_stored_outcome_and_runs_nothing(api):
    batch = [{"name": "A", "email": "a@x.io"}, {"name": "", "email": "bad"}]
    first = post(api, batch)
    assert statuses(first) == [201, 422]
    assert "Idempotent-Replayed" not in first
    with CaptureQueriesContext(connection) as queries:
        again = post(api, batch)
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1


def test_a_json_outcome_replays_as_xml_too(api):
    batch = [{"name": "A", "email": "a@x.io"}, {"name": "B", "email": "not an email"}]
    post(api, batch)
    replay = post(api, batch, HTTP_ACCEPT="application/xml")
    results = xml_results(parse_multistatus(replay.content))
    assert [r["status"] for r in results] == [201, 422]
    assert results[1]["errors"] == [("email", "invalid", "Enter a valid email address.")]


def test_preference_applied_and_location_are_replayed(api):
    Contact.objects.create(name="A", email="a@x.io")
    batch = [{"name": "A2", "email": "a@x.io"}]
    prefer = {"HTTP_PREFER": "resolution=merge-duplicates"}
    first = post(api, batch, **prefer)
    again = post(api, batch, **prefer)
    assert (
        again["Preference-Applied"] == first["Preference-Applied"] == "resolution=merge-duplicates"
    )
    single = api.post(
        "/test/notes/", {"title": "t"}, format="json", HTTP_IDEMPOTENCY_KEY="note-1"
    )  # anonymous: refused by the view's permissions before the key matters
    assert single.status_code in (401, 403)


def test_single_object_post_is_idempotent_too(api):
    body = {"name": "Solo", "email": "solo@x.io"}
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="solo-1")
    again = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="solo-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_every_bulk_verb_runs_once(api, method):
    contact = Contact.objects.create(name="A", email="a@x.io", age=1)
    body = [{"id": contact.id, "name": "B", "email": "a@x.io"}]
    first = getattr(api, method)(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    Contact.objects.filter(pk=contact.pk).update(name="changed since")
    if method == "delete":
        Contact.objects.create(id=contact.id, name="back", email="a@x.io")
    again = getattr(api, method)(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert again.json() == first.json()
    assert Contact.objects.get().name in ("changed since", "back")  # nothing ran again


def test_the_same_key_with_another_request_is_422(api):
    post(api, [{"name": "A", "email": "a@x.io"}])
    for other in (
        lambda: post(api, [{"name": "B", "email": "b@x.io"}]),
        lambda: api.post(
            URL + "?atomic=true",
            [{"name": "A", "email": "a@x.io"}],
            format="json",
            HTTP_IDEMPOTENCY_KEY=KEY,
        ),
        lambda: api.put(
            URL, [{"name": "A", "email": "a@x.io"}], format="json", HTTP_IDEMPOTENCY_KEY=KEY
        ),
        lambda: post(
            api, [{"name": "A", "email": "a@x.io"}], HTTP_PREFER="resolution=merge-duplicates"
        ),
    ):
        response = other()
        assert response.status_code == 422, response.content
        assert response.json()["detail"].startswith("This Idempotency-Key was used for another")
    assert list(Contact.objects.values_list("email", flat=True)) == ["a@x.io"]


def test_format_override_is_not_part_of_the_request(api):
    first = post(api, [{"name": "A", "email": "a@x.io"}])
    again = api.post(
        URL + "?format=xml",
        [{"name": "A", "email": "a@x.io"}],
        format="json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )
    assert again.status_code == first.status_code and again["Content-Type"].startswith(
        "application/xml"
    )


def test_keys_are_scoped_per_user(api):
    ann, bob = make_user("ann"), make_user("bob")
    batch = [{"name": "A", "email": "a@x.io"}]
    api.force_authenticate(ann)
    assert statuses(post(api, batch)) == [201]
    api.force_authenticate(bob)
    response = post(api, batch)
    assert "Idempotent-Replayed" not in response
    assert statuses(response) == [409]  # bob's own request ran: the email exists
    api.force_authenticate(None)
    assert "Idempotent-Replayed" not in post(api, batch)


def test_anonymous_keys_can_be_refused(api, settings):
    settings.DRF_MULTISTATUS = {"IDEMPOTENCY_ALLOW_ANONYMOUS": False}
    response = post(api, [{"name": "A", "email": "a@x.io"}])
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Authenticate to send an Idempotency-Key."}
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ('""', "the key is empty."),
        ("", "expected a quoted string"),
        ('"' + "k" * 256 + '"', "the key is longer than 255 characters."),
        ("k" * 256, "the key is longer than 255 characters."),
        ('"unterminated', "expected a quoted string"),
        ("two words", "expected a quoted string"),
        (b'"caf\\u00e9"'.decode("unicode_escape"), "expected a quoted string"),
    ],
)
def test_malformed_keys_are_400_and_run_nothing(api, header, message):
    response = post(api, [{"name": "A", "email": "a@x.io"}], key=header)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Contact.objects.exists()


def test_detail_routes_ignore_the_key(api):
    """Only POST and the bulk verbs honour a key; elsewhere it is not even read."""
    contact = Contact.objects.create(name="Ada", email="ada@example.com")
    url = f"{URL}{contact.pk}/"
    response = api.patch(url, {"age": 3}, format="json", HTTP_IDEMPOTENCY_KEY='"unterminated')
    assert response.status_code == 200 and response.json()["age"] == 3
    assert api.delete(url, HTTP_IDEMPOTENCY_KEY="two words").status_code == 204
    assert not IdempotencyRecord.objects.exists()


def test_key_forms():
    assert (
        parse_key('"8e03978e-40d5-43e8-bc93-6894a57f9324"')
        == "8e03978e-40d5-43e8-bc93-6894a57f9324"
    )
    assert (
        parse_key("8e03978e-40d5-43e8-bc93-6894a57f9324") == "8e03978e-40d5-43e8-bc93-6894a57f9324"
    )
    assert parse_key(r'"a \"b\" \\ c"') == 'a "b" \\ c'
    assert parse_key(" token ") == "token"


def test_a_required_key_that_is_missing_is_400(api, settings):
    settings.DRF_MULTISTATUS = {"IDEMPOTENCY_KEY_REQUIRED": True}
    response = post(api, [{"name": "A", "email": "a@x.io"}], key=None)
    assert response.status_code == 400
    assert "requires an Idempotency-Key" in response.json()["detail"]
    assert not Contact.objects.exists()
    assert api.get(URL).status_code == 200  # reads need none


def test_a_request_refused_whole_leaves_its_key_free(api):
    assert post(api, {"name": ""}).status_code == 400  # a single create that fails validation
    assert post(api, [{"name": "A", "email": "a@x.io"}]).status_code == 207
    assert IdempotencyRecord.objects.count() == 1


def test_expired_records_are_forgotten_and_pruned(api):
    post(api, [{"name": "A", "email": "a@x.io"}])
    IdempotencyRecord.objects.update(expires=timezone.now() - datetime.timedelta(seconds=1))
    again = post(api, [{"name": "A", "email": "a@x.io"}])
    assert "Idempotent-Replayed" not in again and statuses(again) == [409]
    IdempotencyRecord.objects.update(expires=timezone.now() - datetime.timedelta(seconds=1))
    call_command("prune_idempotency_keys")
    assert not IdempotencyRecord.objects.exists()


def test_the_outcome_is_committed_with_the_writes(api, monkeypatch):
    """A failure after the batch ran but before the outcome was stored leaves neither."""
    from drf_multistatus import idempotency

    def fail(self, response):
        raise RuntimeError("storage failed")

    monkeypatch.setattr(idempotency.IdempotentRequest, "store", fail)
    with pytest.raises(RuntimeError):
        post(api, [{"name": "A", "email": "a@x.io"}])
    assert not Contact.objects.exists()
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.undo()
    assert statuses(post(api, [{"name": "A", "email": "a@x.io"}])) == [201]


KEYS = st.sampled_from(["k1", "k2"])
USERS = st.sampled_from([None, "ann", "bob"])
BODIES = st.sampled_from(
    [
        [{"name": "A", "email": "a@x.io"}],
        [{"name": "B", "email": "b@x.io"}, {"name": "", "email": "bad"}],
        [{"name": "A", "email": "a@x.io"}, {"name": "C", "email": "c@x.io"}],
    ]
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(KEYS, USERS, BODIES), min_size=1, max_size=8))
def test_keyed_sequences_never_apply_a_batch_twice(api, django_db_blocker, sequence):
    from django.db import transaction

    with transaction.atomic():
        users = {name: make_user(name) for name in ("ann", "bob")}
        first_seen: dict[tuple, tuple] = {}
        applied = 0
        for key, user, body in sequence:
            api.force_authenticate(users.get(user))
            response = post(api, body, key=key)
            scope = (user, key)
            if scope not in first_seen:
                assert "Idempotent-Replayed" not in response
                first_seen[scope] = (body, response.json())
                applied += 1
            elif first_seen[scope][0] == body:
                assert response["Idempotent-Replayed"] == "true"
                assert response.json() == first_seen[scope][1]
            else:
                assert response.status_code == 422
        created = sum(
            1
            for body, answer in first_seen.values()
            for r in answer["results"]
            if r["status"] == 201
        )
        assert Contact.objects.count() == created
        assert IdempotencyRecord.objects.count() == applied
        transaction.set_rollback(True)


class ImportingContactViewSet(ContactViewSet):
    """A verb of a project's own: an ``@action`` that runs an operation."""

    @action(detail=False, methods=["post"], url_path="import")
    def import_contacts(self, request):
        return self.run_bulk(Create(self, self.get_bulk_items(request)))


action_router = BulkRouter()
action_router.register("contacts", ImportingContactViewSet, basename="importing")
urlpatterns = [path("", include(action_router.urls))]
ACTION_URL = "/contacts/import/"


@override_settings(ROOT_URLCONF=__name__)
def test_an_action_that_runs_an_operation_honours_the_key(api):
    """The same key twice writes once and replays; another body under the key is refused."""
    batch = [{"name": "A", "email": "a@x.io"}]
    first = post(api, batch, url=ACTION_URL)
    again = post(api, batch, url=ACTION_URL)
    assert statuses(first) == statuses(again) == [201]
    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1
    assert post(api, [{"name": "B", "email": "b@x.io"}], url=ACTION_URL).status_code == 422
    assert Contact.objects.count() == 1


@override_settings(ROOT_URLCONF=__name__, DRF_MULTISTATUS={"IDEMPOTENCY_KEY_REQUIRED": True})
def test_an_action_that_runs_an_operation_requires_a_key_where_keys_are_required(api):
    assert post(api, [{"name": "A", "email": "a@x.io"}], url=ACTION_URL).status_code == 207
    missing = post(api, [{"name": "B", "email": "b@x.io"}], key=None, url=ACTION_URL)
    assert missing.status_code == 400
    assert list(Contact.objects.values_list("email", flat=True)) == ["a@x.io"]
