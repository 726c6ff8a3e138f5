"""Every method each demo URL allows, sent to the live demo (DEBUG off): never a 5xx."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

URLS = [
    "/",
    "/api/",
    "/api/schema/",
    "/api/docs/",
    "/api/contacts/",
    "/api/contacts/1/",
    "/api/companies/",
    "/api/companies/2/",
    "/api/tags/",
    "/api/tags/work/",
    "/api/tags/~item/3",
    "/api-auth/login/",
]
BODIES = [None, b"[]", b"{}", b'[{"id": 1}]', b"[{", b"null"]


def send(base: str, method: str, path: str, body: bytes | None = None, **headers: str):
    request = urllib.request.Request(
        base + path,
        data=body,
        method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def allowed_methods(base: str, path: str) -> list[str]:
    status, headers, _body = send(base, "OPTIONS", path)
    assert status < 500, path
    allow = headers.get("Allow") or ""
    return sorted({m.strip() for m in allow.split(",") if m.strip()} | {"OPTIONS", "HEAD", "GET"})


def test_every_allowed_method_of_every_url_answers_without_a_server_error(demo):
    base, _database = demo
    seen = {}
    for path in URLS:
        for method in allowed_methods(base, path):
            for body in BODIES if method not in ("GET", "HEAD", "OPTIONS") else [None]:
                status, _headers, content = send(base, method, path, body)
                assert status < 500, (method, path, body, content[:500])
                assert b"Traceback" not in content
                seen[(path, method)] = status
    assert seen[("/api/contacts/", "DELETE")] in (207, 400)
    assert seen[("/api/contacts/", "OPTIONS")] == 200


def test_options_on_a_list_url_describes_bulk_put_and_post(demo):
    base, _database = demo
    status, headers, content = send(base, "OPTIONS", "/api/tags/")
    assert status == 200
    assert {"PUT", "PATCH", "DELETE", "POST"} <= set(headers["Allow"].replace(" ", "").split(","))
    actions = json.loads(content)["actions"]
    assert set(actions) == {"POST", "PUT"}
    assert set(actions["PUT"]) == {"slug", "label"}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_write_without_the_trailing_slash_is_a_clear_404(demo, method):
    base, _database = demo
    status, _headers, content = send(base, method, "/api/contacts", b"[]")
    assert status == 404
    assert json.loads(content) == {
        "detail": "Not found. Did you mean /api/contacts/ (with a trailing slash)?"
    }


def test_errors_show_no_debug_page(demo):
    base, _database = demo
    status, _headers, content = send(base, "GET", "/nowhere/")
    assert status == 404
    assert b"URLconf" not in content and b"Traceback" not in content
