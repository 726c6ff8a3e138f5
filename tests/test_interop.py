"""WebDAV client libraries from PyPI read the demo's XML bodies item by item.

Every kind of body the live demo produces (mixed upserts, atomic 424s, updates with unknown
targets, deletes, ``return=minimal``, slug-keyed tags in the propstat style) is fetched twice with
one ``Idempotency-Key``: once as JSON, then replayed as XML, so both bodies describe the same
outcome. Each library then reads the XML through the function its own client applies to a 207,
and must see one entry per item, with the JSON body's status wherever it exposes a status. Where
a library cannot read a valid body, the test pins down how it fails, as the README's
compatibility table records it.
"""

from __future__ import annotations

import base64
import http.client
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from drf_multistatus.client import parse

AUTH = ("demo", "demo")
CALDAV_STATUSES = {200, 201, 207, 404}  # caldav raises on any other status in a body


@dataclass
class Body:
    """One outcome of the live demo, as its JSON and its XML body."""

    name: str
    method: str
    url: str
    headers: dict[str, str]
    items: list[Any]
    json: dict[str, Any]
    xml: httpx.Response
    statuses: list[int] = field(init=False)
    plain: list[bool] = field(init=False)  # a d:status response, without d:propstat
    all_statuses: set[int] = field(init=False)  # of the responses and of their propstats

    def __post_init__(self) -> None:
        self.statuses = [entry["status"] for entry in self.json["results"]]
        results = parse(self.xml.content, self.xml.headers["Content-Type"]).results
        self.plain = [not result.propstats for result in results]
        self.all_statuses = {r.status for r in results} | {
            p.status for r in results for p in r.propstats
        }

    @property
    def text(self) -> str:
        return self.xml.text

    def replay(self) -> http.client.HTTPResponse:
        """The XML body again, over ``http.client`` (what tinydav wraps)."""
        request = httpx.Request(self.method, self.url, json=self.items, headers=self.headers)
        request.headers.update({"Accept": "application/xml", **basic_auth()})
        connection = http.client.HTTPConnection(request.url.host, request.url.port, timeout=30)
        connection.request(
            self.method, request.url.raw_path.decode(), request.content, request.headers
        )
        return connection.getresponse()


def basic_auth() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(":".join(AUTH).encode()).decode()}


def send(base: str, name: str, method: str, path: str, items: list[Any], **headers: str) -> Body:
    """The batch sent as JSON, then the same request replayed (same key) as XML."""
    headers = {"Idempotency-Key": str(uuid.uuid4()), **headers}
    url = base + path
    with httpx.Client(auth=AUTH, timeout=30) as client:
        answered = client.request(method, url, json=items, headers=headers)
        assert answered.status_code == 207, answered.text
        replayed = client.request(
            method, url, json=items, headers={**headers, "Accept": "application/xml"}
        )
    assert replayed.status_code == 207 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.headers["Content-Type"].startswith("application/xml")
    return Body(name, method, url, headers, items, answered.json(), replayed)


