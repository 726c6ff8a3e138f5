"""Entity tags and preconditions: every 200 and 201 result carries its object's etag, the same
value detail responses send in ``ETag``; an item's ``_if_match``, and a single-object write's
``If-Match``, hold the write to it (412, nothing written), on both write paths, atomic or not,
in JSON, XML and CSV bodies, synchronously and in jobs."""

from __future__ import annotations

import datetime
import decimal
import re
from typing import Any

import pytest
from django.db import connection, models
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from lxml import etree
from rest_framework import serializers

from demo_project.contacts.models import Company, Contact
from demo_project.contacts.views import ContactViewSet
from drf_multistatus import etags
from drf_multistatus.client import parse
from drf_multistatus.etags import etag_of
from drf_multistatus.fields import EtagField
from tests.testapp.models import Event

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
DAV = "{DAV:}"
MS = "{urn:drf-multistatus}"


@pytest.fixture(params=[True, False], ids=["set-based", "per-item"])
def bulk_write(request, monkeypatch) -> bool:
    monkeypatch.setattr(ContactViewSet, "bulk_write", request.param)
    return request.param


@pytest.fixture
def contacts(db) -> list[Contact]:
    company = Company.objects.create(name="Engines")
    return [
        Contact.objects.create(name=name, email=f"{name}@example.com", age=40, company=company)
        for name in ("ada", "alan", "grace")
    ]


def etag(contact: Contact) -> str:
    contact.refresh_from_db()
    return etag_of(contact)


def detail_etag(api, contact: Contact) -> str:
    response = api.get(f"{URL}{contact.pk}/")
    assert response.status_code == 200
    return response["ETag"]


def send(api, method: str, items: Any, atomic: bool = False, prefer: str = "", **headers: Any):
    url = URL + ("?atomic=true" if atomic else "")
    if prefer:
        headers["HTTP_PREFER"] = prefer
    return getattr(api, method)(url, items, format="json", **headers)


# Results carry the etag the database gives ---------------------------------------------------


@pytest.mark.parametrize("verb", ["create", "put", "patch", "upsert"])
def test_every_saved_item_carries_the_etag_its_detail_responses_send(
    api, contacts, bulk_write, verb
):
    ada, alan, _grace = contacts
    items = {
        "create": ("post", [{"name": "Zoe", "email": "zoe@example.com"}], ""),
        "put": ("put", [{"id": ada.pk, "name": "Ada L", "email": ada.email, "age": 36}], ""),
        "patch": ("patch", [{"id": ada.pk, "age": 37}, {"id": alan.pk, "name": "Alan T"}], ""),
        "upsert": (
            "post",
            [{"name": "Ada", "email": ada.email}, {"name": "New", "email": "new@example.com"}],
            "resolution=merge-duplicates",
        ),
    }
    method, batch, prefer = items[verb]
    response = send(api, method, batch, prefer=prefer)
    assert response.status_code == 207
    results = response.json()["results"]
    assert all(result["status"] in (200, 201) for result in results)
    for result in results:
        contact = Contact.objects.get(pk=result["data"]["id"])
        assert result["etag"] == etag(contact) == detail_etag(api, contact)
        assert result["etag"].startswith('"') and result["etag"].endswith('"')


def test_a_result_has_no_etag_where_nothing_stays(api, contacts):
    ada, alan, _grace = contacts
    deleted = send(api, "delete", [{"id": ada.pk}]).json()["results"]
    assert deleted[0]["status"] == 204 and "etag" not in deleted[0]
    failed = send(api, "patch", [{"id": alan.pk, "email": "nope"}]).json()["results"]
    assert failed[0]["status"] == 422 and "etag" not in failed[0]
    atomic = send(api, "patch", [{"id": alan.pk, "age": 1}, {"id": 0}], atomic=True)
    assert [r["status"] for r in atomic.json()["results"]] == [424, 404]
    assert "etag" not in atomic.json()["results"][0]
    dry = send(api, "patch", [{"id": alan.pk, "age": 1}], prefer="tx=rollback")
    assert dry.json()["results"][0]["status"] == 200 and "etag" not in dry.json()["results"][0]


