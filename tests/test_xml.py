"""The DAV: XML body, checked with lxml against RFC 4918's element definitions."""

from __future__ import annotations

import pytest
from lxml import etree
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.test import APIRequestFactory

from demo_project.contacts.models import Contact
from drf_multistatus.browsable import MultiStatusBrowsableAPIRenderer
from drf_multistatus.renderers import (
    MultiStatusTextXMLRenderer,
    MultiStatusXMLRenderer,
    multistatus_renderer_classes,
)
from drf_multistatus.results import ItemResult, MultiStatus

from .conftest import MS, NS, parse_multistatus, xml_results

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"


def test_mixed_batch_as_multistatus_xml(api):
    Contact.objects.create(name="Existing", email="taken@example.com")
    batch = [
        {"name": "Ann", "email": "ann@example.com", "age": 30},
        {"name": "Bad", "email": "nope"},
        {"name": "Dup", "email": "ann@example.com"},
        {"name": "Clash", "email": "taken@example.com"},
        7,
    ]
    response = api.post(URL, batch, format="json", HTTP_ACCEPT="application/xml")
    assert response.status_code == 207
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    root = parse_multistatus(response.content)
    results = xml_results(root)
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in results] == [201, 422, 409, 409, 400]
    ann_id = Contact.objects.get(email="ann@example.com").id
    assert results[0]["href"] == f"http://testserver/api/contacts/{ann_id}/"
    assert results[0]["description"] is None and results[0]["errors"] == []
    data = results[0]["data"]
    assert data.findtext("ms:email", namespaces=NS) == "ann@example.com"
    assert data.findtext("ms:id", namespaces=NS) == str(ann_id)
    assert data.find("ms:age", namespaces=NS).text == "30"
    for failed in results[1:]:
        assert failed["data"] is None
        assert failed["href"] == f"http://testserver/api/contacts/~item/{failed['index']}"
        assert failed["description"]
    assert results[1]["errors"] == [("email", "invalid", "Enter a valid email address.")]
    assert results[1]["description"] == "email: Enter a valid email address."
    assert results[2]["errors"] == [("email", "unique", "contact with this email already exists.")]
    status_lines = root.xpath("D:response/D:status/text()", namespaces=NS)
    assert status_lines == [
        "HTTP/1.1 201 Created",
        "HTTP/1.1 422 Unprocessable Content",
        "HTTP/1.1 409 Conflict",
        "HTTP/1.1 409 Conflict",
        "HTTP/1.1 400 Bad Request",
    ]
    assert [child.tag for child in root] == ["{DAV:}response"] * 5  # nothing else in the root
    summary = {name: root.get(f"{{{MS}}}{name}") for name in ("total", "succeeded", "atomic")}
    assert summary == {"total": "5", "succeeded": "1", "atomic": "false"}
    assert root.get(f"{{{MS}}}by-status") == "201:1 400:1 409:2 422:1"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"HTTP_ACCEPT": "text/xml"},
        {"HTTP_ACCEPT": "application/xml; charset=utf-8"},
        {"QUERY_STRING": "format=xml"},
    ],
)
def test_xml_is_chosen_by_content_negotiation(api, kwargs):
    query = kwargs.pop("QUERY_STRING", "")
    response = api.post(
        f"{URL}?{query}", [{"name": "A", "email": "a@example.com"}], format="json", **kwargs
    )
    assert response["Content-Type"].split(";")[0] in ("application/xml", "text/xml")
    parse_multistatus(response.content)


def test_two_items_naming_one_resource_get_distinct_hrefs(api):
    ann = Contact.objects.create(name="Ann", email="ann@example.com")
    batch = [{"id": ann.id, "age": 1}, {"id": ann.id, "age": 2}, {"id": 424242}, {"id": 424242}]
    response = api.patch(URL + "?format=xml", batch, format="json")
    results = xml_results(parse_multistatus(response.content))
    assert [r["status"] for r in results] == [200, 409, 404, 409]
    assert results[0]["href"] == f"http://testserver/api/contacts/{ann.id}/"
    assert results[1]["href"] == "http://testserver/api/contacts/~item/1"
    assert results[1]["errors"] == [
        ("id", "duplicate_target", "Item 0 of this batch already targets this object.")
    ]


def test_atomic_failure_in_xml(api):
    batch = [{"name": "A", "email": "a@example.com"}, {"name": "B"}]
    response = api.post(URL + "?atomic=true&format=xml", batch, format="json")
    results = xml_results(parse_multistatus(response.content))
    assert [r["status"] for r in results] == [424, 422]
    assert results[0]["errors"][0][1] == "failed_dependency"
    status = etree.fromstring(response.content).findtext("D:response/D:status", namespaces=NS)
    assert status == "HTTP/1.1 424 Failed Dependency"
    assert results[0]["href"].endswith("/~item/0")


def test_empty_batch_is_an_empty_multistatus(api):
    response = api.post(URL + "?format=xml", [], format="json")
    root = parse_multistatus(response.content)
    assert root.findall("{DAV:}response") == []


FORBIDDEN = "nul\x00 bel\x07 esc\x1b lone\ud800 \udfff nonchar\ufffe\uffff"


def render(multistatus: MultiStatus, path: str = "/api/contacts/") -> bytes:
    request = APIRequestFactory().post(path)
    return MultiStatusXMLRenderer().render(
        multistatus.as_data(), renderer_context={"request": request}
    )