@pytest.fixture(scope="module")
def bodies(demo) -> dict[str, Body]:
    base, _database = demo
    made: dict[str, Body] = {}

    def add(*args: Any, **headers: str) -> Body:
        body = send(base, *args, **headers)
        assert len(body.statuses) == 10
        made[body.name] = body
        return body

    merge = {"Prefer": "resolution=merge-duplicates"}
    upserted = add(
        "contacts: mixed upsert",
        "POST",
        "/api/contacts/",
        [
            {"name": "Ada L.", "email": "ada@example.com"},
            {"name": "New One", "email": "n1@x.io"},
            {"name": "", "email": "bad"},
            {"name": "New Two", "email": "n2@x.io", "age": 30},
            {"name": "Dup", "email": "n2@x.io"},
            "text",
            {"name": "Alan", "email": "alan@example.com", "company": 10**6},
            {"name": "Grace H", "email": "grace@example.com", "age": 86},
            {"name": "N3", "email": "n3@x.io", "age": "old"},
            {"name": "N4", "email": "n4@x.io"},
        ],
        **merge,
    )
    assert upserted.statuses == [200, 201, 422, 201, 409, 400, 422, 200, 422, 201]
    ids = [e["data"]["id"] for e in upserted.json["results"] if e["status"] < 300]
    add(
        "contacts: atomic create, one invalid",
        "POST",
        "/api/contacts/?atomic=true",
        [{"name": f"Atom {n}", "email": f"atom{n}@x.io"} for n in range(9)]
        + [{"name": "Atom", "email": "not-an-email"}],
    )
    add(
        "contacts: mixed update",
        "PATCH",
        "/api/contacts/",
        [
            {"id": ids[0], "age": 37},
            {"id": 10**9, "age": 1},
            {"id": ids[0], "age": 38},
            {"age": 3},
            {"id": ids[1], "email": "bad"},
            {"id": "abc", "age": 1},
            {"id": ids[2], "age": 31},
            {"id": ids[3], "name": ""},
            {"id": ids[4], "age": 40},
            [ids[4]],
        ],
    )
    add(
        "contacts: updated or not found",
        "PATCH",
        "/api/contacts/",
        [{"id": pk, "age": 50} for pk in ids] + [{"id": 10**9 + n, "age": 1} for n in range(5)],
    )
    add(
        "contacts: return=minimal",
        "POST",
        "/api/contacts/",
        [{"name": f"Min {n}", "email": f"min{n}@x.io"} for n in range(8)]
        + [{"name": "Min", "email": "min0@x.io"}, {"email": "min9@x.io"}],
        Prefer="return=minimal",
    )
    companies = send(
        base, "setup", "POST", "/api/companies/", [{"name": f"Co {n}"} for n in range(7)]
    )
    referenced = httpx.get(f"{base}/api/contacts/{ids[0]}/", auth=AUTH).json()["company"]
    add(
        "companies: mixed delete",
        "DELETE",
        "/api/companies/",
        [{"id": e["data"]["id"]} for e in companies.json["results"]]
        + [{"id": referenced}, {"id": 10**9}, {"id": companies.json["results"][0]["data"]["id"]}],
    )
    slugs = [f"tag-{n}" for n in range(10)]
    add(
        "tags: created",
        "POST",
        "/api/tags/",
        [{"slug": slug, "label": slug.title()} for slug in slugs],
    )
    add(
        "tags: atomic create refused",
        "POST",
        "/api/tags/",
        [{"slug": f"new-{n}", "label": "New"} for n in range(8)]
        + [{"slug": "", "label": "Blank"}, {"slug": "tag-1", "label": "Taken"}],
    )
    add(
        "tags: updated",
        "PATCH",
        "/api/tags/",
        [{"slug": slug, "label": slug.upper()} for slug in slugs],
    )
    add(
        "tags: atomic update with an unknown slug",
        "PATCH",
        "/api/tags/",
        [{"slug": slug, "label": "Again"} for slug in slugs[:9]] + [{"slug": "nope", "label": "x"}],
    )
    add("tags: deleted", "DELETE", "/api/tags/", [{"slug": slug} for slug in slugs])
    return made


KINDS = [
    "contacts: mixed upsert",
    "contacts: atomic create, one invalid",
    "contacts: mixed update",
    "contacts: updated or not found",
    "contacts: return=minimal",
    "companies: mixed delete",
    "tags: created",
    "tags: atomic create refused",
    "tags: updated",
    "tags: atomic update with an unknown slug",
    "tags: deleted",
]
kinds = pytest.mark.parametrize("kind", KINDS)
#: Every item of these a d:propstat response; tinydav and pyocclient read only such bodies.
ALL_PROPSTAT = {"tags: created", "tags: atomic create refused", "tags: updated"}
#: Every status in these within caldav's list.
CALDAV_READABLE = {"contacts: updated or not found", "tags: created", "tags: updated"}


def test_urllib3_is_still_urllib3():
    """niquests (caldav's and nc-py-api's) brings urllib3-future, which replaces urllib3 in the
    virtualenv unless built as the Makefile builds it; requests and schemathesis break then."""
    import importlib.metadata

    import urllib3

    assert urllib3.__version__ == importlib.metadata.version("urllib3")


def test_the_bodies_cover_every_kind_of_outcome(bodies):
    statuses = {status for body in bodies.values() for status in body.statuses}
    assert statuses == {200, 201, 204, 400, 404, 409, 422, 424}
    for kind, body in bodies.items():
        assert (not any(body.plain)) is (kind in ALL_PROPSTAT), kind
        assert (body.all_statuses <= CALDAV_STATUSES) is (kind in CALDAV_READABLE), kind
        if kind.startswith("contacts") or kind == "tags: deleted":
            assert all(body.plain), kind  # the status style, and 204s in the propstat style
    # In the propstat style, a 404 keeps d:status; the items not run for it are 424 propstats.
    assert bodies["tags: atomic update with an unknown slug"].plain == [False] * 9 + [True]


@kinds
def test_our_client_reads_the_same_result_from_both_formats(bodies, kind):
    body = bodies[kind]
    from_json = parse(httpx.Response(207, json=body.json).content, "application/json", 207)
    assert parse(body.xml.content, body.xml.headers["Content-Type"], 207) == from_json


def distinct_paths(hrefs: list[str]) -> int:
    return len({urlsplit(href).path for href in hrefs})


