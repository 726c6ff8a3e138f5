"""Batches sent as XML go through the same path as JSON; hostile XML is refused with 400."""

from __future__ import annotations

import pytest
from lxml import etree

from demo_project.contacts.models import Contact

from .conftest import parse_multistatus, xml_results

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
NS = 'xmlns:ms="urn:drf-multistatus" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def post_xml(api, body: str | bytes, method: str = "post", url: str = URL):
    return getattr(api, method)(
        url, body, content_type="application/xml", HTTP_ACCEPT="application/xml"
    )


def test_xml_batch_runs_like_json(api):
    body = f"""<?xml version="1.0" encoding="utf-8"?>
    <ms:data {NS}>
      <ms:item><ms:name>Ann</ms:name><ms:email>ann@example.com</ms:email><ms:age>30</ms:age></ms:item>
      <ms:item><ms:name>Bad</ms:name><ms:email>nope</ms:email></ms:item>
      <ms:item><ms:name>Nil</ms:name><ms:email>nil@example.com</ms:email><ms:age xsi:nil="true"/></ms:item>
    </ms:data>"""
    response = post_xml(api, body)
    results = xml_results(parse_multistatus(response.content))
    assert [r["status"] for r in results] == [201, 422, 201]
    assert Contact.objects.get(email="ann@example.com").age == 30
    assert Contact.objects.get(email="nil@example.com").age is None

    ann = Contact.objects.get(email="ann@example.com")
    update = (
        f"<ms:data {NS}><ms:item><ms:id>{ann.id}</ms:id><ms:age>31</ms:age></ms:item></ms:data>"
    )
    response = post_xml(api, update, method="patch")
    assert [r["status"] for r in xml_results(parse_multistatus(response.content))] == [200]
    ann.refresh_from_db()
    assert ann.age == 31


def test_what_the_renderer_writes_the_parser_reads(api):
    Contact.objects.create(name="Ann", email="ann@example.com", age=3)
    listing = api.get(URL + "?format=xml").content  # an ms:data document with ms:item rows
    Contact.objects.all().delete()
    response = post_xml(api, listing)
    assert [r["status"] for r in xml_results(parse_multistatus(response.content))] == [201]
    assert Contact.objects.get().age == 3


def test_single_object_and_empty_batch(api):
    single = post_xml(
        api, f"<ms:data {NS}><ms:name>Solo</ms:name><ms:email>s@example.com</ms:email></ms:data>"
    )
    assert single.status_code == 201
    empty = post_xml(api, f"<ms:data {NS}/>")
    assert empty.status_code == 207
    assert parse_multistatus(empty.content).findall("{DAV:}response") == []


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ms:data xmlns:ms="urn:drf-multistatus"><ms:item><ms:name>&lol9;</ms:name><ms:email>x@example.com</ms:email></ms:item></ms:data>"""

XXE_FILE = """<?xml version="1.0"?>
<!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ms:data xmlns:ms="urn:drf-multistatus"><ms:item><ms:name>&xxe;</ms:name><ms:email>x@example.com</ms:email></ms:item></ms:data>"""

XXE_NETWORK = """<?xml version="1.0"?>
<!DOCTYPE data [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">]>
<ms:data xmlns:ms="urn:drf-multistatus"><ms:item><ms:name>&xxe;</ms:name><ms:email>x@example.com</ms:email></ms:item></ms:data>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE data SYSTEM "http://127.0.0.1:9/evil.dtd">
<ms:data xmlns:ms="urn:drf-multistatus"/>"""


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, XXE_FILE, XXE_NETWORK, EXTERNAL_DTD],
    ids=["billion-laughs", "xxe-file", "xxe-network", "external-dtd"],
)
def test_entity_attacks_are_refused(api, body):
    response = api.post(URL, body, content_type="application/xml")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "XML parse error - DTDs and entity declarations are not allowed."
    }
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("<ms:data xmlns:ms='urn:drf-multistatus'><ms:item>", "XML parse error - "),
        ("<batch><item/></batch>", 'XML parse error - the root element must be "data"'),
        (
            b"<?xml version='1.0' encoding='utf-8'?><ms:data xmlns:ms='urn:drf-multistatus'>\xff</ms:data>",
            "XML parse error - ",
        ),
    ],
    ids=["not-well-formed", "wrong-root", "bad-encoding"],
)
def test_malformed_xml_is_400(api, body, detail):
    response = api.post(URL, body, content_type="application/xml")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_xml_error_body_for_a_refused_document(api):
    response = api.post(
        URL, XXE_FILE, content_type="application/xml", HTTP_ACCEPT="application/xml"
    )
    root = etree.fromstring(response.content)
    assert root.tag == "{DAV:}error"
    assert "passwd" not in response.content.decode()
