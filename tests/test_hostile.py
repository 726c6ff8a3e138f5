"""Hostile input: a clear 4xx, never a 500, and nothing written."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ErrorDetail

from demo_project.contacts.models import Contact
from drf_multistatus.exceptions import RequestBodyTooLarge
from drf_multistatus.parsers import FIRST_LOOK, MultiStatusJSONParser
from drf_multistatus.results import ItemResult, MultiStatus

from .conftest import parse_multistatus, xml_results
from .test_xml import render

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
DEPTH = 100_000


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b'[{"name": }', 400, "JSON parse error - Expecting value"),
        (b"[" * DEPTH + b"]" * DEPTH, 400, "JSON parse error - nesting too deep."),
        (
            b'[{"a":' * DEPTH + b"1" + b"}" * DEPTH + b"]",
            400,
            "JSON parse error - nesting too deep.",
        ),
        (
            b'[{"name": "x", "email": "a@b.co", "age": ' + b"9" * 5000 + b"}]",
            400,
            "JSON parse error",
        ),
        (b'[{"name": "\xff\xfe", "email": "a@b.co"}]', 400, "JSON parse error"),
        (b'[{"name": "x", "email": "a@b.co", "age": NaN}]', 400, "JSON parse error"),
    ],
    ids=["invalid", "deep-arrays", "deep-objects", "giant-number", "not-utf8", "nan"],
)
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_malformed_bodies_are_400(api, method, body, status, detail):
    response = getattr(api, method)(URL, body, content_type="application/json")
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)
    assert Contact.objects.count() == 0


def test_wrong_content_type_is_415(api):
    response = api.post(URL, b"[]", content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_body_over_djangos_limit_is_413(api):
    body = '[{"name": "x", "email": "big@example.com", "age": 1, "pad": "' + "x" * 20_000 + '"}]'
    response = api.post(URL, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"The request body holds {len(body)} bytes; this server accepts at most 10000."
    }
    assert Contact.objects.count() == 0


def test_nested_arrays_and_huge_values_fail_per_item(api):
    batch = [
        [[{"name": "x", "email": "n@example.com"}]],
        {"name": "x" * 1_000_000, "email": "huge@example.com"},
        {"name": "ok", "email": "e" * 300 + "@example.com"},
        {"name": "ok", "email": "ok@example.com", "age": 10**30},
        {"name": {"nested": ["deep"]}, "email": "obj@example.com"},
    ]
    response = api.post(URL, batch, format="json")
    assert [r["status"] for r in response.json()["results"]] == [400, 422, 422, 422, 422]
    assert Contact.objects.count() == 0


def test_whole_batch_over_limit_and_nested_bodies_in_updates(api):
    ann = Contact.objects.create(name="Ann", email="ann@example.com")
    response = api.patch(URL, [[{"id": ann.id, "name": "X"}]], format="json")
    assert [r["status"] for r in response.json()["results"]] == [400]
    ann.refresh_from_db()
    assert ann.name == "Ann"


xml_hostile_text = st.lists(
    st.one_of(
        st.characters(),  # any code point, lone surrogates included
        st.sampled_from(["\x00", "\x01", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"]),
        st.sampled_from(["]]>", "<", "&", "&amp;", "<![CDATA["]),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    message=xml_hostile_text, key=xml_hostile_text, value=xml_hostile_text, code=xml_hostile_text
)
def test_xml_stays_well_formed_for_any_text(message, key, value, code):
    multistatus = MultiStatus(
        results=[
            ItemResult(index=0, status=422, errors={key or "k": [ErrorDetail(message, code=code)]}),
            ItemResult(
                index=1, status=201, href="/api/contacts/1/", data={key: value, "v": [value]}
            ),
        ]
    )
    results = xml_results(parse_multistatus(render(multistatus)))
    assert [r["status"] for r in results] == [422, 201]
    assert len(results[0]["errors"]) == 1


HUGE = -29207687347021778944  # beyond any database integer


@pytest.mark.parametrize("method", ["put", "patch"])
def test_lookup_values_beyond_database_integers_are_404(api, method):
    ann = Contact.objects.create(name="Ann", email="ann@example.com")
    batch = [
        {"id": HUGE, "name": "x", "email": "x@example.com"},
        {"id": ann.id, "name": "Anna", "email": ann.email},
    ]
    response = getattr(api, method)(URL, batch, format="json")
    assert [r["status"] for r in response.json()["results"]] == [404, 200]
    ann.refresh_from_db()
    assert ann.name == "Anna"


def test_field_values_beyond_database_integers_are_422(api):
    response = api.post(URL, [{"name": "x", "email": "x@example.com", "age": HUGE}], format="json")
    assert [r["status"] for r in response.json()["results"]] == [422]
    gadget = api.post(
        "/test/gadgets/", [{"name": "g", "code": "g", "quantity": HUGE}], format="json"
    )
    assert [r["status"] for r in gadget.json()["results"]] == [422]
    assert Contact.objects.count() == 0


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
@pytest.mark.parametrize(
    ("content_type", "single", "batch"),
    [
        (
            "application/json",
            '{"name": "x", "email": "big@example.com", "pad": "' + "x" * 20_000 + '"}',
            '[{"name": "x", "email": "big@example.com", "pad": "' + "x" * 20_000 + '"}]',
        ),
        (
            "application/xml",
            f'<ms:data xmlns:ms="urn:drf-multistatus"><ms:name>x</ms:name>'
            f"<ms:pad>{'x' * 20_000}</ms:pad></ms:data>",
            f'<ms:data xmlns:ms="urn:drf-multistatus"><ms:item><ms:name>x</ms:name>'
            f"<ms:pad>{'x' * 20_000}</ms:pad></ms:item></ms:data>",
        ),
    ],
)
def test_respond_async_lifts_the_body_limit_for_a_batch_only(api, content_type, single, batch):
    """``Prefer: respond-async`` is a batch's preference: a single object keeps Django's limit
    (413, the preference not applied); a batch may be larger, run as a job."""
    prefer = {"HTTP_PREFER": "respond-async"}
    refused = api.post(URL, single, content_type=content_type, **prefer)
    assert refused.status_code == 413
    assert "Preference-Applied" not in refused
    accepted = api.post(URL, batch, content_type=content_type, **prefer)
    assert accepted.status_code == 202
    assert accepted["Preference-Applied"] == "respond-async"


def test_a_body_over_its_limit_is_refused_after_a_first_look():
    """The parser reads no more than its first look of a body it refuses."""
    stream = io.BytesIO(b"{" + b" " * 1_000_000 + b"}")
    context = {"max_body_size": 100, "request": SimpleNamespace(META={"CONTENT_LENGTH": "1000002"})}
    with pytest.raises(RequestBodyTooLarge):
        MultiStatusJSONParser().parse(stream, "application/json", context)
    assert stream.tell() == FIRST_LOOK
