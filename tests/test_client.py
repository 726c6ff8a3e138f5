"""drf_multistatus.client reads 207 bodies: ours in JSON and XML, and other WebDAV servers'."""

from __future__ import annotations

import subprocess
import sys

import pytest

from demo_project.contacts.models import Contact
from drf_multistatus.client import MultiStatusError, from_response, parse

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
BATCH = [
    {"name": "Ann", "email": "ann@example.com", "age": 30},
    {"name": "", "email": "bad"},
    {"name": "Twin", "email": "ann@example.com"},
    [1, 2],
]


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_reads_our_bodies_in_both_formats(api, accept):
    body = from_response(api.post(URL, BATCH, format="json", HTTP_ACCEPT=accept))
    assert body.status == 207
    assert [(r.index, r.status) for r in body] == [(0, 201), (1, 422), (2, 409), (3, 400)]
    ann = Contact.objects.get(email="ann@example.com")
    assert body.results[0].href == f"http://testserver/api/contacts/{ann.id}/"
    assert str(body.results[0].data["email"]) == "ann@example.com"
    assert [r.index for r in body.succeeded] == [0]
    assert [r.index for r in body.failed] == [1, 2, 3]
    assert body.results[2].description == "email: contact with this email already exists."
    assert body.results[2].errors == {"email": ["contact with this email already exists."]}
    assert body.retryable == []
    with pytest.raises(MultiStatusError) as exc:
        body.raise_for_failures()
    assert [r.index for r in exc.value.failures] == [1, 2, 3]
    assert str(exc.value).startswith("3 item(s) failed; first: item 1 422 ")


def test_retry_only_what_was_not_done(api):
    batch = [{"name": "A", "email": "a@example.com"}, {"name": "B", "email": "bad"}]
    body = from_response(api.post(URL + "?atomic=true", batch, format="json"))
    assert [r.status for r in body] == [424, 422]
    assert body.atomic is True
    assert body.items_to_retry(batch) == [batch[0]]
    fixed = [*body.items_to_retry(batch), {"name": "B", "email": "b@example.com"}]
    body = from_response(api.post(URL + "?atomic=true", fixed, format="json"))
    body.raise_for_failures()
    assert Contact.objects.count() == 2


