"""``send_batch``: long lists in safe requests, against a live demo behind a proxy that loses
answers, and against canned answers for the retry rules."""

from __future__ import annotations

import http.client
import http.server
import json
import sqlite3
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest
import requests

from drf_multistatus.client import BatchRefused, MultiStatusError, send_batch, send_file


class LosingProxy(http.server.ThreadingHTTPServer):
    """Forwards every request to ``upstream``; drops the answer of every ``drop_every``-th one
    after the server answered it (the client sees the connection close)."""

    daemon_threads = True

    def __init__(self, upstream: str, drop_every: int) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.upstream = urlsplit(upstream)
        self.drop_every = drop_every
        self.count = 0
        self.dropped = 0
        self.keys: list[str] = []
        self.lock = threading.Lock()


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LosingProxy

    def forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(self.server.upstream.netloc, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        content = answer.read()
        with self.server.lock:
            self.server.count += 1
            self.server.keys.append(self.headers.get("Idempotency-Key", ""))
            drop = self.server.count % self.server.drop_every == 0
            self.server.dropped += drop
        if drop:
            self.close_connection = True
            return
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET = forward

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy(demo) -> Iterator[tuple[str, LosingProxy]]:
    base, _database = demo
    server = LosingProxy(base, drop_every=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()


def rows(database, prefix: str) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT email, name FROM contacts_contact WHERE email LIKE ? ORDER BY email",
            (f"{prefix}%",),
        ).fetchall()


@pytest.mark.parametrize("library", ["requests", "httpx"])
def test_lost_answers_are_retried_and_every_item_lands_once(demo, proxy, library):
    _base, database = demo
    url, server = proxy
    prefix = f"lost-{library}-"
    items = [{"name": f"n{i}", "email": f"{prefix}{i:04d}@example.com"} for i in range(2500)]
    items[7] = {"name": "", "email": "invalid"}
    session = requests.Session() if library == "requests" else httpx.Client()
    with session:
        body = send_batch(
            session,
            f"{url}/api/contacts/",
            items,
            batch_size=1000,
            backoff=0.01,
            sleep=lambda s: None,
        )
    assert server.dropped >= 2
    assert [r.index for r in body] == list(range(2500))
    assert [r.status for r in body].count(201) == 2499
    assert body.results[7].status == 422
    assert body.summary == {
        "total": 2500,
        "succeeded": 2499,
        "failed": 1,
        "by_status": {"201": 2499, "422": 1},
    }
    stored = rows(database, prefix)
    assert len(stored) == 2499 == len({email for email, _name in stored})
    for result in body.succeeded:
        assert result.data["email"] == items[result.index]["email"]
    # Each lost answer was asked again with its own key, and only then.
    keys = [k for k in server.keys if k]
    assert len(set(keys)) == 3  # three requests of at most 1,000 items
    with pytest.raises(MultiStatusError):
        body.raise_for_failures()


def test_a_server_batch_limit_below_batch_size_halves_the_requests(demo):
    base, database = demo
    items = [{"name": "h", "email": f"half{i}@example.com"} for i in range(1500)]
    with requests.Session() as session:
        body = send_batch(session, f"{base}/api/contacts/", items, batch_size=3000)
    assert len(body) == 1500 and {r.status for r in body} == {201}
    assert len(rows(database, "half")) == 1500


def test_a_refused_request_raises(demo):
    base, _database = demo
    with requests.Session() as session, pytest.raises(BatchRefused) as refused:
        send_batch(session, f"{base}/api/tags/?atomic=false", [{"slug": "x", "label": "X"}])
    assert refused.value.status == 400 and refused.value.items == [0]


# Retry rules, on canned answers -----------------------------------------------------------------


class CannedSession:
    """Answers requests from a script; records what was sent."""

    def __init__(self, script):
        self.script = list(script)
        self.sent = []

    def request(self, method, url, headers, timeout, data):
        items = json.loads(data)
        self.sent.append((headers["Idempotency-Key"], items))
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, statuses, extra = answer
        if statuses is None:
            content = json.dumps({"detail": "busy"}).encode()
        else:
            results = [
                {
                    "index": i,
                    "status": code,
                    **({"data": item} if code < 300 else {"errors": {"detail": "x"}}),
                }
                for i, (item, code) in enumerate(zip(items, statuses, strict=True))
            ]
            content = json.dumps({"results": results, "summary": {}}).encode()
        headers = {"Content-Type": "application/json", **extra}
        return SimpleNamespace(status_code=status, headers=headers, content=content)


def test_retry_rules():
    items = [{"n": i} for i in range(4)]
    sleeps = []
    session = CannedSession(
        [
            requests.ConnectionError("lost"),  # transport error: same key
            (409, None, {"Retry-After": "3"}),  # twin still running: same key, waits 3 s
            (503, None, {}),  # whole answer 503: same key
            (207, [201, 503, 201, 422], {}),  # item 1 passing failure: new request
            (207, [201], {}),
        ]
    )
    body = send_batch(session, "http://x/", items, backoff=0.01, sleep=sleeps.append)
    assert [r.status for r in body] == [201, 201, 201, 422]
    assert [r.index for r in body] == [0, 1, 2, 3]
    assert body.results[1].data == {"n": 1}
    keys = [key for key, _items in session.sent]
    assert len(set(keys[:4])) == 1 and keys[4] != keys[0]
    assert session.sent[4][1] == [{"n": 1}]
    assert 3.0 in sleeps
    assert all(key.startswith('"') and key.endswith('"') for key in keys)


def test_transport_errors_give_up_after_the_retries():
    session = CannedSession([requests.ConnectionError("lost")] * 3)
    with pytest.raises(requests.ConnectionError):
        send_batch(session, "http://x/", [{"n": 1}], retries=2, sleep=lambda s: None)
    assert len({key for key, _ in session.sent}) == 1


def test_raise_on_failure():
    session = CannedSession([(207, [201, 422], {})])
    with pytest.raises(MultiStatusError) as error:
        send_batch(session, "http://x/", [{}, {}], raise_on_failure=True)
    assert [r.index for r in error.value.failures] == [1]


def test_send_batch_in_the_background(demo, tmp_path):
    from .conftest import demo_env
    from .test_workers import worker

    base, database = demo
    items = [{"name": "b", "email": f"bg{i}@example.com"} for i in range(3000)]
    with worker(demo_env(database), tmp_path / "worker.log"), requests.Session() as session:
        body = send_batch(session, f"{base}/api/contacts/", items, batch_size=2000, background=True)
    assert [r.index for r in body] == list(range(3000))
    assert {r.status for r in body} == {201}
    assert len(rows(database, "bg")) == 3000


def test_an_idempotency_key_makes_a_second_run_replay_the_first(demo):
    base, database = demo
    items = [{"name": "k", "email": f"keyed{i}@example.com"} for i in range(300)]
    items[5] = {"name": "k", "email": "not an email"}
    url = f"{base}/api/contacts/"
    with requests.Session() as session:
        session.auth = ("demo", "demo")
        first = send_batch(session, url, items, batch_size=100, idempotency_key="import-7")
        rows_after_first = rows(database, "keyed")
        second = send_batch(session, url, items, batch_size=100, idempotency_key="import-7")
        with pytest.raises(BatchRefused) as refused:  # the same key for other items
            send_batch(session, url, items[::-1], batch_size=100, idempotency_key="import-7")
    assert [(r.index, r.status) for r in second] == [(r.index, r.status) for r in first]
    assert [r.data for r in second] == [r.data for r in first]
    assert first.summary["by_status"] == {"201": 299, "422": 1}
    assert rows(database, "keyed") == rows_after_first and len(rows_after_first) == 299
    assert refused.value.status == 422


def test_derived_keys_are_stable_and_distinct_per_request():
    sessions = [CannedSession([(207, [201] * 2, {}), (207, [201, 503], {}), (207, [201], {})])]
    sessions.append(CannedSession([(207, [201] * 2, {}), (207, [201, 503], {}), (207, [201], {})]))
    for session in sessions:
        send_batch(session, "http://x/", [{}] * 4, batch_size=2, idempotency_key="run", sleep=id)
    keys = [[key for key, _items in session.sent] for session in sessions]
    assert keys[0] == keys[1]
    assert len(set(keys[0])) == 3 and all(k.startswith('"run-') for k in keys[0])


@pytest.mark.parametrize("library", ["requests", "httpx"])
def test_send_file_then_read_export_fix_and_retry(demo, tmp_path, library):
    from .conftest import demo_env
    from .test_workers import worker

    base, database = demo
    prefix = f"file-{library}-"
    lines = ["name,email,age"]
    for i in range(1200):
        email = "wrong" if i % 100 == 7 else f"{prefix}{i:04d}@example.com"
        lines.append(f"n{i},{email},{i % 90}")
    upload = tmp_path / "contacts.csv"
    upload.write_text("\r\n".join(lines) + "\r\n")
    url = f"{base}/api/contacts/"
    session = requests.Session() if library == "requests" else httpx.Client()
    session.auth = ("demo", "demo")
    with worker(demo_env(database), tmp_path / "worker.log"), session:
        job = send_file(session, url, upload, idempotency_key=f"upload-{library}")
        again = send_file(session, url, upload, idempotency_key=f"upload-{library}")
        assert again.url == job.url  # one job per key
        body = job.wait(interval=0.1, timeout=120)
        failed = [i for i in range(1200) if i % 100 == 7]
        assert [r.index for r in body.failed] == failed
        assert [r.index for r in job.results(status="failed", page_size=5)] == failed
        assert len(list(job.results(page_size=500))) == 1200

        retried = job.retry()
        assert [(r.index, r.status) for r in retried.wait(interval=0.1)] == [
            (i, 422) for i in failed
        ]

        export = tmp_path / "failed.csv"
        job.export(export, status="failed")
        fixed = export.read_text().replace(",wrong,", f",{prefix}fixed@example.com,", 1)
        fixed = fixed.replace(",wrong,", ",")  # the other rows lose the email they lacked
        export.write_text(fixed)
        rerun = send_file(session, url, export).wait(interval=0.1)
    assert [r.status for r in rerun] == [201] + [400] * (len(failed) - 1)  # email required
    assert len(rows(database, prefix)) == 1200 - len(failed) + 1
