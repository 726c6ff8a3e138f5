"""Overlapping batches from several clients against the demo under gunicorn on PostgreSQL.

The demo runs in a real server with several worker processes, on a database of its own; clients
send batches that create the same unique emails in different orders (which can deadlock), update
the same rows, upsert the same new keys at the same moment and delete overlapping sets of rows,
and upsert and delete one pool of keys at once. No item may answer 500, every email ends with
exactly one row, every client's body agrees with the database, and PostgreSQL's own deadlock
counter for the database does not move where batches must queue.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
import pytest

from .conftest import PG_URL, demo_env, manage, scratch_database, serve

CLIENTS = 6
REQUESTS_PER_CLIENT = 6
EMAILS = [f"shared{i}@example.com" for i in range(40)]
SEEDED = 20
TIME_LIMIT = 120  # seconds for the whole load


def connect(url: str = PG_URL) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="module")
def load_database() -> Iterator[str]:
    with scratch_database("load") as url:
        manage(demo_env(DATABASE_URL=url), "migrate", "-v0")
        yield url


@pytest.fixture(scope="module")
def server(load_database, tmp_path_factory) -> Iterator[str]:
    env = demo_env(DATABASE_URL=load_database, DJANGO_DEBUG="0", DEMO_FAULT_HOOKS="1")
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with serve(env, "gunicorn", log, workers=4) as base:
        yield base + "/api/contacts/"


def send(method: str, url: str, body: list, **headers: str) -> tuple[int, dict]:
    status, body, _headers = exchange(method, url, body, **headers)
    return status, body


def exchange(method: str, url: str, body: list, **headers: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response), dict(response.headers)
    except urllib.error.HTTPError as error:
        raw = error.read().decode(errors="replace")
        return error.code, {"raw": raw}, dict(error.headers)


def client_batches(seed: int, ids: list[int]) -> list[tuple[str, str, list]]:
    rng = random.Random(seed)
    batches = []
    for n in range(REQUESTS_PER_CLIENT):
        query = "?atomic=true" if n % 3 == 2 else ""
        if n % 2 == 0:
            emails = rng.sample(EMAILS, 15)
            batch = [{"name": f"c{seed}", "email": email} for email in emails]
            batches.append(("POST", query, batch))
        else:
            targets = rng.sample(ids, 10)
            field = rng.choice(["age", "name"])
            value = (
                (lambda: rng.randint(0, 150))
                if field == "age"
                else (lambda: f"n{rng.randint(0, 99)}")
            )
            batches.append(("PATCH", query, [{"id": t, field: value()} for t in targets]))
    return batches


def test_overlapping_batches_agree_with_the_database(server, load_database):
    seeded = [{"name": "seed", "email": f"seed{i}@example.com", "age": 1} for i in range(SEEDED)]
    status, body = send("POST", server, seeded)
    assert status == 207, body
    ids = [r["data"]["id"] for r in body["results"]]
    original = {r["data"]["id"]: (r["data"]["name"], r["data"]["age"]) for r in body["results"]}

    plans = [client_batches(seed, ids) for seed in range(CLIENTS)]
    started = time.monotonic()

    def run_client(plan):
        return [
            (method, batch, *send(method, server + query, batch)) for method, query, batch in plan
        ]

    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = [o for client in pool.map(run_client, plans) for o in client]
    elapsed = time.monotonic() - started
    assert elapsed < TIME_LIMIT

    item_statuses = Counter()
    created = defaultdict(list)
    reported_rows = defaultdict(list)
    for method, batch, status, body in outcomes:
        assert status == 207, body
        results = body["results"]
        assert len(results) == len(batch)
        for item, result in zip(batch, results, strict=True):
            item_statuses[result["status"]] += 1
            assert result["status"] != 500, result
            if method == "POST" and result["status"] == 201:
                created[item["email"]].append(result["data"]["id"])
            if method == "PATCH" and result["status"] == 200:
                data = result["data"]
                reported_rows[data["id"]].append((data["name"], data["age"]))
    assert item_statuses[201] > 0 and item_statuses[409] > 0 and item_statuses[200] > 0
    assert set(item_statuses) <= {200, 201, 409, 424, 503}

    with connect(load_database) as db:
        rows = db.execute("SELECT id, name, email, age FROM contacts_contact").fetchall()
    by_email = Counter(email for _id, _name, email, _age in rows)
    assert all(count == 1 for count in by_email.values())
    for email in EMAILS:
        # A row exists exactly when one request reported creating it, with the reported id.
        row_ids = [row_id for row_id, _n, e, _a in rows if e == email]
        assert row_ids == created.get(email, []), email
    state = {row_id: (name, age) for row_id, name, _email, age in rows}
    for row_id in ids:
        # The row holds what some 200 reported for it (the last writer), or its seed.
        assert state[row_id] in reported_rows.get(row_id, [original[row_id]]), row_id


UPSERT_CLIENTS = 8
UPSERT_ROUNDS = 3
UPSERT_KEYS = 30


def test_concurrent_upserts_of_the_same_new_keys(server, load_database):
    """Every client upserts the same new keys, in its own order, at the same moment: each item
    is 200 or 201, exactly one client created each key, and each key is one row."""
    for round_number in range(UPSERT_ROUNDS):
        emails = [f"up{round_number}-{i}@example.com" for i in range(UPSERT_KEYS)]
        barrier = threading.Barrier(UPSERT_CLIENTS)

        def run_client(seed, emails=emails, barrier=barrier):
            order = random.Random(seed).sample(emails, len(emails))
            batch = [{"name": f"client{seed}", "email": email, "age": seed} for email in order]
            barrier.wait()
            return batch, *send("POST", server, batch, Prefer="resolution=merge-duplicates")

        with ThreadPoolExecutor(UPSERT_CLIENTS) as pool:
            outcomes = list(pool.map(run_client, range(UPSERT_CLIENTS)))

        created = defaultdict(list)
        written = defaultdict(list)
        for batch, status, body in outcomes:
            assert status == 207, body
            for item, result in zip(batch, body["results"], strict=True):
                assert result["status"] in (200, 201), result
                assert result["data"]["email"] == item["email"]
                if result["status"] == 201:
                    created[item["email"]].append(result["data"]["id"])
                written[item["email"]].append((result["data"]["id"], result["data"]["name"]))
        with connect(load_database) as db:
            rows = db.execute(
                "SELECT id, name, email FROM contacts_contact WHERE email LIKE %s",
                (f"up{round_number}-%",),
            ).fetchall()
        assert sorted(email for _id, _name, email in rows) == sorted(emails)
        for row_id, name, email in rows:
            assert created[email] == [row_id], email  # one creator, the row's id
            assert (row_id, name) in written[email]  # the last writer's values


DELETE_CLIENTS = 6
DELETE_ROWS = 60


def test_overlapping_deletes_agree_with_the_database(server, load_database):
    seeded = [{"name": "doomed", "email": f"del{i}@example.com"} for i in range(DELETE_ROWS)]
    status, body = send("POST", server, seeded)
    assert status == 207, body
    ids = [r["data"]["id"] for r in body["results"]]
    barrier = threading.Barrier(DELETE_CLIENTS)

    def run_client(seed):
        rng = random.Random(seed)
        barrier.wait()
        outcomes = []
        for n in range(3):
            batch = [{"id": target} for target in rng.sample(ids, 20)]
            query = "?atomic=true" if (seed + n) % 4 == 3 else ""
            outcomes.append((batch, *send("DELETE", server + query, batch)))
        return outcomes

    with ThreadPoolExecutor(DELETE_CLIENTS) as pool:
        outcomes = [o for client in pool.map(run_client, range(DELETE_CLIENTS)) for o in client]

    deleted_by = Counter()
    missing = set()
    for batch, status, body in outcomes:
        assert status == 207, body
        for item, result in zip(batch, body["results"], strict=True):
            assert result["status"] in (204, 404, 424), result
            if result["status"] == 204:
                deleted_by[item["id"]] += 1
                assert result["href"].endswith(f"/api/contacts/{item['id']}/")
            elif result["status"] == 404:
                missing.add(item["id"])
    with connect(load_database) as db:
        remaining = {
            row_id
            for (row_id,) in db.execute(
                "SELECT id FROM contacts_contact WHERE id = ANY(%s)", (ids,)
            ).fetchall()
        }
    assert all(count == 1 for count in deleted_by.values()), "a row reported deleted twice"
    assert set(deleted_by) == set(ids) - remaining
    assert missing <= set(deleted_by), "404 for a row nobody deleted"


MIXED_CLIENTS = 8
MIXED_EMAILS = [f"mixed{i}@example.com" for i in range(60)]


def test_mixed_verbs_on_the_same_rows_queue_instead_of_deadlocking(server, load_database):
    """8 clients create, update and delete the same 60 emails at once: rows are written in one
    order by every batch, so no item needs the 503 a deadlock would give."""
    barrier = threading.Barrier(MIXED_CLIENTS)

    def ids_of(emails):
        with connect(load_database) as db:
            return [
                row_id
                for (row_id,) in db.execute(
                    "SELECT id FROM contacts_contact WHERE email = ANY(%s)", (emails,)
                ).fetchall()
            ]

    def run_client(seed):
        rng = random.Random(seed)
        barrier.wait()
        outcomes = []
        for n in range(9):
            verb = ("POST", "PATCH", "DELETE")[n % 3]
            emails = rng.sample(MIXED_EMAILS, 20)
            if verb == "POST":
                batch = [{"name": f"m{seed}", "email": email} for email in emails]
            else:
                ids = ids_of(emails)
                batch = (
                    [{"id": i, "age": rng.randint(0, 150)} for i in ids]
                    if verb == "PATCH"
                    else [{"id": i} for i in ids[:5]]
                )
            outcomes.append((verb, *send(verb, server, batch)))
        return outcomes

    with ThreadPoolExecutor(MIXED_CLIENTS) as pool:
        outcomes = [o for client in pool.map(run_client, range(MIXED_CLIENTS)) for o in client]
    item_statuses = Counter()
    for _verb, status, body in outcomes:
        assert status == 207, body
        item_statuses.update(result["status"] for result in body["results"])
    assert item_statuses[503] == 0, item_statuses
    assert item_statuses[500] == 0, item_statuses
    assert sum(item_statuses.values()) > 500
    with connect(load_database) as db:
        emails = [e for (e,) in db.execute("SELECT email FROM contacts_contact").fetchall()]
    assert len(emails) == len(set(emails))


def test_concurrent_duplicates_of_a_keyed_batch_run_once(server, load_database):
    batch = [{"name": "dup", "email": f"dup{i}@example.com"} for i in range(50)]
    barrier = threading.Barrier(8)

    def run_client(_n):
        barrier.wait()
        return exchange("POST", server, batch, **{"Idempotency-Key": '"dup-batch-1"'})

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(run_client, range(8)))
    ran = [o for o in outcomes if o[0] == 207 and "Idempotent-Replayed" not in o[2]]
    replayed = [o for o in outcomes if o[2].get("Idempotent-Replayed") == "true"]
    busy = [o for o in outcomes if o[0] == 409]
    assert len(ran) == 1, [(o[0], o[2].get("Idempotent-Replayed")) for o in outcomes]
    assert len(ran) + len(replayed) + len(busy) == 8
    assert all(o[1] == ran[0][1] for o in replayed)
    assert all(o[2].get("Retry-After") for o in busy)
    assert [r["status"] for r in ran[0][1]["results"]] == [201] * 50
    with connect(load_database) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM contacts_contact WHERE email LIKE 'dup%%'"
        ).fetchone()
    assert count == 50


def test_a_crash_right_after_the_commit_is_recovered_by_a_retry(server, load_database):
    batch = [{"name": "crash", "email": f"crash{i}@example.com"} for i in range(5)]
    key = {"Idempotency-Key": '"crash-1"'}
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        exchange("POST", server, batch, **key, **{"X-Demo-Fault": "exit-after-commit"})
    status, body, headers = exchange("POST", server, batch, **key)
    assert status == 207 and headers.get("Idempotent-Replayed") == "true"
    assert [r["status"] for r in body["results"]] == [201] * 5
    with connect(load_database) as db:
        rows = db.execute(
            "SELECT id FROM contacts_contact WHERE email LIKE 'crash%%' ORDER BY id"
        ).fetchall()
    assert [row_id for (row_id,) in rows] == [r["data"]["id"] for r in body["results"]]


def deadlocks(url: str) -> int:
    """The deadlocks PostgreSQL detected in the database at ``url``, read on a fresh connection
    once no client is connected to it: a backend flushes its statistics before it exits, so
    none is left unflushed."""
    name = url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 10
    with connect() as db:
        while db.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend'",
            (name,),
        ).fetchone()[0]:
            assert time.monotonic() < deadline, f"clients stay connected to {name}"
            time.sleep(0.1)
    with connect() as db:
        (count,) = db.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()
    return count


def test_the_deadlock_counter_sees_a_deadlock(load_database):
    """Two transactions taking two locks in opposite orders deadlock: the counter the next
    test relies on must count it."""
    before = deadlocks(load_database)
    with connect(load_database) as first, connect(load_database) as second:
        for db, held in ((first, 1), (second, 2)):
            db.execute("SET deadlock_timeout = '100ms'")
            db.execute("BEGIN")
            db.execute("SELECT pg_advisory_xact_lock(%s)", (held,))
        with ThreadPoolExecutor(2) as pool:
            attempts = [
                pool.submit(db.execute, "SELECT pg_advisory_xact_lock(%s)", (wanted,))
                for db, wanted in ((first, 2), (second, 1))
            ]
            errors = [attempt.exception(timeout=10) for attempt in attempts]
        assert [type(error) for error in errors if error] == [psycopg.errors.DeadlockDetected]
        for db in (first, second):
            db.execute("ROLLBACK")
    assert deadlocks(load_database) == before + 1


POOL = [f"pool{i}@example.com" for i in range(20)]
POOL_CLIENTS = 12
POOL_ROUNDS = 12
POOL_TIME_LIMIT = 40  # seconds for the whole load


@pytest.fixture(scope="module")
def threaded_server(load_database, tmp_path_factory) -> Iterator[str]:
    """The demo once more on the same database, 4 workers of 3 threads: as many requests in the
    database at once as there are clients."""
    env = demo_env(DATABASE_URL=load_database, DJANGO_DEBUG="0", GUNICORN_CMD_ARGS="--threads 3")
    log = tmp_path_factory.mktemp("gunicorn-threads") / "gunicorn.log"
    with serve(env, "gunicorn", log, workers=4) as base:
        yield base + "/api/contacts/"


@pytest.fixture
def pool_audit(load_database) -> Iterator[None]:
    """A trigger that records every committed insert, update and delete of a pool row in
    ``pool_audit``, so that each write a body reports can be found, and no other."""
    with connect(load_database) as db:
        db.execute(
            "CREATE UNLOGGED TABLE pool_audit"
            " (op text, id bigint, email text, name text, age integer)"
        )
        db.execute(
            """
            CREATE FUNCTION pool_audit() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                r contacts_contact := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            BEGIN
                IF r.email LIKE 'pool%' THEN
                    INSERT INTO pool_audit VALUES (TG_OP, r.id, r.email, r.name, r.age);
                END IF;
                RETURN NULL;
            END $$
            """
        )
        db.execute(
            "CREATE TRIGGER pool_audit AFTER INSERT OR UPDATE OR DELETE ON contacts_contact"
            " FOR EACH ROW EXECUTE FUNCTION pool_audit()"
        )
    try:
        yield
    finally:
        with connect(load_database) as db:
            db.execute("DROP TRIGGER pool_audit ON contacts_contact")
            db.execute("DROP FUNCTION pool_audit()")
            db.execute("DROP TABLE pool_audit")


@dataclass(frozen=True)
class Reported:
    """What one item of a 207 said about a row, and when its request was sent and answered. A
    request commits in between: of two requests, one answered before the other was sent
    committed first; of overlapping ones, nothing is known."""

    method: str
    status: int
    row: int | None
    email: str | None
    values: tuple[str, int] | None
    sent: float
    answered: float

    def precedes(self, other: Reported) -> bool:
        return self.answered < other.sent


def pool_plan(seed: int) -> list[list[tuple[str, list]]]:
    """Per round, per client: an upsert of some of the pool's emails in a random order, or a
    delete of about half of the pool's rows (``[]``: picked when it is sent)."""
    rng = random.Random(seed)
    plan = []
    for round_number in range(POOL_ROUNDS):
        deleting = set(rng.sample(range(POOL_CLIENTS), rng.randint(4, 6)))
        requests = []
        for client in range(POOL_CLIENTS):
            if client in deleting:
                requests.append(("DELETE", []))
                continue
            emails = rng.sample(POOL, rng.randint(6, 14))
            name = f"r{round_number}c{client}"
            requests.append(
                ("POST", [{"name": name, "email": e, "age": rng.randint(0, 150)} for e in emails])
            )
        plan.append(requests)
    return plan