def test_return_minimal_keeps_the_etag(api, contacts):
    response = send(api, "patch", [{"id": contacts[0].pk, "age": 50}], prefer="return=minimal")
    (result,) = response.json()["results"]
    assert set(result) == {"index", "status", "href", "etag"}
    assert result["etag"] == etag(contacts[0])


def test_the_default_etag_reads_stored_values_not_their_spelling(api, db):
    """A datetime sent with an offset, a float sent as an integer, a JSON object in another key
    order: the etag of the object just written equals the etag of the row read back."""
    response = api.post(
        "/test/events/",
        [
            {
                "title": "Launch",
                "starts": "2026-01-01T10:00:00.123456+02:00",
                "day": "2026-01-01",
                "score": 3,
                "details": {"b": 1, "a": [1.5, None]},
            }
        ],
        format="json",
    )
    (result,) = response.json()["results"]
    assert result["status"] == 201
    assert result["etag"] == etag_of(Event.objects.get(pk=result["data"]["id"]))
    assert api.get(result["href"])["ETag"] == result["etag"]


def test_the_default_etag_changes_with_any_stored_value(contacts):
    ada = contacts[0]
    before = etag(ada)
    ada.age = 41
    assert etag_of(ada) != before
    ada.age = 40
    assert etag_of(ada) == before
    assert etags.canonical(Event._meta.get_field("score"), 3) == 3.0
    price = models.DecimalField(max_digits=5, decimal_places=2)
    assert etags.canonical(price, decimal.Decimal("1.50")) == etags.canonical(price, "1.5")
    utc = datetime.datetime(2026, 1, 1, 8, tzinfo=datetime.UTC)
    offset = datetime.datetime(
        2026, 1, 1, 10, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    starts = Event._meta.get_field("starts")
    assert etags.canonical(starts, utc) == etags.canonical(starts, offset)
    # Values assigned in another type than the column returns are spelt as it returns them.
    ada.age, ada.name = "40", 7
    Contact.objects.filter(pk=ada.pk).update(name="7")
    assert etag_of(ada) == etag(Contact.objects.get(pk=ada.pk))
    # Deferred fields are read, not taken for null.
    deferred = Contact.objects.only("id").get(pk=ada.pk)
    assert etag_of(deferred) == etag_of(Contact.objects.get(pk=ada.pk))


# Single-object requests -----------------------------------------------------------------------


def test_a_detail_get_sends_the_etag_and_answers_if_none_match_with_304(api, contacts):
    ada = contacts[0]
    tag = detail_etag(api, ada)
    assert tag == etag(ada)
    unchanged = api.get(f"{URL}{ada.pk}/", HTTP_IF_NONE_MATCH=tag)
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged["ETag"] == tag
    assert api.get(f"{URL}{ada.pk}/", HTTP_IF_NONE_MATCH="*").status_code == 304
    assert api.get(f"{URL}{ada.pk}/", HTTP_IF_NONE_MATCH=f'"x", W/{tag}').status_code == 304
    changed = api.get(f"{URL}{ada.pk}/", HTTP_IF_NONE_MATCH='"stale"')
    assert changed.status_code == 200 and changed.json()["name"] == "ada"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_single_update_honours_if_match(api, contacts, method):
    ada = contacts[0]
    tag = detail_etag(api, ada)
    body = {"name": "Ada", "email": ada.email, "age": 41}
    stale = getattr(api, method)(f"{URL}{ada.pk}/", body, format="json", HTTP_IF_MATCH='"old"')
    assert stale.status_code == 412
    assert stale.json()["detail"].startswith("The object has changed")
    assert etag(ada) == tag
    fresh = getattr(api, method)(f"{URL}{ada.pk}/", body, format="json", HTTP_IF_MATCH=tag)
    assert fresh.status_code == 200
    assert etag(ada) != tag
    # A PATCH answers with the new etag; a PUT does not (RFC 9110 §9.3.4: what it stored may
    # differ from what it was sent).
    assert fresh.get("ETag") == (etag(ada) if method == "patch" else None)
    again = getattr(api, method)(f"{URL}{ada.pk}/", body, format="json", HTTP_IF_MATCH=tag)
    assert again.status_code == 412  # the etag it named is gone
    anything = getattr(api, method)(f"{URL}{ada.pk}/", body, format="json", HTTP_IF_MATCH="*")
    assert anything.status_code == 200


def test_if_none_match_guards_a_single_write_too(api, contacts):
    ada = contacts[0]
    body = {"name": "Ada", "email": ada.email, "age": 41}
    url = f"{URL}{ada.pk}/"
    assert api.put(url, body, format="json", HTTP_IF_NONE_MATCH="*").status_code == 412
    assert api.patch(url, body, format="json", HTTP_IF_NONE_MATCH=etag(ada)).status_code == 412
    assert api.patch(url, body, format="json", HTTP_IF_NONE_MATCH='"other"').status_code == 200
    assert Contact.objects.get(pk=ada.pk).age == 41


def test_a_list_write_has_no_etag_of_its_own(api, contacts):
    """Its items carry theirs: an ``If-Match`` on the list (but ``*``) is 412, nothing run."""
    items = [{"id": contacts[0].pk, "age": 1}]
    refused = api.patch(URL, items, format="json", HTTP_IF_MATCH=etag(contacts[0]))
    assert refused.status_code == 412 and "_if_match" in refused.json()["detail"]
    assert (
        api.post(
            URL, [{"name": "Z", "email": "z@x.io"}], format="json", HTTP_IF_NONE_MATCH="*"
        ).status_code
        == 412
    )
    assert Contact.objects.get(pk=contacts[0].pk).age == 40
    assert api.patch(URL, items, format="json", HTTP_IF_MATCH="*").status_code == 207
    assert Contact.objects.get(pk=contacts[0].pk).age == 1


def test_only_the_objects_own_responses_carry_its_etag(api, contacts):
    """Not OPTIONS, not the browsable page, and a 304 only for GET and HEAD."""
    ada = contacts[0]
    url = f"{URL}{ada.pk}/"
    tag = detail_etag(api, ada)
    head = api.head(url, HTTP_IF_NONE_MATCH=tag)
    assert head.status_code == 304 and head["ETag"] == tag
    options = api.options(url, HTTP_IF_NONE_MATCH=tag)
    assert options.status_code == 200 and "ETag" not in options
    page = api.get(url, HTTP_ACCEPT="text/html", HTTP_IF_NONE_MATCH=tag)
    assert page.status_code == 200 and "ETag" not in page
    xml = api.get(url, HTTP_ACCEPT="application/xml")
    assert xml["ETag"] == tag


def test_a_single_delete_honours_if_match(api, contacts):
    ada = contacts[0]
    assert api.delete(f"{URL}{ada.pk}/", HTTP_IF_MATCH='"old"').status_code == 412
    assert Contact.objects.filter(pk=ada.pk).exists()
    assert api.delete(f"{URL}{ada.pk}/", HTTP_IF_MATCH=f'"x", {etag(ada)}').status_code == 204
    assert not Contact.objects.filter(pk=ada.pk).exists()


def test_a_weak_or_unreadable_if_match_matches_nothing(api, contacts):
    ada = contacts[0]
    for header in (f"W/{etag(ada)}", "not-quoted", ""):
        response = api.patch(f"{URL}{ada.pk}/", {"age": 1}, format="json", HTTP_IF_MATCH=header)
        assert response.status_code == 412, header
    assert etag(ada) == etag_of(Contact.objects.get(pk=ada.pk))
    assert Contact.objects.get(pk=ada.pk).age == 40


# Items held to their _if_match ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_stale_current_and_absent_etags_per_item(api, contacts, bulk_write, method):
    ada, alan, grace = contacts
    current, stale = etag(ada), etag(alan)
    alan.age = 41
    alan.save()
    batch = [
        {"id": ada.pk, "name": "Ada", "email": ada.email, "age": 1, "_if_match": current},
        {"id": alan.pk, "name": "Alan", "email": alan.email, "age": 2, "_if_match": stale},
        {"id": grace.pk, "name": "Grace", "email": grace.email, "age": 3},
    ]
    response = send(api, method, batch)
    results = response.json()["results"]
    assert [r["status"] for r in results] == [200, 412, 200]
    assert results[1]["errors"]["detail"].startswith("The object has changed")
    assert results[1]["code"] == "precondition_failed"
    assert results[1]["href"].endswith(f"/{alan.pk}/")
    assert [c.age for c in Contact.objects.order_by("pk")] == [1, 41, 3]
    assert "_if_match" not in results[0]["data"]


def test_a_stale_etag_in_an_atomic_batch_fails_the_others_with_424(api, contacts, bulk_write):
    ada, alan, _grace = contacts
    batch = [
        {"id": ada.pk, "age": 1, "_if_match": etag(ada)},
        {"id": alan.pk, "age": 2, "_if_match": '"stale"'},
    ]
    response = send(api, "patch", batch, atomic=True)
    assert [r["status"] for r in response.json()["results"]] == [424, 412]
    assert [c.age for c in Contact.objects.order_by("pk")] == [40, 40, 40]


def test_a_delete_item_is_held_to_its_etag(api, contacts, bulk_write):
    ada, alan, grace = contacts
    batch = [{"id": ada.pk, "_if_match": etag(ada)}, {"id": alan.pk, "_if_match": '"stale"'}]
    batch.append({"id": grace.pk, "_if_match": "*"})
    response = send(api, "delete", batch)
    assert [r["status"] for r in response.json()["results"]] == [204, 412, 204]
    assert list(Contact.objects.values_list("pk", flat=True)) == [alan.pk]


def test_a_chain_of_etags_guards_successive_batches(api, contacts, bulk_write):
    """The etag a result carries is the one the next guarded write must name."""
    ada = contacts[0]
    first = send(api, "patch", [{"id": ada.pk, "age": 1, "_if_match": etag(ada)}]).json()
    tag = first["results"][0]["etag"]
    second = send(api, "patch", [{"id": ada.pk, "age": 2, "_if_match": tag}]).json()
    assert second["results"][0]["status"] == 200
    replay = send(api, "patch", [{"id": ada.pk, "age": 3, "_if_match": tag}]).json()
    assert replay["results"][0]["status"] == 412
    assert Contact.objects.get(pk=ada.pk).age == 2


@pytest.mark.parametrize(
    ("exists", "condition", "expected"),
    [
        (True, "current", 200),
        (True, "stale", 412),
        (True, "*", 200),
        (True, None, 200),
        (False, "stale", 412),
        (False, "*", 412),
        (False, None, 201),
    ],
)
def test_upsert_items_are_held_to_their_etag(
    api, contacts, bulk_write, exists, condition, expected
):
    ada = contacts[0]
    email = ada.email if exists else "new@example.com"
    item: dict[str, Any] = {"name": "Upserted", "email": email}
    if condition is not None:
        item["_if_match"] = {"current": etag(ada), "stale": '"stale"'}.get(condition, condition)
    before = sorted(Contact.objects.values_list("pk", "name", "email"))
    response = send(api, "post", [item], prefer="resolution=merge-duplicates")
    (result,) = response.json()["results"]
    assert result["status"] == expected
    if expected == 412:
        assert sorted(Contact.objects.values_list("pk", "name", "email")) == before
    else:
        assert Contact.objects.get(email=email).name == "Upserted"


def test_a_create_item_with_an_etag_matches_nothing(api, contacts):
    response = send(api, "post", [{"name": "Zoe", "email": "z@example.com", "_if_match": "*"}])
    assert response.json()["results"][0]["status"] == 412
    assert not Contact.objects.filter(email="z@example.com").exists()


@pytest.mark.parametrize("value", [5, ["x"], None, "unquoted", ""])
def test_an_unreadable_etag_is_the_items_400(api, contacts, bulk_write, value):
    ada, alan, _grace = contacts
    batch = [{"id": ada.pk, "age": 1, "_if_match": value}, {"id": alan.pk, "age": 2}]
    results = send(api, "patch", batch).json()["results"]
    assert [r["status"] for r in results] == [400, 200]
    assert results[0]["errors"] == {
        "_if_match": ['Not an entity tag: give the "etag" of a result or of a GET, quoted, or "*".']
    }
    assert Contact.objects.get(pk=ada.pk).age == 40


def test_the_key_is_a_setting(api, contacts):
    ada = contacts[0]
    with override_settings(DRF_MULTISTATUS={"IF_MATCH_KEY": "@version"}):
        stale = send(api, "patch", [{"id": ada.pk, "age": 1, "@version": '"stale"'}])
        assert stale.json()["results"][0]["status"] == 412
        ignored = send(api, "patch", [{"id": ada.pk, "age": 2, "_if_match": '"stale"'}])
        assert ignored.json()["results"][0]["status"] == 200


def test_a_view_supplies_its_own_etag(api, contacts, bulk_write, monkeypatch):
    """``get_bulk_etag`` (here: the age, as a version column would be) is what results and
    detail responses carry and what items are held to, quoted for the view."""
    monkeypatch.setattr(ContactViewSet, "get_bulk_etag", lambda self, obj: f"v{obj.age}")
    ada, alan, _grace = contacts
    assert detail_etag(api, ada) == '"v40"'
    batch = [{"id": ada.pk, "age": 41, "_if_match": '"v40"'}, {"id": alan.pk, "_if_match": '"v1"'}]
    results = send(api, "patch", batch).json()["results"]
    assert [(r["status"], r.get("etag")) for r in results] == [(200, '"v41"'), (412, None)]
    assert api.patch(f"{URL}{ada.pk}/", {"age": 42}, format="json", HTTP_IF_MATCH='"v41"')[
        "ETag"
    ] == ('"v42"')


def test_a_job_compares_etags_when_it_runs(api, contacts, run_jobs):
    ada, alan, _grace = contacts
    batch = [{"id": ada.pk, "age": 1, "_if_match": etag(ada)}]
    batch.append({"id": alan.pk, "age": 2, "_if_match": '"stale"'})
    response = send(api, "patch", batch, prefer="respond-async")
    assert response.status_code == 202
    job = api.get(response["Location"]).json()
    assert [(r["status"], "etag" in r) for r in job["results"]] == [(200, True), (412, False)]
    assert job["results"][0]["etag"] == etag(ada)
    assert [c.age for c in Contact.objects.order_by("pk")] == [1, 40, 40]


# Other bodies ---------------------------------------------------------------------------------


def test_an_xml_item_names_its_etag_as_an_element_of_the_key(api, contacts):
    ada, alan, _grace = contacts
    ns = 'xmlns:ms="urn:drf-multistatus"'
    body = (
        f"<ms:data {ns}>"
        f"<ms:item><ms:id>{ada.pk}</ms:id><ms:age>1</ms:age><ms:_if_match>{etag(ada)}"
        "</ms:_if_match></ms:item>"
        f'<ms:item><ms:id>{alan.pk}</ms:id><ms:age>2</ms:age><ms:_if_match>"stale"'
        "</ms:_if_match></ms:item></ms:data>"
    )
    response = api.patch(URL, body, content_type="application/xml", HTTP_ACCEPT="application/xml")
    root = etree.fromstring(response.content)
    responses = root.findall(f"{DAV}response")
    assert [r.findtext(f"{DAV}status") for r in responses] == [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 412 Precondition Failed",
    ]
    assert responses[0].findtext(f"{MS}etag") == etag(ada)
    assert responses[1].find(f"{MS}etag") is None
    assert [result.etag for result in parse(response.content, "application/xml")] == [
        etag(ada),
        None,
    ]


def test_the_propstat_style_writes_the_etag_as_getetag(api, contacts):
    ada = contacts[0]
    with override_settings(DRF_MULTISTATUS={"XML_STYLE": "propstat"}):
        response = api.patch(
            URL, [{"id": ada.pk, "age": 1}], format="json", HTTP_ACCEPT="application/xml"
        )
    root = etree.fromstring(response.content)
    prop = root.find(f"{DAV}response/{DAV}propstat/{DAV}prop")
    assert prop.findtext(f"{DAV}getetag") == etag(ada)
    assert prop.findtext(f"{MS}age") == "1"
    (result,) = parse(response.content, "application/xml")
    assert result.etag == etag(ada) and "age" in result.data and "{DAV:}getetag" not in result.data


def test_the_status_style_writes_etags_of_flat_rows(api, contacts):
    """Flat results of one shape are written in one pass: their etags with them."""
    batch = [{"id": c.pk, "age": 30 + n} for n, c in enumerate(contacts)]
    response = api.patch(URL, batch, format="json", HTTP_ACCEPT="application/xml")
    root = etree.fromstring(response.content)
    written = [r.findtext(f"{MS}etag") for r in root.findall(f"{DAV}response")]
    assert written == [etag(c) for c in contacts]


def test_a_csv_column_of_the_key_guards_its_row(api, contacts):
    ada, alan, _grace = contacts
    csv = f'id,age,_if_match\n{ada.pk},1,"{etag(ada).replace(chr(34), chr(34) * 2)}"\n'
    csv += f'{alan.pk},2,"""stale"""\n{contacts[2].pk},3,\n'
    response = api.generic("PATCH", URL, csv.encode(), content_type="text/csv")
    assert [r["status"] for r in response.json()["results"]] == [200, 412, 200]
    assert [c.age for c in Contact.objects.order_by("pk")] == [1, 40, 3]


# Many objects' etags in one GET ---------------------------------------------------------------


class ContactWithEtag(serializers.ModelSerializer):
    etag = EtagField()

    class Meta:
        model = Contact
        fields = ["id", "name", "email", "age", "etag"]


def test_a_list_get_gives_every_etag_a_guarded_batch_needs(api, contacts, monkeypatch):
    monkeypatch.setattr(ContactViewSet, "serializer_class", ContactWithEtag)
    listed = api.get(URL).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["etag"] for row in rows] == [etag(c) for c in contacts]
    batch = [{"id": row["id"], "age": 1, "_if_match": row["etag"]} for row in rows]
    contacts[1].age = 2
    contacts[1].save()
    results = send(api, "patch", batch).json()["results"]
    assert [r["status"] for r in results] == [200, 412, 200]
    assert results[0]["data"]["etag"] == results[0]["etag"] == etag(contacts[0])
    # A client's etag in a body is ignored, as any read-only field is.
    response = send(api, "patch", [{"id": contacts[0].pk, "etag": '"mine"', "age": 5}])
    assert response.json()["results"][0]["data"]["etag"] == etag(contacts[0])


