"""Background jobs run by real worker processes: the database backend (``db_worker``) on SQLite
and PostgreSQL, and RQ on Redis (``rqworker``), against the demo served over HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from drf_multistatus.client import wait_for_job

from .conftest import ROOT, demo_env, manage, scratch_database, serve

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7")
ASYNC = {"Prefer": "respond-async"}
# django-rq's worker, with the job class of django-tasks-rq's backend.
RQ_WORKER = ("rqworker", "default", "--job-class", "django_tasks_rq.backend.Job")


@contextlib.contextmanager
def worker(env: dict[str, str], log: Path, *command: str) -> Iterator[subprocess.Popen]:
    command = command or ("db_worker", "--interval", "0.1", "--no-startup-delay", "--no-reload")
    with log.open("a") as output:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *command],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


CREATE_EVE = (
    "from django.contrib.auth.models import User; User.objects.create_user('eve', password='eve')"
)


def contacts(n: int, prefix: str) -> list[dict]:
    return [{"name": f"n{i}", "email": f"{prefix}{i}@example.com"} for i in range(n)]


def submit(session: requests.Session, base: str, items: list, **headers: str) -> str:
    response = session.post(f"{base}/api/contacts/", json=items, headers={**ASYNC, **headers})
    assert response.status_code == 202, response.text[:500]
    return response.headers["Location"]


def check_against_database(body, items, rows: dict[str, int]) -> None:
    """Every 201 is a row with the reported id; every failure left none."""
    assert [r.index for r in body] == list(range(len(items)))
    for result, item in zip(body, items, strict=True):
        if result.status == 201:
            assert rows[item["email"]] == result.data["id"]
        elif item["email"] not in {i["email"] for i in items[: result.index]}:
            assert item["email"] not in rows


def sqlite_rows(database: Path, prefix: str) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        return dict(
            connection.execute(
                "SELECT email, id FROM contacts_contact WHERE email LIKE ?", (f"{prefix}%",)
            ).fetchall()
        )


def test_database_worker_on_sqlite(tmp_path):
    database = tmp_path / "demo.sqlite3"
    env = demo_env(database, DJANGO_DEBUG="0", DEMO_JOB_CHUNK_SIZE="500")
    manage(env, "migrate", "-v0")
    manage(env, "seed_demo")
    manage(env, "shell", "-c", CREATE_EVE)
    items = contacts(3000, "sq")
    items[10] = {"name": "", "email": "not-an-email"}
    items[20] = dict(items[5])  # a duplicate of an earlier item, in the same chunk
    items[2000] = dict(items[30])  # and in another chunk
    log = tmp_path / "worker.log"
    with serve(env, "runserver", tmp_path / "server.log") as base, worker(env, log):
        session = requests.Session()
        session.auth = ("demo", "demo")
        url = submit(session, base, items)
        other = requests.Session()
        other.auth = ("eve", "eve")
        assert other.get(url).status_code == 404
        assert requests.get(url).status_code == 404  # anonymous
        progress = []
        body = wait_for_job(session, url, interval=0.1, timeout=120, on_progress=progress.append)
        xml = session.get(url, headers={"Accept": "application/xml"})
    assert body.status == 207
    assert xml.status_code == 207 and xml.text.count("<d:response>") == 3000
    statuses = [r.status for r in body]
    assert statuses.count(201) == 2997
    assert statuses[10] == 422 and statuses[20] == 409 and statuses[2000] == 409
    check_against_database(body, items, sqlite_rows(database, "sq"))
    assert body.summary["by_status"] == {"201": 2997, "409": 2, "422": 1}
    text = log.read_text() + (tmp_path / "server.log").read_text()
    assert "database is locked" not in text


@pytest.fixture(scope="module")
def job_database() -> Iterator[str]:
    with scratch_database("jobs") as url:
        yield url


def pg_rows(url: str, prefix: str) -> dict[str, int]:
    with psycopg.connect(url) as db:
        return dict(
            db.execute(
                "SELECT email, id FROM contacts_contact WHERE email LIKE %s", (f"{prefix}%",)
            ).fetchall()
        )


@pytest.fixture(scope="module")
def pg_demo(job_database, tmp_path_factory) -> Iterator[tuple[str, dict, Path]]:
    folder = tmp_path_factory.mktemp("pg-jobs")
    env = demo_env(
        DATABASE_URL=job_database,
        DJANGO_DEBUG="0",
        DEMO_JOB_CHUNK_SIZE="250",
        DEMO_JOB_STALE_AFTER="3",
    )
    manage(env, "migrate", "-v0")
    manage(env, "seed_demo")
    with serve(env, "gunicorn", folder / "gunicorn.log", workers=2) as base:
        yield base, env, folder


def test_database_worker_on_postgresql_survives_kill_9(pg_demo, job_database):
    """A worker killed mid-job loses at most the chunk in flight; the job resumes when a new
    worker runs and the job's heartbeat is found stale: every item exactly once."""
    base, env, folder = pg_demo
    items = contacts(12_000, "kill")
    session = requests.Session()
    session.auth = ("demo", "demo")
    log = folder / "worker.log"
    with worker(env, log) as first:
        url = submit(session, base, items)
        deadline = time.monotonic() + 60
        while session.get(url).json()["done"] < 1000:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    killed_at = session.get(url).json()
    assert killed_at["state"] == "running" and killed_at["done"] < 12_000
    with worker(env, log):
        body = wait_for_job(session, url, interval=0.2, timeout=180)
    assert [r.status for r in body] == [201] * 12_000
    rows = pg_rows(job_database, "kill")
    assert len(rows) == 12_000
    check_against_database(body, items, rows)