AUDITED = {"INSERT": 201, "UPDATE": 200, "DELETE": 204}


def test_upserts_and_deletes_of_one_pool_queue_instead_of_deadlocking(
    threaded_server, load_database, pool_audit
):
    """12 clients at once, round after round, upsert random subsets of 20 emails in random
    orders and delete random subsets of the rows holding them. Upserts lock their keys, then
    their rows in primary-key order; deletes lock their rows in that order: nobody deadlocks,
    no item answers 503, and every body agrees with the database."""

    def pool_rows() -> dict[int, tuple[str, str, int]]:
        with connect(load_database) as db:
            return {
                row: (email, name, age)
                for row, email, name, age in db.execute(
                    "SELECT id, email, name, age FROM contacts_contact WHERE email = ANY(%s)",
                    (POOL,),
                ).fetchall()
            }

    plan = pool_plan(seed=207)
    barrier = threading.Barrier(POOL_CLIENTS)

    def run_client(client: int) -> list[tuple] | None:
        try:
            return run_rounds(client)
        except threading.BrokenBarrierError:
            return None
        except Exception:
            barrier.abort()  # the other clients stop waiting for this one
            raise

    def run_rounds(client: int) -> list[tuple]:
        rng = random.Random(client)
        exchanges = []
        for requests in plan:
            method, batch = requests[client]
            headers = {"Prefer": "resolution=merge-duplicates"} if method == "POST" else {}
            barrier.wait(timeout=POOL_TIME_LIMIT)
            emails = {}
            if method == "DELETE":  # the rows holding pool emails now, some soon deleted
                emails = {row: email for row, (email, _name, _age) in pool_rows().items()}
                batch = [{"id": row} for row in rng.sample(sorted(emails), len(emails) // 2)]
            sent = time.monotonic()
            status, body = send(method, threaded_server, batch, **headers)
            exchanges.append((method, batch, emails, status, body, sent, time.monotonic()))
        return exchanges

    before = deadlocks(load_database)
    started = time.monotonic()
    with ThreadPoolExecutor(POOL_CLIENTS) as pool:
        clients = list(pool.map(run_client, range(POOL_CLIENTS)))
    elapsed = time.monotonic() - started
    assert None not in clients, "clients waited for each other in vain"
    after = deadlocks(load_database)

    reports = []
    for method, batch, emails, status, body, sent, answered in (e for c in clients for e in c):
        assert status == 207, body
        assert [result["index"] for result in body["results"]] == list(range(len(batch))), body
        for item, result in zip(batch, body["results"], strict=True):
            data = result.get("data")
            if data is None:
                row = item["id"] if method == "DELETE" else None
                report = Reported(
                    method, result["status"], row, emails.get(row), None, sent, answered
                )
            else:
                expected = {**item, "id": data["id"], "company": None, "tags": []}
                assert data == expected, (item, result)
                values = (data["name"], data["age"])
                report = Reported(
                    method, result["status"], data["id"], data["email"], values, sent, answered
                )
            reports.append(report)

    kinds = Counter((report.method, report.status) for report in reports)
    assert kinds["POST", 503] + kinds["DELETE", 503] == 0, kinds
    assert after == before, f"{after - before} deadlock(s); items: {kinds}"
    assert set(kinds) <= {("POST", 200), ("POST", 201), ("DELETE", 204), ("DELETE", 404)}, kinds
    assert kinds["POST", 200] and kinds["POST", 201] and kinds["DELETE", 204], kinds
    assert elapsed < POOL_TIME_LIMIT

    with connect(load_database) as db:
        audit = db.execute("SELECT op, id, email, name, age FROM pool_audit").fetchall()
    # Every write a body reported was committed, and nothing else was.
    written = Counter(
        (AUDITED[op], row, email, None if op == "DELETE" else (name, age))
        for op, row, email, name, age in audit
    )
    reported = Counter(
        (report.status, report.row, report.email, report.values)
        for report in reports
        if report.status in AUDITED.values()
    )
    assert written == reported, (written - reported, reported - written)

    created = {report.row: report for report in reports if report.status == 201}
    deleted = {report.row: report for report in reports if report.status == 204}
    rows = pool_rows()
    assert len({email for email, _name, _age in rows.values()}) == len(rows)
    assert set(rows) == set(created) - set(deleted)  # ids are never given again
    for row, (_email, name, age) in rows.items():
        # A row holds what a write said that no other write to it provably followed.
        writes = [report for report in reports if report.row == row and report.values]
        last = [w for w in writes if not any(w.precedes(other) for other in writes)]
        assert (name, age) in {w.values for w in last}, (row, name, age, writes)
    for report in reports:
        if report.status == 404:  # someone deleted the row, not provably afterwards
            deletion = deleted.get(report.row)
            assert deletion is not None and not report.precedes(deletion), report


GUARDED_WRITERS = 8
GUARDED_ROUNDS = 4


def guarded_patch(url: str, contact_id: int, name: str, etag: str, bulk: bool) -> tuple[int, dict]:
    """A PATCH of one contact held to ``etag``: an item's ``_if_match``, or ``If-Match``."""
    if bulk:
        item = {"id": contact_id, "name": name, "_if_match": etag}
        status, body = send("PATCH", url, [item])
        assert status == 207, body
        (result,) = body["results"]
        return result["status"], result
    status, body, headers = exchange(
        "PATCH", f"{url}{contact_id}/", {"name": name}, **{"If-Match": etag}
    )
    return status, {**body, "etag": headers.get("ETag")}


@pytest.mark.parametrize("bulk", [True, False], ids=["_if_match", "If-Match"])
def test_writers_racing_with_one_etag_leave_one_winner(threaded_server, load_database, bulk):
    """Eight clients PATCH one row at the same moment, each holding the etag they all read:
    exactly one gets 200, seven 412, and the row holds the winner's value — no lost update."""
    status, body = send("POST", threaded_server, [{"name": "start", "email": f"race-{bulk}@x.io"}])
    assert status == 207, body
    contact_id = body["results"][0]["data"]["id"]
    for round_number in range(GUARDED_ROUNDS):
        with urllib.request.urlopen(f"{threaded_server}{contact_id}/", timeout=30) as response:
            etag = response.headers["ETag"]
        barrier = threading.Barrier(GUARDED_WRITERS)

        def run_writer(n, etag=etag, round_number=round_number, barrier=barrier):
            barrier.wait()
            name = f"writer{round_number}-{n}"
            return name, *guarded_patch(threaded_server, contact_id, name, etag, bulk)

        with ThreadPoolExecutor(GUARDED_WRITERS) as pool:
            outcomes = list(pool.map(run_writer, range(GUARDED_WRITERS)))
        assert sorted(status for _name, status, _body in outcomes) == [200] + [412] * 7
        ((winner, _status, result),) = [o for o in outcomes if o[1] == 200]
        with connect(load_database) as db:
            (stored,) = db.execute(
                "SELECT name FROM contacts_contact WHERE id = %s", (contact_id,)
            ).fetchone()
        assert stored == winner
        with urllib.request.urlopen(f"{threaded_server}{contact_id}/", timeout=30) as response:
            assert response.headers["ETag"] == result["etag"] != etag