@kinds
def test_webdav4(bodies, kind):
    from webdav4.multistatus import MultiStatusResponse, MultiStatusResponseError

    body = bodies[kind]
    multistatus = MultiStatusResponse(body.text)
    responses = list(multistatus.responses.values())  # keyed by path: one entry per item
    assert len(responses) == len(body.statuses)
    # webdav4 reads a response's own d:status, never a propstat's.
    expected = [s if plain else None for s, plain in zip(body.statuses, body.plain, strict=True)]
    assert [response.status_code for response in responses] == expected
    failed = [s for s, status in zip(body.statuses, expected, strict=True) if status and s >= 400]
    if failed:
        with pytest.raises(MultiStatusResponseError) as raised:
            multistatus.raise_for_status()
        assert len(raised.value.statuses) == len(failed)
    else:
        multistatus.raise_for_status()


@kinds
def test_webdavclient3(bodies, kind):
    from webdav3.client import WebDavXmlUtils

    body = bodies[kind]
    urns = WebDavXmlUtils.parse_get_list_response(body.xml.content)
    assert len({urn.path() for urn in urns}) == len(urns) == len(body.statuses)
    assert len(WebDavXmlUtils.parse_get_list_info_response(body.xml.content)) == len(urns)


@kinds
def test_aiodav(bodies, kind):
    from aiodav.utils import WebDavXmlUtils

    body = bodies[kind]
    urns = WebDavXmlUtils.parse_get_list_response(body.text)
    assert len({urn.path() for urn in urns}) == len(urns) == len(body.statuses)


@kinds
def test_vdirsyncer(bodies, kind):
    from vdirsyncer.storage.dav import _normalize_href, _parse_xml

    body = bodies[kind]
    root = _parse_xml(body.xml.content)
    hrefs = [
        _normalize_href(body.url, response.findtext("{DAV:}href"))
        for response in root.iter("{DAV:}response")
    ]
    assert len(set(hrefs)) == len(hrefs) == len(body.statuses)


@kinds
def test_nc_py_api(bodies, kind):
    from nc_py_api.files._files import _webdav_response_to_records

    body = bodies[kind]
    records = _webdav_response_to_records(body.xml, "bulk")

    def status(record: dict) -> int:
        line = record.get("d:status")
        if line is None:  # the first propstat: the item's status, as the writer orders them
            propstats = record["d:propstat"]
            line = (propstats if isinstance(propstats, list) else [propstats])[0]["d:status"]
        return int(line.split()[1])

    assert [status(record) for record in records] == body.statuses
    assert distinct_paths([record["d:href"] for record in records]) == len(records)


@kinds
def test_tinydav(bodies, kind):
    """tinydav reads an item's status from its first propstat only: it reads the propstat style,
    and fails on a response of href and status, which RFC 4918 allows."""
    import tinydav

    body = bodies[kind]
    response = tinydav.WebDAVResponse(body.replay())
    assert len(response) == len(body.statuses)
    if kind not in ALL_PROPSTAT:
        with pytest.raises(AttributeError, match="split"):
            list(response)
        return
    items = list(response)
    assert [int(item) for item in items] == body.statuses
    assert distinct_paths([item.href for item in items]) == len(items)


@kinds
def test_pyocclient(bodies, kind):
    """pyocclient takes each item's properties from its first propstat and exposes no status:
    it reads the propstat style, and fails on a response of href and status."""
    import owncloud

    body = bodies[kind]
    client = owncloud.Client(body.url.split("/api/")[0] + "/")
    client._davpath = "/api"  # what logging in to an ownCloud server sets
    if kind not in ALL_PROPSTAT:
        with pytest.raises(AttributeError, match="find"):
            client._parse_dav_response(body.xml)
        return
    files = client._parse_dav_response(body.xml)
    assert len({file.path for file in files}) == len(files) == len(body.statuses)


@kinds
def test_caldav(bodies, kind):
    """caldav raises on any status but 200, 201, 207 and 404, wherever it stands: no valid body
    can report a failed item to it. Bodies within that list it reads item by item."""
    from caldav.lib.error import ResponseError
    from caldav.response import DAVResponse

    body = bodies[kind]
    response = DAVResponse(body.xml)
    if kind not in CALDAV_READABLE:
        with pytest.raises(ResponseError):
            response.parse_propfind()
        return
    results = response.parse_propfind()
    assert len({result.href for result in results}) == len(results) == len(body.statuses)
    plain = [r.status for r, is_plain in zip(results, body.plain, strict=True) if is_plain]
    assert plain == [s for s, is_plain in zip(body.statuses, body.plain, strict=True) if is_plain]