def test_cancel_with_a_real_worker(pg_demo, job_database):
    base, env, folder = pg_demo
    items = contacts(20_000, "cancel")
    session = requests.Session()
    session.auth = ("demo", "demo")
    with worker(env, folder / "worker.log"):
        url = submit(session, base, items)
        while session.get(url).json()["done"] < 500:
            time.sleep(0.02)
        assert session.delete(url).status_code == 202
        body = wait_for_job(session, url, interval=0.1, timeout=120)
    statuses = [r.status for r in body]
    assert set(statuses) == {201, 424}
    created = statuses.count(201)
    assert statuses == [201] * created + [424] * (20_000 - created)  # stopped at a chunk's end
    assert created % 250 == 0
    assert len(pg_rows(job_database, "cancel")) == created


def test_rq_workers_on_redis(job_database, tmp_path):
    """Two RQ workers on the machine's Redis, two jobs at once: each job is run by one of them
    and every item lands once."""
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.flushdb()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    env = demo_env(
        DATABASE_URL=job_database,
        DJANGO_DEBUG="0",
        DEMO_TASKS="rq",
        REDIS_URL=REDIS_URL,
        DEMO_JOB_CHUNK_SIZE="500",
    )
    manage(env, "migrate", "-v0")
    manage(env, "seed_demo")
    log = tmp_path / "rq.log"
    with (
        serve(env, "gunicorn", tmp_path / "gunicorn.log", workers=2) as base,
        worker(env, log, *RQ_WORKER, "--name", "rq-a"),
        worker(env, log, *RQ_WORKER, "--name", "rq-b"),
    ):
        session = requests.Session()
        session.auth = ("demo", "demo")
        batches = {prefix: contacts(4000, prefix) for prefix in ("rqa", "rqb")}
        urls = {prefix: submit(session, base, items) for prefix, items in batches.items()}
        bodies = {p: wait_for_job(session, u, interval=0.2, timeout=180) for p, u in urls.items()}
    for prefix, body in bodies.items():
        assert [r.status for r in body] == [201] * 4000
        rows = pg_rows(job_database, prefix)
        assert len(rows) == 4000
        check_against_database(body, batches[prefix], rows)
    text = log.read_text()
    assert "rq-a" in text and "rq-b" in text