def test_guarded_items_are_compared_under_a_lock_even_where_the_view_takes_none(
    api, contacts, monkeypatch
):
    """A view that does not lock its targets still locks them for a batch with ``_if_match``:
    the comparison and the write must see the same row."""
    monkeypatch.setattr(ContactViewSet, "lock_bulk_targets", False)
    ada = contacts[0]
    for guarded, locked in ((False, False), (True, connection.features.has_select_for_update)):
        item: dict[str, Any] = {"id": ada.pk, "age": 41}
        if guarded:
            item["_if_match"] = etag(ada)
        with CaptureQueriesContext(connection) as queries:
            assert send(api, "patch", [item]).json()["results"][0]["status"] == 200
        assert any("FOR UPDATE" in query["sql"] for query in queries) == locked


@pytest.mark.parametrize("method", ["patch", "delete"])
@pytest.mark.parametrize("bulk", [True, False], ids=["set-based", "per-item"])
def test_a_target_the_user_may_not_change_is_403_whatever_its_etag_says(
    api, other_user, monkeypatch, method, bulk
):
    """As the detail URL answers (permissions come first, RFC 9110 §13.2.1): 403, not 412."""
    from tests.conftest import NOTE_PERMISSIONS, make_user
    from tests.testapp.models import Note
    from tests.testapp.views import NoteViewSet

    user = make_user("ann", *NOTE_PERMISSIONS, "delete_note")
    monkeypatch.setattr(NoteViewSet, "bulk_write", bulk)
    bobs = Note.objects.create(owner=other_user, title="bob's", public=True)
    api.force_authenticate(user)
    single = getattr(api, method)(
        f"/test/notes/{bobs.pk}/", {"title": "x"}, format="json", HTTP_IF_MATCH='"stale"'
    )
    assert single.status_code == 403
    items = [{"id": bobs.pk, "title": "x", "_if_match": '"stale"'}]
    (result,) = getattr(api, method)("/test/notes/", items, format="json").json()["results"]
    assert result["status"] == 403
    assert Note.objects.get(pk=bobs.pk).title == "bob's"


