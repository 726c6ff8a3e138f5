"""A big background upload through a real HTTP server: the web process reads it as it arrives
and stores it in chunks, its memory bounded whatever the body's size."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
import requests

from .conftest import demo_env, manage, serve

pytestmark = pytest.mark.slow

ROWS = 1_000_000  # the defaults of both background limits take it
CONTENT_TYPES = {"csv": "text/csv", "ndjson": "application/x-ndjson", "json": "application/json"}
#: What the web process may grow by while it stores the body (its peak resident set).
GROWTH_LIMIT_MIB = 50


def peak_mib(pid: int) -> float:
    """The peak resident set size (``VmHWM``) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


def gunicorn_worker(port: int) -> int:
    """The pid of the one gunicorn worker serving ``port`` (a child of its master)."""
    bound = f"127.0.0.1:{port}".encode()
    serving = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if bound not in (entry / "cmdline").read_bytes():
                continue
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        serving[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])  # its parent
    workers = [pid for pid, parent in serving.items() if parent in serving]
    assert len(workers) == 1, serving
    return workers[0]


@pytest.mark.skipif(
    not Path("/proc/self/status").exists() and not os.environ.get("CI"),
    reason="reads /proc (Linux); CI runs on Linux, where it must run",
)
@pytest.mark.parametrize("format", ["ndjson", "csv", "json"])
def test_a_big_upload_is_stored_in_bounded_memory(tmp_path, format):
    database = tmp_path / "demo.sqlite3"
    env = demo_env(database, DATA_UPLOAD_MAX_MEMORY_SIZE=str(2_621_440))
    manage(env, "migrate", "-v0")
    manage(env, "seed_demo")
    body = tmp_path / f"contacts.{format}"
    with body.open("w") as file:
        if format == "csv":
            file.write("name,email,age\r\n")
        elif format == "json":
            file.write("[")
        for n in range(ROWS):
            row = {"name": f"Contact {n}", "email": f"big{n:07d}@example.com", "age": n % 90}
            if format == "csv":
                file.write(f"{row['name']},{row['email']},{row['age']}\r\n")
            else:
                separator = "," if format == "json" and n else ""
                file.write(separator + json.dumps(row) + ("\n" if format == "ndjson" else ""))
        if format == "json":
            file.write("]")
    size_mib = body.stat().st_size / 2**20
    content_type = CONTENT_TYPES[format]
    with serve(env, "gunicorn", tmp_path / "server.log", workers=1) as base:
        worker = gunicorn_worker(int(base.rsplit(":", 1)[1]))
        with requests.Session() as session:
            session.auth = ("demo", "demo")
            session.get(f"{base}/api/contacts/")  # warm: the views and the database opened
            idle = peak_mib(worker)
            with body.open("rb") as file:
                response = session.post(
                    f"{base}/api/contacts/",
                    data=file,
                    headers={"Content-Type": content_type, "Prefer": "respond-async"},
                    timeout=600,
                )
            peak = peak_mib(worker)
    assert response.status_code == 202, response.content[:500]
    assert response.json()["total"] == ROWS
    print(f"{format}: {size_mib:.0f} MiB body; web worker peak {idle:.0f} → {peak:.0f} MiB")
    assert peak - idle <= GROWTH_LIMIT_MIB, (idle, peak, size_mib)
    with sqlite3.connect(database) as connection:
        (stored,) = connection.execute(
            "SELECT sum(json_array_length(items)) FROM drf_multistatus_bulkjobchunk"
        ).fetchone()
    assert stored == ROWS