def test_imports_without_django():
    code = (
        "import sys, drf_multistatus.client as c;"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')];"
        'print(len(c.parse(b\'{"results": [{"index": 0, "status": 201}]}\', \'application/json\')))'
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1"


# Bodies shaped like the examples of RFC 4918 §9 -------------------------------------------------

DELETE_LOCKED = b"""<?xml version="1.0" encoding="utf-8" ?>
<d:multistatus xmlns:d="DAV:">
  <d:response>
    <d:href>http://www.example.com/container/resource3</d:href>
    <d:status>HTTP/1.1 423 Locked</d:status>
    <d:error><d:lock-token-submitted/></d:error>
  </d:response>
</d:multistatus>"""

PROPPATCH_FAILED = b"""<?xml version="1.0" encoding="utf-8" ?>
<D:multistatus xmlns:D="DAV:" xmlns:Z="http://ns.example.com/standards/z39.50/">
  <D:response>
    <D:href>http://www.example.com/bar.html</D:href>
    <D:propstat>
      <D:prop><Z:Authors/></D:prop>
      <D:status>HTTP/1.1 424 Failed Dependency</D:status>
    </D:propstat>
    <D:propstat>
      <D:prop><Z:Copyright-Owner/></D:prop>
      <D:status>HTTP/1.1 409 Conflict</D:status>
    </D:propstat>
    <D:responsedescription>Copyright Owner cannot be deleted or altered.</D:responsedescription>
  </D:response>
</D:multistatus>"""

PROPFIND = b"""<?xml version="1.0" encoding="utf-8" ?>
<D:multistatus xmlns:D="DAV:">
  <D:response xmlns:R="http://ns.example.com/boxschema/">
    <D:href>http://www.example.com/file</D:href>
    <D:propstat>
      <D:prop>
        <R:bigbox><R:BoxType>Box type A</R:BoxType></R:bigbox>
        <R:author>J.J. Johnson</R:author>
      </D:prop>
      <D:status>HTTP/1.1 200 OK</D:status>
    </D:propstat>
    <D:propstat>
      <D:prop><R:DingALing/><R:Random/></D:prop>
      <D:status>HTTP/1.1 403 Forbidden</D:status>
      <D:responsedescription>The user may not read DingALing.</D:responsedescription>
    </D:propstat>
  </D:response>
  <D:responsedescription>There has been an access violation error.</D:responsedescription>
</D:multistatus>"""

COPY_PARTIAL = b"""<?xml version="1.0" encoding="utf-8" ?>
<d:multistatus xmlns:d="DAV:">
  <d:response>
    <d:href>http://www.example.com/othercontainer/R2/</d:href>
    <d:href>http://www.example.com/othercontainer/R3/</d:href>
    <d:status>HTTP/1.1 412 Precondition Failed</d:status>
  </d:response>
</d:multistatus>"""


def test_delete_with_a_locked_member():
    body = parse(DELETE_LOCKED, "application/xml; charset=utf-8")
    (result,) = body.results
    assert (result.index, result.status, result.succeeded) == (0, 423, False)
    assert result.href == "http://www.example.com/container/resource3"
    assert result.conditions == ("{DAV:}lock-token-submitted",)
    assert not result.retryable


def test_proppatch_with_propstats():
    (result,) = parse(PROPPATCH_FAILED, "text/xml").results
    assert result.status == 409  # the root cause, not the 424 it caused
    assert [p.status for p in result.propstats] == [424, 409]
    assert list(result.propstats[1].props) == [
        "{http://ns.example.com/standards/z39.50/}Copyright-Owner"
    ]
    assert result.errors == {"detail": ["Copyright Owner cannot be deleted or altered."]}


def test_propfind_with_found_and_forbidden_properties():
    body = parse(PROPFIND, "application/xml")
    (result,) = body.results
    assert result.status == 403
    box = "{http://ns.example.com/boxschema/}"
    assert result.data == {
        f"{box}bigbox": {"BoxType": "Box type A"},
        f"{box}author": "J.J. Johnson",
    }
    assert result.propstats[1].description == "The user may not read DingALing."
    assert body.description == "There has been an access violation error."


def test_one_status_for_several_hrefs():
    body = parse(COPY_PARTIAL, "application/xml")
    assert [(r.index, r.href, r.status) for r in body] == [
        (0, "http://www.example.com/othercontainer/R2/", 412),
        (1, "http://www.example.com/othercontainer/R3/", 412),
    ]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"<x/>", "application/xml"), (b'{"a": 1}', "application/json"), (b"hello", "text/plain")],
)
def test_what_is_not_a_multistatus_body_is_an_error(content, content_type):
    with pytest.raises(ValueError):
        parse(content, content_type)


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_reads_a_requests_response_from_a_live_server(demo, accept):
    import requests

    base, _database = demo
    batch = [{"name": "Live", "email": f"live-{accept[12:]}@example.com"}, {"name": ""}]
    response = requests.post(
        f"{base}/api/contacts/", json=batch, headers={"Accept": accept}, timeout=30
    )
    body = from_response(response)
    assert body.status == 207
    assert [r.status for r in body] == [201, 422]
    assert body.results[0].href.startswith(f"{base}/api/contacts/")
    assert body.items_to_retry(batch) == []


def test_a_guarded_edit_sends_back_the_etag_a_result_gave(demo):
    """Each result's ``etag`` is the ``_if_match`` of the object's next guarded write: sent
    once it matches, sent again (the object has moved on) it is 412."""
    import requests

    from drf_multistatus.client import send_batch

    base, _database = demo
    url = f"{base}/api/contacts/"
    with requests.Session() as session:
        created = send_batch(session, url, [{"name": "Guarded", "email": "guarded@example.com"}])
        (result,) = created.results
        assert result.status == 201 and result.etag
        edit = [{"id": result.data["id"], "age": 33, "_if_match": result.etag}]
        first = send_batch(session, url, edit, "PATCH")
        assert [(r.status, r.etag != result.etag) for r in first] == [(200, True)]
        again = send_batch(session, url, edit, "PATCH")
        assert [(r.status, r.code, r.etag) for r in again] == [(412, "precondition_failed", None)]
        detail = session.get(f"{url}{result.data['id']}/", timeout=30)
        assert detail.headers["ETag"] == first.results[0].etag
        assert detail.json()["age"] == 33
