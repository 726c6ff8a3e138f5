"""Benchmark: importing a file of contacts as one background job, against the same rows sent
synchronously in requests of 1,000.

    python bench/imports.py                    # 1,000,000 rows on PostgreSQL
    python bench/imports.py --rows 100000

The demo project (contacts, naming neither company nor tags here) on a PostgreSQL database of
its own, served by gunicorn (one worker) with one ``db_worker``, both started afresh for each
way so that their peak memory is that way's. One row in 10,000 has an invalid email. Printed
side by side: the total time and rows per second of each way, the web worker's and the task
worker's peak resident memory, and how fast the ended job's results are read. The targets are
checked at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
BAD_EVERY = 10_000
GUNICORN = [sys.executable, "-m", "gunicorn", "demo_project.wsgi"]
DB_WORKER = [sys.executable, "manage.py", "db_worker"]
CONTENT_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv", "json": "application/json"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="ndjson,csv,json")
    return parser.parse_args()


def row(prefix: str, n: int) -> dict:
    email = "invalid" if n % BAD_EVERY == BAD_EVERY - 1 else f"{prefix}{n:07d}@example.com"
    return {"name": f"Contact {n}", "email": email, "age": n % 90}


def write_file(path: Path, format: str, prefix: str, rows: int) -> None:
    with path.open("w") as file:
        if format == "csv":
            file.write("name,email,age\r\n")
        elif format == "json":
            file.write("[")
        for n in range(rows):
            item = row(prefix, n)
            if format == "csv":
                file.write(f"{item['name']},{item['email']},{item['age']}\r\n")
            elif format == "json":
                file.write(("," if n else "") + json.dumps(item))
            else:
                file.write(json.dumps(item) + "\n")
        if format == "json":
            file.write("]")


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    import psycopg

    name = f"drf_multistatus_bench_imports_{os.getpid()}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def demo(env: dict[str, str], folder: Path) -> Iterator[tuple[str, int, int]]:
    """The demo under gunicorn with one worker, and one db_worker: ``(base URL, web worker pid,
    task worker pid)``."""
    port = free_port()
    web = subprocess.Popen(
        [*GUNICORN, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "900"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "web.log").open("a"),
    )
    worker = subprocess.Popen(
        [*DB_WORKER, "--interval", "0.1", "--no-startup-delay", "--no-reload"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "worker.log").open("a"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/api/", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base, children(web.pid)[0], worker.pid
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=60)


def session(base: str) -> requests.Session:
    """Logged in as demo through DRF's login view: a session cookie, so that no request pays
    for hashing the password as Basic authentication would (a quarter of a second each)."""
    client = requests.Session()
    login = f"{base}/api-auth/login/"
    client.get(login)
    token = client.cookies["csrftoken"]
    form = {"username": "demo", "password": "demo", "csrfmiddlewaretoken": token}
    answer = client.post(login, data=form, headers={"Referer": login}, allow_redirects=False)
    assert answer.status_code == 302, answer.content[:300]
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    client.headers["Referer"] = base
    return client


def synchronous(base: str, prefix: str, rows: int) -> float:
    """Seconds to send every row in requests of 1,000 items."""
    with session(base) as client:
        start = time.perf_counter()
        for offset in range(0, rows, 1000):
            batch = [row(prefix, n) for n in range(offset, min(rows, offset + 1000))]
            response = client.post(f"{base}/api/contacts/", json=batch, timeout=600)
            assert response.status_code == 207, response.content[:300]
        return time.perf_counter() - start


def background(base: str, web: int, worker: int, path: Path, format: str) -> dict:
    """One upload as a job, until the job ended; what it took, and reads of its results."""
    with session(base) as client:
        client.get(f"{base}/api/contacts/?limit=1")  # warm: views imported, database opened
        idle = peak_mib(web)
        start = time.perf_counter()
        with path.open("rb") as body:
            response = client.post(
                f"{base}/api/contacts/",
                data=body,
                headers={"Content-Type": CONTENT_TYPES[format], "Prefer": "respond-async"},
                timeout=900,
            )
        if response.status_code != 202:
            log = (path.parent / "web.log").read_text()[-5000:]
            raise AssertionError(f"{response.status_code}: {response.content[:300]!r}\n{log}")
        stored = time.perf_counter() - start
        web_peak = peak_mib(web)
        url = response.headers["Location"]
        worker_peak = 0.0
        while True:
            worker_peak = max(worker_peak, peak_mib(worker))
            state = client.get(url, headers={"Accept": "application/json"})
            if state.status_code != 200:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        ended = []
        for _ in range(5):
            began = time.perf_counter()
            answer = client.get(url, headers={"Accept": "application/json"})
            ended.append((time.perf_counter() - began, len(answer.content)))
        failed = []
        for _ in range(5):
            began = time.perf_counter()
            page = client.get(f"{url}results/?status=failed")
            failed.append(time.perf_counter() - began)
        assert page.status_code == 200 and page.json()["results"], page.content[:300]
        summary = answer.json()["summary"]
    return {
        "elapsed": elapsed,
        "stored": stored,
        "web_growth": web_peak - idle,
        "worker_peak": worker_peak,
        "ended_get": statistics.median(t for t, _size in ended),
        "ended_size": ended[0][1],
        "failed_page": statistics.median(failed),
        "summary": summary,
    }


def main() -> None:
    args = parse_args()
    rows = args.rows
    formats = args.formats.split(",")
    failures = []

    def check(ok: bool, text: str) -> None:
        print(("ok   " if ok else "MISS ") + text)
        if not ok:
            failures.append(text)

    with tempfile.TemporaryDirectory() as folder, scratch_database() as database:
        folder_path = Path(folder)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_project.settings"}
        env.update(DATABASE_URL=database, PYTHONPATH=str(ROOT))
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
        subprocess.run([*manage, "seed_demo"], env=env, cwd=ROOT, check=True, capture_output=True)
        print(f"## Importing {rows:,} contacts · PostgreSQL · gunicorn (1 worker) + db_worker\n")
        with demo(env, folder_path) as (base, _web, _worker):
            sync = synchronous(base, "sync", rows)
        figures = {}
        for format in formats:
            path = folder_path / f"contacts.{format}"
            write_file(path, format, format, rows)
            with demo(env, folder_path) as (base, web, worker):
                figures[format] = background(base, web, worker, path, format)
                figures[format]["size"] = path.stat().st_size / 2**20
            path.unlink()

    print("| way | total | rows/s | x synchronous | web worker growth | task worker peak |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {rows // 1000:,} synchronous POSTs of 1,000 (JSON) | {sync:,.1f} s "
        f"| {rows / sync:,.0f} | 1.00 | | |"
    )
    for format, f in figures.items():
        way = f"one {format} file ({f['size']:,.0f} MiB), Prefer: respond-async, until ended"
        total = f"{f['elapsed']:,.1f} s (stored in {f['stored']:,.1f} s)"
        speed = f"{rows / f['elapsed']:,.0f} | {f['elapsed'] / sync:.2f}"
        memory = f"{f['web_growth']:,.0f} MiB | {f['worker_peak']:,.0f} MiB"
        print(f"| {way} | {total} | {speed} | {memory} |")
    print("\n| way | ended job GET | its size | results?status=failed, first page |")
    print("|---|---|---|---|")
    for format, f in figures.items():
        print(
            f"| {format} | {f['ended_get'] * 1000:,.0f} ms | {f['ended_size'] / 1024:,.0f} KiB "
            f"| {f['failed_page'] * 1000:,.0f} ms |"
        )
    print()
    for format, f in figures.items():
        expected = {"201": rows - rows // BAD_EVERY, "422": rows // BAD_EVERY}
        check(f["summary"]["by_status"] == expected, f"{format}: by status {expected}")
        check(f["elapsed"] <= 1.3 * sync, f"{format}: {f['elapsed'] / sync:.2f}x sync <= 1.3x")
        check(
            rows / f["elapsed"] >= 12_000, f"{format}: {rows / f['elapsed']:,.0f} rows/s >= 12,000"
        )
        check(f["web_growth"] <= 50, f"{format}: web worker +{f['web_growth']:,.0f} MiB <= 50")
        check(f["worker_peak"] <= 250, f"{format}: task worker {f['worker_peak']:,.0f} MiB <= 250")
        check(f["ended_get"] < 1, f"{format}: ended job GET {f['ended_get']:.2f} s < 1 s")
        check(f["ended_size"] < 2**20, f"{format}: ended job GET {f['ended_size']:,} bytes < 1 MB")
        check(f["failed_page"] < 0.2, f"{format}: failed page {f['failed_page']:.3f} s < 0.2 s")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
