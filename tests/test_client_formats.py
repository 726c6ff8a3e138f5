"""``client.parse()`` gives one result from either format: the JSON body and the DAV: XML body of
the same outcome parse to equal results — errors in one shape, summary and atomic, typed values,
hrefs only for resources, whitespace-normalised descriptions."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demo_project.contacts.models import Company, Contact
from drf_multistatus.client import parse
from drf_multistatus.renderers import MultiStatusXMLRenderer

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"


def both_formats(response) -> tuple:
    """The response's body as JSON, and the same outcome rendered as XML."""
    xml = both_xml(response)
    status = response.status_code
    return parse(response.content, "application/json", status), parse(
        xml, "application/xml", status
    )


names = st.sampled_from(["Ann", "", "x" * 120, " spaced  out ", "Zoë"])
emails = st.sampled_from(["a@x.io", "b@x.io", "ada@example.com", "not-an-email", ""])
ages = st.sampled_from([None, 0, 42, 200, "abc", 3.5])
companies = st.sampled_from([None, "company", 999_999, "x"])
targets = st.sampled_from(["ada", "grace", "unknown", "abc"])
item = st.fixed_dictionaries(
    {}, optional={"name": names, "email": emails, "age": ages, "company": companies, "id": targets}
)
items = st.lists(st.one_of(item, item, item, st.sampled_from([1, "text", None, [1]])), max_size=6)


def resolve(value, existing):
    if not isinstance(value, dict):
        return value
    value = dict(value)
    if value.get("company") == "company":
        value["company"] = existing["company"].id
    if "id" in value:
        target = value["id"]
        value["id"] = (
            existing[target].id
            if target in existing
            else (10**9 if target == "unknown" else target)
        )
    return value


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    batch=items,
    verb=st.sampled_from(["post", "put", "patch", "delete", "upsert"]),
    atomic=st.booleans(),
    minimal=st.booleans(),
    style=st.sampled_from(["status", "propstat"]),
)
def test_json_and_xml_parse_to_the_same_result(api, batch, verb, atomic, minimal, style):
    from demo_project.contacts.views import ContactViewSet

    ContactViewSet.xml_style = style
    try:
        check_both_formats(api, batch, verb, atomic, minimal)
    finally:
        ContactViewSet.xml_style = None


def check_both_formats(api, batch, verb, atomic, minimal):
    with transaction.atomic():
        company = Company.objects.create(name="Initech")
        existing = {
            "ada": Contact.objects.create(name="Ada", email="ada@example.com", age=36),
            "grace": Contact.objects.create(name="Grace", email="grace@example.com"),
            "company": company,
        }
        body = [resolve(value, existing) for value in batch]
        prefer = ["return=minimal"] if minimal else []
        method = "post" if verb == "upsert" else verb
        if verb == "upsert":
            prefer.append("resolution=merge-duplicates")
        response = getattr(api, method)(
            URL + ("?atomic=true" if atomic else ""),
            body,
            format="json",
            HTTP_PREFER=", ".join(prefer),
        )
        transaction.set_rollback(True)
    from_json, from_xml = both_formats(response)
    assert from_json == from_xml
    assert from_xml.summary["total"] == len(batch) and from_xml.atomic is atomic


slugs = st.sampled_from(["work", "home", "new", "", "not a slug", "x" * 60])
labels = st.sampled_from(["Work", "", "x" * 60, "Zoë"])
tag = st.fixed_dictionaries({}, optional={"slug": slugs, "label": labels})
tags = st.lists(st.one_of(tag, tag, st.sampled_from([1, None, "text"])), max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=tags, verb=st.sampled_from(["post", "put", "patch", "delete"]))
def test_tags_parse_to_the_same_result_from_both_formats(api, batch, verb):
    """The demo's tags: addressed by slug, all-or-nothing, in the propstat style."""
    from demo_project.contacts.models import Tag

    with transaction.atomic():
        Tag.objects.create(slug="work", label="Work")
        response = getattr(api, verb)("/api/tags/", batch, format="json")
        transaction.set_rollback(True)
    if response.status_code != 207:  # refused whole (an empty batch)
        return
    from_json, from_xml = both_formats(response)
    assert from_json == from_xml
    assert from_xml.atomic is True


def test_what_the_xml_now_says(api):
    Contact.objects.create(name="Ada", email="ada@example.com", age=36)
    batch = [
        {"name": "B", "email": "b@x.io", "age": 7},
        {"name": "", "email": "bad"},
        {"id": 10**9, "name": "nobody"},
    ]
    from_json, from_xml = both_formats(api.post(URL, batch, format="json"))
    assert from_xml.results[0].data["age"] == 7 and from_xml.results[0].data["company"] is None
    assert from_xml.results[1].href is None  # the request item's URI is not a resource
    assert from_xml.results[1].errors == {
        "name": ["This field may not be blank."],
        "email": ["Enter a valid email address."],
    }
    assert from_xml.summary == {
        "total": 3,
        "succeeded": 1,
        "failed": 2,
        "atomic": False,
        "by_status": {"201": 1, "422": 2},
        "request_id": from_json.summary["request_id"],
    }
    assert from_json == from_xml


def test_the_propstat_style(api):
    """``/api/tags/`` writes its items as PROPFIND and PROPPATCH answer: fields as properties."""
    from demo_project.contacts.models import Tag

    from .conftest import NS, parse_multistatus

    Tag.objects.create(slug="work", label="Work")
    created = api.post("/api/tags/", [{"slug": "home", "label": "Home"}], format="json")
    root = parse_multistatus(both_xml(created))
    propstat = root.find("d:response/d:propstat", NS)
    assert propstat.findtext("d:status", namespaces=NS) == "HTTP/1.1 201 Created"
    assert propstat.findtext("d:prop/ms:label", namespaces=NS) == "Home"
    assert root.find("d:response/d:status", NS) is None
    refused = api.post(
        "/api/tags/",
        [
            {"slug": "ok", "label": "x" * 60},
            {"slug": "work", "label": "W"},
            {"slug": "fine", "label": "Fine"},
        ],
        format="json",
    )
    root = parse_multistatus(both_xml(refused))
    first, second, third = root.findall("d:response", NS)
    stats = [
        (p.findtext("d:status", namespaces=NS), [etree_local(c) for c in p.find("d:prop", NS)])
        for p in first.findall("d:propstat", NS)
    ]
    assert stats == [
        ("HTTP/1.1 422 Unprocessable Content", ["label"]),
        ("HTTP/1.1 424 Failed Dependency", ["slug"]),
    ]
    assert [p.findtext("d:status", namespaces=NS) for p in second.findall("d:propstat", NS)] == [
        "HTTP/1.1 409 Conflict",
        "HTTP/1.1 424 Failed Dependency",
    ]
    # Not saved because the others failed: every field it submitted is 424, as in PROPPATCH.
    (dependent,) = third.findall("d:propstat", NS)
    assert dependent.findtext("d:status", namespaces=NS) == "HTTP/1.1 424 Failed Dependency"
    assert [etree_local(c) for c in dependent.find("d:prop", NS)] == ["slug", "label"]
    assert third.find("d:error/ms:error", NS).get("code") == "failed_dependency"
    for response in (created, refused):
        from_json, from_xml = both_formats(response)
        assert from_json == from_xml


def both_xml(response) -> bytes:
    return MultiStatusXMLRenderer().render(
        response.data,
        renderer_context={
            "request": response.renderer_context["request"],
            "response": response,
            "view": response.renderer_context["view"],
        },
    )


def etree_local(element) -> str:
    from lxml import etree

    return etree.QName(element).localname