def test_characters_xml_forbids_are_replaced_never_crash():
    hostile = f"{FORBIDDEN} ]]> <tag> & {'x' * 100_000}"
    multistatus = MultiStatus(
        results=[
            ItemResult(
                index=0,
                status=422,
                errors={"na\x01me": [ErrorDetail(hostile, code="in\x02valid")], "detail": hostile},
            ),
            ItemResult(
                index=1,
                status=201,
                href="/api/contacts/1/#frag",
                data={"name": hostile, "1bad key": [None, True, 1.5], "nested": {"k": hostile}},
            ),
        ]
    )
    root = parse_multistatus(render(multistatus))
    results = xml_results(root)
    message = results[0]["errors"][0][2]
    assert message.startswith("nul\ufffd bel\ufffd esc\ufffd lone\ufffd \ufffd nonchar\ufffd\ufffd")
    assert "]]> <tag> &" in message
    assert results[0]["errors"][0][0] == "na\ufffdme"
    assert results[1]["href"] == "http://testserver/api/contacts/1/"
    data = results[1]["data"]
    assert data.findtext("ms:name", namespaces=NS).endswith("x" * 100_000)
    odd = data.find("ms:field", namespaces=NS)
    assert odd.get("name") == "1bad key"
    items = odd.findall("ms:item", namespaces=NS)
    assert items[0].get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
    assert [i.text for i in items[1:]] == ["true", "1.5"]


def test_renderer_answers_for_non_multistatus_data(api):
    created = api.post(
        URL,
        {"name": "Solo", "email": "solo@example.com"},
        format="json",
        HTTP_ACCEPT="application/xml",
    )
    assert created.status_code == 201
    root = etree.fromstring(created.content)
    assert root.tag == f"{{{MS}}}data"
    assert root.findtext("ms:email", namespaces=NS) == "solo@example.com"

    listing = etree.fromstring(api.get(URL + "?format=xml").content)
    assert listing.xpath("ms:item/ms:email/text()", namespaces=NS) == ["solo@example.com"]

    error = api.put(URL + "?format=xml", {"id": 1}, format="json")
    assert error.status_code == 400
    root = etree.fromstring(error.content)
    assert root.tag == "{DAV:}error"
    assert root.find("ms:error", namespaces=NS).get("code") == "not_a_list"

    invalid = api.post(URL + "?format=xml", {"name": "x"}, format="json")
    root = etree.fromstring(invalid.content)
    assert root.xpath("ms:error/@field", namespaces=NS) == ["email"]

    missing = api.get(URL + "999/?format=xml")
    assert missing.status_code == 404
    assert (
        etree.fromstring(missing.content).findtext("ms:error", namespaces=NS)
        == "No Contact matches the given query."
    )


class OtherXMLRenderer(BaseRenderer):
    """Stands for a third-party XML renderer such as djangorestframework-xml's."""

    media_type = "application/xml"
    format = "xml"


def test_renderer_classes_go_before_other_xml_renderers():
    ours = [MultiStatusXMLRenderer, MultiStatusTextXMLRenderer]
    browsable = MultiStatusBrowsableAPIRenderer
    assert multistatus_renderer_classes([JSONRenderer, BrowsableAPIRenderer]) == [
        JSONRenderer,
        browsable,
        *ours,
    ]
    assert multistatus_renderer_classes([JSONRenderer, OtherXMLRenderer, BrowsableAPIRenderer]) == [
        JSONRenderer,
        *ours,
        OtherXMLRenderer,
        browsable,
    ]
    assert multistatus_renderer_classes([JSONRenderer, *ours]) == [JSONRenderer, *ours]


def test_viewset_with_third_party_xml_renderer_still_answers_multistatus(api, settings):
    from demo_project.contacts.views import ContactViewSet

    renderer_classes = multistatus_renderer_classes([JSONRenderer, OtherXMLRenderer])

    class View(ContactViewSet):
        pass

    View.renderer_classes = renderer_classes
    view = View.as_view({"post": "create"})
    request = APIRequestFactory().post(
        "/", [{"name": "A", "email": "a@example.com"}], format="json", HTTP_ACCEPT="application/xml"
    )
    response = view(request)
    response.render()
    assert etree.fromstring(response.content).tag == "{DAV:}multistatus"
    default = view(APIRequestFactory().post("/", [], format="json"))
    assert default.accepted_renderer.media_type == "application/json"


def test_hrefs_are_distinct_by_path_and_the_prefix_is_d(api):
    """WebDAV clients that key responses by path, or match the literal ``d:`` prefix as
    SabreDAV writes it, see one entry per item."""
    from urllib.parse import urlsplit

    from demo_project.contacts.models import Contact

    Contact.objects.create(name="Ada", email="ada@example.com")
    batch = [
        {"name": "A", "email": "a@example.com"},
        {"name": "", "email": "bad"},
        {"name": "Twin", "email": "ada@example.com"},
        {"name": "B", "email": "b@example.com"},
        "not an object",
    ]
    response = api.post("/api/contacts/", batch, format="json", HTTP_ACCEPT="application/xml")
    assert response.content.count(b"<d:response>") == 5
    assert b'xmlns:d="DAV:"' in response.content
    hrefs = [r["href"] for r in xml_results(parse_multistatus(response.content))]
    paths = [urlsplit(href).path for href in hrefs]
    assert len(set(paths)) == 5 and not any(urlsplit(h).query for h in hrefs)
    assert paths[1] == "/api/contacts/~item/1"
    dereferenced = api.get(paths[1], HTTP_ACCEPT="application/json")
    assert dereferenced.status_code == 404
    assert dereferenced.json()["detail"].startswith("This URL names item 1 of a bulk request")
    assert api.put(paths[1], [], format="json").status_code == 405  # and changes nothing
