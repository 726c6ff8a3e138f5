from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from lxml import etree
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parent.parent
DAV = "DAV:"
MS = "urn:drf-multistatus"
NS = {"D": DAV, "d": DAV, "ms": MS}
STATUS_LINE = re.compile(r"^HTTP/1\.1 ([2-5]\d\d) [A-Za-z][A-Za-z -]*$")
SCHEMA = etree.RelaxNG(etree.parse(Path(__file__).with_name("dav_multistatus.rng")))


#: Modules whose every test starts servers, workers or a browser; with the tests that use the
#: live ``demo``, they are marked ``slow`` (``make test-fast`` leaves them out).
SLOW_MODULES = {
    "tests.test_browser",
    "tests.test_concurrency",
    "tests.test_demo_urls",
    "tests.test_interop",
    "tests.test_readme",
    "tests.test_workers",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        if getattr(module, "__name__", "") in SLOW_MODULES or "demo" in item.fixturenames:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def run_jobs(monkeypatch, django_capture_on_commit_callbacks):
    """Jobs are enqueued once the request's transaction commits; the test's transaction never
    does, so each request's commit callbacks run as it ends (the immediate task backend then
    runs the job before the response is returned)."""
    original = APIClient.generic

    def generic(self, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return original(self, *args, **kwargs)

    monkeypatch.setattr(APIClient, "generic", generic)


def make_user(name: str, *permissions: str):
    user = get_user_model().objects.create_user(name, password="pw")
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    return user


NOTE_PERMISSIONS = ("add_note", "change_note", "view_note")


@pytest.fixture
def user(db):
    return make_user("ann", *NOTE_PERMISSIONS)


@pytest.fixture
def other_user(db):
    return make_user("bob", *NOTE_PERMISSIONS)


def parse_multistatus(content: bytes) -> etree._Element:
    """Parse a 207 XML body and check it against RFC 4918 §13/§14; return the root."""
    root = etree.fromstring(content, etree.XMLParser(resolve_entities=False))
    assert root.tag == f"{{{DAV}}}multistatus"
    assert SCHEMA.validate(root), SCHEMA.error_log
    hrefs = root.xpath("D:response/D:href/text()", namespaces=NS)
    assert len(hrefs) == len(set(hrefs)), "an href appears twice"
    for href in hrefs:
        parts = urlsplit(href)
        assert parts.scheme and parts.netloc, f"not an absolute URI: {href}"
        assert "#" not in href, f"fragment in href: {href}"
    for status in root.xpath("D:response/D:status/text()", namespaces=NS):
        assert STATUS_LINE.match(status), status
    return root


def xml_results(root: etree._Element) -> list[dict]:
    """The responses of a multistatus document as dicts: index, status, href, errors."""
    results = []
    for response in root.findall(f"{{{DAV}}}response"):
        status = response.findtext(f"{{{DAV}}}status")
        results.append(
            {
                "index": int(response.findtext(f"{{{MS}}}index")),
                "status": int(status.split()[1]),
                "href": response.findtext(f"{{{DAV}}}href"),
                "description": response.findtext(f"{{{DAV}}}responsedescription"),
                "errors": [
                    (error.get("field"), error.get("code"), error.text)
                    for error in response.iterfind(f"{{{DAV}}}error/{{{MS}}}error")
                ],
                "data": response.find(f"{{{MS}}}data"),
            }
        )
    return results


def statuses(response) -> list[int]:
    return [result["status"] for result in response.json()["results"]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_env(database: Path | None = None, **extra: str) -> dict[str, str]:
    """Environment for running the demo project in a subprocess."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_project.settings", **extra}
    if database is not None:
        env["DEMO_SQLITE_PATH"] = str(database)
        env.pop("DATABASE_URL", None)
    return env


def manage(env: dict[str, str], *command: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *command],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
    )


@contextlib.contextmanager
def serve(env: dict[str, str], server: str, log: Path, workers: int = 2) -> Iterator[str]:
    """The demo served on 127.0.0.1 by ``server`` ("runserver" or "gunicorn"); yields its base
    URL once it answers, and stops it afterwards."""
    port = free_port()
    if server == "gunicorn":
        command = [sys.executable, "-m", "gunicorn", "demo_project.wsgi"]
        command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60"]
    else:
        command = [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload"]
        command += [f"127.0.0.1:{port}"]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=output
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{base}/api/", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def scratch_database(label: str) -> Iterator[str]:
    """A PostgreSQL database of its own (for servers and workers a test starts), dropped after;
    without PostgreSQL the test fails in CI and is skipped elsewhere."""
    import psycopg

    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"no PostgreSQL at {PG_URL}")
    name = f"drf_multistatus_{label}_{os.getpid()}"
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The demo project on a fresh SQLite file, served by Django's HTTP server on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("demo")
    database = folder / "demo.sqlite3"
    env = demo_env(database)
    manage(env, "migrate", "-v0")
    manage(env, "seed_demo")
    with serve(env, "runserver", folder / "server.log") as base:
        yield base, database