def test_an_etag_spells_values_as_the_database_returns_them(contacts, settings):
    """Choices, rounded decimals, naive datetimes, JSON encoders and expressions: the etag of
    what was just assigned is the etag of what is stored."""
    from django.core.serializers.json import DjangoJSONEncoder
    from django.db.models import F

    class Status(models.TextChoices):
        DRAFT = "draft"

    char = models.CharField(max_length=10)
    assert etags.canonical(char, Status.DRAFT) == etags.canonical(char, "draft") == "draft"
    price = models.DecimalField(max_digits=6, decimal_places=2)
    assert etags.canonical(price, decimal.Decimal("1.004")) == etags.canonical(price, "1.00")
    settings.USE_TZ, settings.TIME_ZONE = True, "Europe/Paris"
    starts = models.DateTimeField()
    naive = datetime.datetime(2026, 1, 1, 10)
    paris = datetime.datetime(2026, 1, 1, 9, tzinfo=datetime.UTC)
    assert etags.canonical(starts, naive) == etags.canonical(starts, paris)
    details = models.JSONField(encoder=DjangoJSONEncoder)
    assert etags.canonical(details, {"at": paris, "b": 1}) == etags.canonical(
        details, {"b": 1, "at": "2026-01-01T09:00:00Z"}
    )
    ada = contacts[0]
    ada.age = F("age") + 1
    ada.save()
    assert etag_of(ada) == etag_of(Contact.objects.get(pk=ada.pk))
    assert Contact.objects.get(pk=ada.pk).age == 41


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("5", '"5"'),
        ('"abc"', '"abc"'),
        ('W/"abc"', 'W/"abc"'),
        (7, '"7"'),
    ],
)
def test_a_views_etag_is_quoted_as_a_header_writes_it(given, sent):
    assert etags.quoted(given) == sent


@pytest.mark.parametrize("given", ["2026-01-01 10:00", 'a"b', '"a"b"', "é", "x\ny"])
def test_a_views_etag_a_header_cannot_carry_is_hashed(given):
    sent = etags.quoted(given)
    assert re.fullmatch(r'"[0-9a-f]{32}"', sent)
    assert etags.quoted(given) == sent  # the same every time
