"""Benchmark: drf-multistatus bulk writes against the other ways of writing many rows.

    python bench/run.py                      # SQLite in memory and PostgreSQL, N = 100, 1000, 10000
    python bench/run.py --db sqlite --sizes 100,1000
    python bench/imports.py --rows 1000000     # files imported as jobs (run.py runs it last)

Every table comes from one process and one database, so its rows compare like with like:
median and min-max wall time over the repetitions, items per second, ratio to the baselines,
and the number of SQL queries. The targets of the performance work are checked at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--job-size", type=int, default=100_000, help="PostgreSQL only; 0: skip")
    parser.add_argument(
        "--import-rows",
        type=int,
        default=1_000_000,
        help="files imported as jobs on PostgreSQL (bench/imports.py); 0: skip",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        return run_child(args)
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    failed = False
    for database in databases:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("DATABASE_URL", None)
        if database == "postgres":
            env["DATABASE_URL"] = PG_URL
        command = [sys.executable, __file__, "--child", "--sizes", args.sizes]
        command += ["--repeat", str(args.repeat), "--job-size", str(args.job_size)]
        failed |= subprocess.run(command, env=env, cwd=ROOT).returncode != 0
    if args.import_rows and args.db != "sqlite":
        command = [sys.executable, str(ROOT / "bench" / "imports.py"), "--rows"]
        failed |= subprocess.run([*command, str(args.import_rows)], cwd=ROOT).returncode != 0
    sys.exit(1 if failed else 0)


# --- the child: one database, all the ways --------------------------------------------------


def run_child(args: argparse.Namespace) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    import django as dj
    import rest_framework

    sizes = [int(size) for size in args.sizes.split(",")]
    print(
        f"\n## {connection.vendor} · Python {sys.version.split()[0]} · Django {dj.__version__} "
        f"· DRF {rest_framework.__version__}\n"
    )
    bench = Bench(args.repeat)
    for n in sizes:
        bench.create(n)
        bench.update(n)
        if n <= 10000:
            bench.delete(n)
            bench.upsert(n)
            bench.idempotency(n)
            bench.create_with_relations(n)
            bench.update_with_relations(n)
    bench.rendering(5000)
    bench.minimal(10_000)
    bench.guarded(1000)
    if connection.vendor == "postgresql" and args.job_size:
        bench.job(args.job_size)
    bench.memory([1000, 5000, 10000] if max(sizes) >= 10000 else sizes)
    print()
    for line in bench.verdicts:
        print(line)
    connection.creation.destroy_test_db(":memory:" if connection.vendor == "sqlite" else None, 0)


class Bench:
    def __init__(self, repeat: int) -> None:
        from django.test import Client

        self.repeat = repeat
        self.client = Client()
        self.verdicts: list[str] = []
        self.related: Related | None = None
        self.relation_queries: dict[str, tuple[int, int]] = {}

    # measurement ---------------------------------------------------------------------------

    def measure(
        self, run: Callable[[], object], reset: Callable[[], object], repeat: int
    ) -> tuple[list[float], int]:
        """Wall times of ``repeat`` runs, and the number of SQL statements one run executes."""
        from django.db import connection

        statements = 0

        def count(execute, sql, params, many, context):
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        reset()
        with connection.execute_wrapper(count):
            run()
        times = []
        for _ in range(repeat):
            reset()
            gc.collect()
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return times, statements

    def interleaved(
        self, ways: list[tuple[str, Callable[[], object], Callable[[], object]]], repeat: int
    ) -> list[tuple[str, list[float], int]]:
        """``measure`` for ways whose differences are smaller than the machine's drift: one run
        of each in turn, ``repeat`` rounds, so that the drift falls on all of them alike."""
        counted = {name: self.measure(run, reset, 0)[1] for name, run, reset in ways}
        times: dict[str, list[float]] = {name: [] for name, _run, _reset in ways}
        for _round in range(repeat):
            for name, run, reset in ways:
                reset()
                gc.collect()
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        return [(name, times[name], counted[name]) for name, _run, _reset in ways]

    def table(self, title: str, n: int, rows: list[tuple], baselines: list[str]) -> dict:
        print(f"### {title}, N = {n:,}\n")
        header = ["way", "median", "min-max", "items/s", *(f"x {b}" for b in baselines), "queries"]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        medians = {name: statistics.median(times) for name, times, _q in rows if times}
        for name, times, queries in rows:
            if not times:
                print(f"| {name} | skipped | | | " + "| " * len(baselines) + "|")
                continue
            median = medians[name]
            ratios = [f"{median / medians[b]:.2f}" if b in medians else "" for b in baselines]
            cells = [
                name,
                f"{median * 1000:,.1f} ms",
                f"{min(times) * 1000:,.1f}-{max(times) * 1000:,.1f}",
                f"{n / median:,.0f}",
                *ratios,
                f"{queries:,}",
            ]
            print("| " + " | ".join(cells) + " |")
        print()
        return {name: (medians.get(name), queries) for name, _t, queries in rows}

    def check(self, ok: bool, text: str) -> None:
        self.verdicts.append(f"{'PASS' if ok else 'MISS'}  {text}")

    # requests --------------------------------------------------------------------------------

    def post(
        self, url: str, body: object, accept: str = "application/json", **headers: str
    ) -> None:
        response = self.client.post(
            url, json.dumps(body), content_type="application/json", HTTP_ACCEPT=accept, **headers
        )
        assert response.status_code in (201, 207), response.content[:300]

    def put(self, url: str, body: object, accept: str = "application/json") -> None:
        response = self.client.put(
            url, json.dumps(body), content_type="application/json", HTTP_ACCEPT=accept
        )
        assert response.status_code in (200, 207), response.content[:300]

    def patch(self, url: str, body: object, **headers: str) -> dict:
        response = self.client.patch(
            url, json.dumps(body), content_type="application/json", **headers
        )
        assert response.status_code == 207, response.content[:300]
        return response.json()

    def send_delete(self, url: str, body: object = None) -> None:
        data = json.dumps(body) if body is not None else ""
        response = self.client.delete(url, data, content_type="application/json")
        assert response.status_code in (204, 207), response.content[:300]
        if body:
            by_status = response.json()["summary"]["by_status"]
            assert by_status == {"204": len(body)}, by_status

    # scenarios -----------------------------------------------------------------------------

    def create(self, n: int) -> None:
        from demo_project.contacts.models import Contact
        from demo_project.contacts.serializers import ContactSerializer

        batch = [{"name": f"n{i}", "email": f"u{i}@example.com", "age": i % 100} for i in range(n)]
        conflicting = [dict(item) for item in batch]
        for i in range(0, n, 20):  # 5% duplicates within the batch, 5% of existing rows
            conflicting[i + 1]["email"] = conflicting[i]["email"]
            conflicting[i + 2]["email"] = "existing@example.com"

        def reset():
            Contact.objects.all().delete()

        def reset_with_existing():
            reset()
            Contact.objects.create(name="e", email="existing@example.com")

        def singles():
            for item in batch:
                self.post("/plain/", item)

        def floor():
            serializer = ContactSerializer(data=batch, many=True)
            serializer.is_valid(raise_exception=True)
            Contact.objects.bulk_create(Contact(**data) for data in serializer.validated_data)

        slow = max(1, self.repeat // 3) if n >= 10000 else self.repeat
        ways = [
            (f"{n:,} single POSTs (DRF)", singles, reset, slow if n < 10000 else 0),
            (
                "one POST, serializer(many=True)",
                lambda: self.post("/listserializer/", batch),
                reset,
                slow,
            ),
            (
                "per-item path (own serializer + savepoint per item)",
                lambda: self.post("/per-item/", batch),
                reset,
                slow,
            ),
            ("serializer(many=True).is_valid() + bulk_create, no HTTP", floor, reset, self.repeat),
            (
                "bare bulk_create",
                lambda: Contact.objects.bulk_create(Contact(**i) for i in batch),
                reset,
                self.repeat,
            ),
            ("drf-multistatus, JSON", lambda: self.post("/contacts/", batch), reset, self.repeat),
            (
                "drf-multistatus, XML",
                lambda: self.post("/contacts/", batch, "application/xml"),
                reset,
                self.repeat,
            ),
            (
                "drf-multistatus, JSON, 10% conflicts",
                lambda: self.post("/contacts/", conflicting),
                reset_with_existing,
                self.repeat,
            ),
        ]
        rows = []
        for name, run, reset_fn, repeat in ways:
            times, queries = self.measure(run, reset_fn, repeat) if repeat else ([], 0)
            rows.append((name, times, queries))
        floor_name, ours, mixed = ways[3][0], ways[5][0], ways[7][0]
        result = self.table("bulk create", n, rows, ["one POST, serializer(many=True)", floor_name])
        ours_ms, floor_ms = result[ours][0] * 1000, result[floor_name][0] * 1000
        self.check(
            ours_ms <= floor_ms, f"create N={n:,}: {ours_ms:,.0f} ms <= floor {floor_ms:,.0f} ms"
        )
        self.check(result[ours][1] <= 10, f"create N={n:,}: {result[ours][1]} queries <= 10")
        mixed_ratio = result[mixed][0] / result[ours][0]
        self.check(
            mixed_ratio <= 1.5,
            f"create N={n:,}: 10% conflicts {mixed_ratio:.2f}x all-valid <= 1.5x",
        )

    def update(self, n: int) -> None:
        from demo_project.contacts.models import Contact

        def reset():
            Contact.objects.all().delete()
            Contact.objects.bulk_create(
                Contact(name=f"n{i}", email=f"u{i}@example.com", age=1) for i in range(n)
            )

        def batch():
            return [
                {"id": pk, "name": f"m{pk}", "email": email, "age": 7}
                for pk, email in Contact.objects.values_list("id", "email")
            ]

        current: list = []

        def prepared(run):
            def reset_and_prepare():
                reset()
                current[:] = batch()

            return run, reset_and_prepare

        def singles():
            for item in current:
                self.put(f"/plain/{item['id']}/", item)

        def bulk_update_alone():
            objs = list(Contact.objects.filter(pk__in=[item["id"] for item in current]))
            for obj in objs:
                obj.name, obj.age = f"m{obj.pk}", 7
            # In batches: one CASE over 10,000 rows takes minutes on PostgreSQL.
            Contact.objects.bulk_update(objs, ["name", "email", "age"], batch_size=1000)

        slow = max(1, self.repeat // 3) if n >= 10000 else self.repeat
        ways = [
            (f"{n:,} single PUTs (DRF)", *prepared(singles), slow if n < 10000 else 0),
            ("per-item path", *prepared(lambda: self.put("/per-item/", current)), slow),
            (
                "bulk_update alone (load + write, batches of 1,000)",
                *prepared(bulk_update_alone),
                self.repeat,
            ),
            (
                "drf-multistatus, JSON",
                *prepared(lambda: self.put("/contacts/", current)),
                self.repeat,
            ),
            (
                "drf-multistatus, XML",
                *prepared(lambda: self.put("/contacts/", current, "application/xml")),
                self.repeat,
            ),
        ]
        rows = []
        for name, run, reset_fn, repeat in ways:
            times, queries = self.measure(run, reset_fn, repeat) if repeat else ([], 0)
            rows.append((name, times, queries))
        base, ours = ways[2][0], ways[3][0]
        result = self.table("bulk update (PUT)", n, rows, [base])
        self.check(
            result[ours][0] <= 2 * result[base][0],
            f"update N={n:,}: JSON {result[ours][0] / result[base][0]:.2f}x bulk_update <= 2x",
        )
        self.check(result[ours][1] <= 10, f"update N={n:,}: {result[ours][1]} queries <= 10")

    def delete(self, n: int, children: int = 5) -> None:
        from tests.testapp.models import Gadget, GadgetLog

        ids: list[int] = []

        def reset():
            Gadget.objects.all().delete()
            gadgets = Gadget.objects.bulk_create(Gadget(name="g", code=f"g{i}") for i in range(n))
            GadgetLog.objects.bulk_create(
                GadgetLog(gadget=gadget, action="create")
                for gadget in gadgets
                for _ in range(children)
            )
            ids[:] = [gadget.id for gadget in gadgets]

        def singles():
            for pk in ids:
                self.send_delete(f"/plain-gadgets/{pk}/")

        slow = max(1, self.repeat // 3)
        ways = [
            (f"{n:,} single DELETEs (DRF)", singles, slow if n <= 1000 else 0),
            ("per-item path", lambda: self.send_delete("/per-item-gadgets/", body()), slow),
            (
                "QuerySet.delete() of the same rows",
                lambda: Gadget.objects.filter(pk__in=ids).delete(),
                self.repeat,
            ),
            ("drf-multistatus, JSON", lambda: self.send_delete("/gadgets/", body()), self.repeat),
        ]

        def body():
            return [{"id": pk} for pk in ids]

        rows = []
        for name, run, repeat in ways:
            times, queries = self.measure(run, reset, repeat) if repeat else ([], 0)
            rows.append((name, times, queries))
        base, ours = ways[2][0], ways[3][0]
        title = f"bulk delete, {children} cascaded rows per object"
        result = self.table(title, n, rows, [base])
        ratio = result[ours][0] / result[base][0]
        self.check(ratio <= 1.5, f"delete N={n:,}: {ratio:.2f}x QuerySet.delete() <= 1.5x")
        extra = result[ours][1] - result[base][1]
        self.check(
            extra <= 8,
            f"delete N={n:,}: {result[ours][1]} queries, QuerySet.delete()'s "
            f"{result[base][1]} + {extra} (constant <= 8)",
        )

    def upsert(self, n: int) -> None:
        from demo_project.contacts.models import Contact

        batch = [{"name": f"n{i}", "email": f"u{i}@example.com", "age": i % 100} for i in range(n)]

        def reset_empty():
            Contact.objects.all().delete()

        def reset_half():
            reset_empty()
            Contact.objects.bulk_create(
                Contact(name="old", email=f"u{i}@example.com", age=1) for i in range(0, n, 2)
            )

        def upsert(url):
            response = self.client.post(
                url,
                json.dumps(batch),
                content_type="application/json",
                HTTP_PREFER="resolution=merge-duplicates",
            )
            by_status = response.json()["summary"]["by_status"]
            assert by_status == {"200": n // 2 + n % 2, "201": n // 2} or by_status == {
                "200": n // 2,
                "201": n - n // 2,
            }, by_status

        def raw_upsert():
            Contact.objects.bulk_create(
                (Contact(**item) for item in batch),
                update_conflicts=True,
                unique_fields=["email"],
                update_fields=["name", "age"],
            )

        slow = max(1, self.repeat // 3)
        ways = [
            (
                "drf-multistatus bulk create (no key exists)",
                lambda: self.post("/contacts/", batch),
                reset_empty,
                self.repeat,
            ),
            ("per-item path, upsert", lambda: upsert("/per-item/"), reset_half, slow),
            (
                "bulk_create(update_conflicts=True), no validation",
                raw_upsert,
                reset_half,
                self.repeat,
            ),
            ("drf-multistatus upsert, JSON", lambda: upsert("/contacts/"), reset_half, self.repeat),
        ]
        rows = []
        for name, run, reset, repeat in ways:
            times, queries = self.measure(run, reset, repeat)
            rows.append((name, times, queries))
        base, ours = ways[0][0], ways[3][0]
        result = self.table("upsert, half the keys existing", n, rows, [base])
        ratio = result[ours][0] / result[base][0]
        self.check(ratio <= 1.5, f"upsert N={n:,}: {ratio:.2f}x bulk create <= 1.5x")
        self.check(result[ours][1] <= 10, f"upsert N={n:,}: {result[ours][1]} queries <= 10")

    def idempotency(self, n: int) -> None:
        import uuid

        from demo_project.contacts.models import Contact
        from drf_multistatus.models import IdempotencyRecord

        batch = [{"name": f"n{i}", "email": f"k{i}@example.com", "age": 1} for i in range(n)]
        key = {"HTTP_IDEMPOTENCY_KEY": '"bench-replay"'}

        def reset():
            Contact.objects.all().delete()
            IdempotencyRecord.objects.all().delete()

        def reset_and_run_once():
            reset()
            self.post("/contacts/", batch, **key)

        def keyed():
            self.post("/contacts/", batch, HTTP_IDEMPOTENCY_KEY=f'"{uuid.uuid4()}"')

        ways = [
            ("create, no key", lambda: self.post("/contacts/", batch), reset),
            ("create with an Idempotency-Key", keyed, reset),
            (
                "replay of a keyed create",
                lambda: self.post("/contacts/", batch, **key),
                reset_and_run_once,
            ),
        ]
        rows = []
        for name, run, reset_fn in ways:
            times, queries = self.measure(run, reset_fn, self.repeat)
            rows.append((name, times, queries))
        plain, with_key, replay = (name for name, _run, _reset in ways)
        result = self.table("Idempotency-Key", n, rows, [plain, with_key])
        cost = result[with_key][0] / result[plain][0]
        speedup = result[with_key][0] / result[replay][0]
        self.check(cost <= 1.10, f"keyed create N={n:,}: {cost:.2f}x unkeyed <= 1.10x")
        self.check(speedup >= 5, f"replay N={n:,}: {speedup:.1f}x faster than the first run >= 5x")

    # relations -------------------------------------------------------------------------------

    def relations(self) -> Related:
        """The objects every article names, made once per database, and a client authenticated
        as the user who owns the folders (another user owns as many, which the field hides)."""
        if self.related is None:
            from django.contrib.auth.models import User
            from rest_framework.test import APIClient

            from tests.testapp.models import Category, Folder, Label, Section

            user = User.objects.create_user("bench")
            other = User.objects.create_user("bench-other")
            sections = Section.objects.bulk_create(Section(name=f"s{i}") for i in range(20))
            categories = Category.objects.bulk_create(
                Category(slug=f"c{i}", name=f"c{i}") for i in range(20)
            )
            labels = Label.objects.bulk_create(Label(name=f"l{i}") for i in range(50))
            folders = Folder.objects.bulk_create(
                Folder(owner=owner, name=f"f{i}") for owner in (user, other) for i in range(10)
            )
            client = APIClient()
            client.force_authenticate(user)
            self.related = Related(
                client=client,
                sections=[section.pk for section in sections],
                categories={category.slug: category.pk for category in categories},
                labels=[label.pk for label in labels],
                folders=[folder.pk for folder in folders if folder.owner_id == user.pk],
            )
        return self.related

    def send(self, method: str, url: str, body: object, expected: int) -> None:
        """One request of the relation scenarios, as the user owning the folders."""
        response = self.relations().client.generic(
            method, url, json.dumps(body), "application/json", HTTP_ACCEPT="application/json"
        )
        assert response.status_code == expected, response.content[:300]

    def check_relation_queries(self, verb: str, n: int, queries: int, limit: int = 16) -> None:
        """At most ``limit`` queries, and as many as at the first size measured."""
        first_n, first = self.relation_queries.setdefault(verb, (n, queries))
        same = f", as at N={first_n:,}" if first_n != n else ""
        self.check(
            queries <= limit and queries == first,
            f"{verb} with four relations N={n:,}: {queries} queries{same} <= {limit}",
        )

    def create_with_relations(self, n: int) -> None:
        from tests.testapp.models import Article, FlatArticle

        related = self.relations()
        batch = [related.article(i) for i in range(n)]
        flat = [dict(item) for item in batch]  # the same values, none of them a relation

        def reset():
            Article.objects.all().delete()
            FlatArticle.objects.all().delete()

        def singles():
            for item in batch:
                self.send("POST", "/plain-articles/", item, 201)

        slow = max(1, self.repeat // 3)
        ways = [
            (f"{n:,} single POSTs (DRF)", singles, slow if n <= 1000 else 0, batch),
            (
                "one POST, serializer(many=True)",
                lambda: self.send("POST", "/listserializer-articles/", batch, 201),
                slow if n >= 1000 else self.repeat,
                batch,
            ),
            (
                "drf-multistatus, the same rows without relations",
                lambda: self.send("POST", "/flat-articles/", flat, 207),
                self.repeat,
                flat,
            ),
            (
                "drf-multistatus, JSON",
                lambda: self.send("POST", "/articles/", batch, 207),
                self.repeat,
                batch,
            ),
        ]
        self.relation_table("bulk create with four relations", "create", n, ways, reset)

    def update_with_relations(self, n: int) -> None:
        from tests.testapp.models import Article, FlatArticle

        related = self.relations()
        current: list = []
        flat: list = []

        def reset():
            Article.objects.all().delete()
            FlatArticle.objects.all().delete()
            rows = [related.article(i) for i in range(n)]
            objs = Article.objects.bulk_create(
                Article(
                    code=row["code"],
                    title=row["title"],
                    section_id=row["section"],
                    category_id=related.categories[row["category"]],
                    folder_id=row["folder"],
                )
                for row in rows
            )
            Article.labels.through.objects.bulk_create(
                Article.labels.through(article_id=obj.pk, label_id=label)
                for obj, row in zip(objs, rows, strict=True)
                for label in row["labels"]
            )
            flats = FlatArticle.objects.bulk_create(
                FlatArticle(
                    **{name: row[name] for name in ("code", "title", "section", "category")},
                    labels=row["labels"],
                    folder=row["folder"],
                )
                for row in rows
            )
            current[:] = [related.change(i, obj.pk) for i, obj in enumerate(objs)]
            flat[:] = [{**item, "id": obj.pk} for obj, item in zip(flats, current, strict=True)]

        def singles():
            for item in current:
                self.send("PATCH", f"/plain-articles/{item['id']}/", item, 200)

        slow = max(1, self.repeat // 3)
        ways = [
            (f"{n:,} single PATCHes (DRF)", singles, slow if n <= 1000 else 0, current),
            (
                "one PATCH, serializer(many=True)",
                lambda: self.send("PATCH", "/listserializer-articles/", current, 200),
                slow if n >= 1000 else self.repeat,
                current,
            ),
            (
                "drf-multistatus, the same rows without relations",
                lambda: self.send("PATCH", "/flat-articles/", flat, 207),
                self.repeat,
                flat,
            ),
            (
                "drf-multistatus, JSON",
                lambda: self.send("PATCH", "/articles/", current, 207),
                self.repeat,
                current,
            ),
        ]
        self.relation_table("bulk update (PATCH) with four relations", "update", n, ways, reset)

    def relation_table(
        self, title: str, verb: str, n: int, ways: list[tuple], reset: Callable[[], object]
    ) -> None:
        """Measure the ways, each checked to have written every item with its relations, and
        print and judge the table: singles, serializer(many=True), flat rows, ours."""
        from tests.testapp.models import Article, FlatArticle

        related = self.relations()
        rows = []
        for name, run, repeat, items in ways:
            times, queries = self.measure(run, reset, repeat) if repeat else ([], 0)
            if repeat:
                related.verify(items, FlatArticle if "without relations" in name else Article)
            rows.append((name, times, queries))
        many, base, ours = (way[0] for way in ways[1:])
        result = self.table(title, n, rows, [base, many])
        self.check_relation_queries(verb, n, result[ours][1])
        ratio = result[ours][0] / result[base][0]
        self.check(
            ratio <= 2,
            f"{verb} with four relations N={n:,}: {ratio:.2f}x the same rows without <= 2x",
        )
        ratio = result[ours][0] / result[many][0]
        self.check(
            ratio < 1,
            f"{verb} with four relations N={n:,}: {ratio:.2f}x serializer(many=True) < 1x",
        )

    def minimal(self, n: int) -> None:
        """What ``Prefer: return=minimal`` saves: body bytes and render time."""
        from rest_framework.renderers import JSONRenderer
        from rest_framework.test import APIRequestFactory

        from drf_multistatus.renderers import MultiStatusXMLRenderer
        from drf_multistatus.results import MultiStatus

        results = created_results(n)
        context = {"request": APIRequestFactory().post("/api/contacts/")}
        print(f"### Prefer: return=minimal, {n:,} created items\n")
        print("| body | full | minimal | saved |\n|---|---|---|---|")
        for name, renderer in (("JSON", JSONRenderer()), ("XML", MultiStatusXMLRenderer())):
            sizes, medians = [], []
            for minimal in (False, True):
                data = MultiStatus(results=results, minimal=minimal).as_data()
                times = []
                for _ in range(self.repeat):
                    start = time.perf_counter()
                    body = renderer.render(data, renderer_context=context)
                    times.append(time.perf_counter() - start)
                sizes.append(len(body))
                medians.append(statistics.median(times))
            print(
                f"| {name} bytes | {sizes[0]:,} | {sizes[1]:,} | {1 - sizes[1] / sizes[0]:.0%} |\n"
                f"| {name} render | {medians[0] * 1000:,.1f} ms | {medians[1] * 1000:,.1f} ms "
                f"| {1 - medians[1] / medians[0]:.0%} |"
            )
        print()

    def guarded(self, n: int) -> None:
        """What etags and dry runs cost: a PATCH of ``n`` contacts with the default etags, with
        an ``_if_match`` on every item, and as a dry run, next to the same PATCH with an etag
        that costs nothing (a constant); and a create, real and dry."""
        from demo_project.contacts.models import Contact
        from drf_multistatus.etags import etag_of

        bodies: dict[bool, list] = {}

        def reset():
            Contact.objects.all().delete()
            Contact.objects.bulk_create(
                Contact(name=f"n{i}", email=f"g{i}@example.com", age=1) for i in range(n)
            )
            contacts = list(Contact.objects.all())
            bodies[False] = [{"id": c.pk, "age": 7} for c in contacts]
            bodies[True] = [{"id": c.pk, "age": 7, "_if_match": etag_of(c)} for c in contacts]

        def patch(url: str, guarded: bool = False, **headers: str) -> Callable[[], None]:
            def run() -> None:
                body = self.patch(url, bodies[guarded], **headers)
                assert body["summary"]["by_status"] == {"200": n}, body["summary"]

            return run

        new = [{"name": f"c{i}", "email": f"c{i}@example.com", "age": 3} for i in range(n)]

        def reset_empty():
            Contact.objects.all().delete()

        def create(**headers: str) -> Callable[[], None]:
            return lambda: self.post("/contacts/", new, **headers)

        dry = {"HTTP_PREFER": "tx=rollback"}
        ways = [
            ("PATCH, a constant etag", patch("/constant-etag/"), reset),
            ("PATCH, default etags", patch("/contacts/"), reset),
            ("PATCH, _if_match on every item", patch("/contacts/", guarded=True), reset),
            ("PATCH, dry run", patch("/contacts/", **dry), reset),
            ("POST (create)", create(), reset_empty),
            ("POST (create), dry run", create(**dry), reset_empty),
        ]
        rows = self.interleaved(ways, max(self.repeat, 9))
        base = ways[0][0]
        result = self.table("etags and dry runs", n, rows, [base, ways[1][0]])
        for name in (ways[1][0], ways[2][0]):
            ratio = result[name][0] / result[base][0]
            self.check(ratio <= 1.10, f"{name} N={n:,}: {ratio:.2f}x a constant etag <= 1.10x")
        for dry_name, real_name in ((ways[3][0], ways[1][0]), (ways[5][0], ways[4][0])):
            ratio = result[dry_name][0] / result[real_name][0]
            self.check(ratio <= 1.10, f"{dry_name} N={n:,}: {ratio:.2f}x the real one <= 1.10x")

    def job(self, n: int) -> None:
        """A background job of ``n`` creates run by one real ``db_worker`` process, against the
        same items sent synchronously in requests of 1,000."""
        from django.db import connection

        from demo_project.contacts.models import Contact
        from drf_multistatus.models import BulkJob

        batch = [{"name": f"n{i}", "email": f"j{i}@example.com", "age": 1} for i in range(n)]
        Contact.objects.all().delete()
        start = time.perf_counter()
        for offset in range(0, n, 1000):
            self.post("/contacts/", batch[offset : offset + 1000])
        sync = time.perf_counter() - start
        Contact.objects.all().delete()

        settings = connection.settings_dict
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "bench.settings"}
        env["DATABASE_URL"] = (
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
        )
        worker = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "db_worker",
                "--interval",
                "0.1",
                "--no-startup-delay",
                "--no-reload",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(2)  # the worker starts up
            start = time.perf_counter()
            response = self.client.post(
                "/contacts/",
                json.dumps(batch),
                content_type="application/json",
                HTTP_PREFER="respond-async",
            )
            assert response.status_code == 202, response.content[:300]
            job_id = response.json()["id"]
            beats, peak = [], 0
            while True:
                job = BulkJob.objects.get(pk=job_id)
                if not beats or beats[-1][1] != job.done:
                    beats.append((time.perf_counter(), job.done))
                peak = max(peak, rss_peak(worker.pid))
                if job.ended:
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - start
        finally:
            worker.terminate()
            worker.wait()
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(beats)]
        ratio = elapsed / sync
        print(f"### background job of {n:,} creates, one db_worker\n")
        print("| way | total | x synchronous |\n|---|---|---|")
        print(f"| {n // 1000:,} synchronous POSTs of 1,000 | {sync:,.1f} s | 1.00 |")
        print(
            f"| one POST, Prefer: respond-async, until the job ended | {elapsed:,.1f} s "
            f"| {ratio:.2f} |"
        )
        print(
            f"\nworker peak RSS {peak / 2**20:,.0f} MiB; progress updates: {len(beats)}, "
            f"longest gap {max(gaps, default=0):.2f} s; "
            f"{Contact.objects.count():,} rows, by status {job.counts}\n"
        )
        self.check(ratio <= 1.5, f"job N={n:,}: {ratio:.2f}x synchronous <= 1.5x")
        self.check(peak <= 250 * 2**20, f"job N={n:,}: worker peak {peak / 2**20:,.0f} MiB <= 250")
        self.check(max(gaps, default=0) <= 5, f"job N={n:,}: progress every <= 5 s")

    def rendering(self, n: int) -> None:
        from rest_framework.renderers import JSONRenderer
        from rest_framework.test import APIRequestFactory

        from drf_multistatus.renderers import MultiStatusXMLRenderer
        from drf_multistatus.results import MultiStatus

        results = created_results(n)
        data = MultiStatus(results=results).as_data()
        context = {"request": APIRequestFactory().post("/api/contacts/")}
        timings = {}
        for name, renderer in (("JSON", JSONRenderer()), ("XML", MultiStatusXMLRenderer())):
            times = []
            for _ in range(self.repeat):
                start = time.perf_counter()
                renderer.render(data, renderer_context=context)
                times.append(time.perf_counter() - start)
            timings[name] = statistics.median(times)
        ratio = timings["XML"] / timings["JSON"]
        print(f"### rendering {n:,} results\n")
        print("| renderer | median | x JSON |\n|---|---|---|")
        for name, median in timings.items():
            print(f"| {name} | {median * 1000:,.1f} ms | {median / timings['JSON']:.2f} |")
        print()
        self.check(ratio <= 1.2, f"render {n:,} results: XML {ratio:.2f}x JSON <= 1.2x")

    def memory(self, sizes: list[int]) -> None:
        from demo_project.contacts.models import Contact

        print("### peak memory of one bulk create (tracemalloc)\n")
        print("| N | peak | per item |\n|---|---|---|")
        per_item = []
        for n in sizes:
            Contact.objects.all().delete()
            batch = [{"name": f"n{i}", "email": f"m{i}@example.com", "age": 1} for i in range(n)]
            body = json.dumps(batch)
            gc.collect()
            tracemalloc.start()
            self.client.post("/contacts/", body, content_type="application/json")
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            per_item.append(peak / n)
            print(f"| {n:,} | {peak / 2**20:,.1f} MiB | {peak / n / 1024:,.1f} KiB |")
        print()
        spread = max(per_item) / min(per_item)
        self.check(
            spread <= 1.5, f"memory per item varies {spread:.2f}x across N (linear: <= 1.5x)"
        )


@dataclasses.dataclass
class Related:
    """What the relation scenarios name: a section by id, a category by slug, two or three
    labels by id and one of the user's folders per article, all taken in turn."""

    client: APIClient
    sections: list[int]
    categories: dict[str, int]
    labels: list[int]
    folders: list[int]

    def article(self, i: int) -> dict:
        labels = [self.labels[i % 50], self.labels[(i + 7) % 50]]
        if i % 2:
            labels.append(self.labels[(i + 19) % 50])
        return {
            "code": f"a{i}",
            "title": f"t{i}",
            "section": self.sections[i % len(self.sections)],
            "category": list(self.categories)[i % len(self.categories)],
            "labels": labels,
            "folder": self.folders[i % len(self.folders)],
        }

    def change(self, i: int, pk: int) -> dict:
        """A PATCH of article ``i`` naming all four relations: a new title and category, one
        label kept and the others replaced by one or two new ones, the same section and folder."""
        labels = [self.labels[(i + 7) % 50], self.labels[(i + 23) % 50]]
        if i % 3 == 0:
            labels.append(self.labels[(i + 31) % 50])
        article = self.article(i)
        return {
            "id": pk,
            "title": f"u{i}",
            "section": article["section"],
            "category": list(self.categories)[(i + 1) % len(self.categories)],
            "labels": labels,
            "folder": article["folder"],
        }

    def verify(self, items: list[dict], model: type) -> None:
        """The table holds exactly what ``items`` wrote, relations included."""
        from tests.testapp.models import FlatArticle

        flat = model is FlatArticle
        fields = [name for name in ("title", "section", "category", "folder") if name in items[0]]
        fields += ["labels"] if flat else []
        key = "id" if "id" in items[0] else "code"
        found = {row[0]: list(row[1:]) for row in model.objects.values_list(key, *fields)}
        expected = {
            item[key]: [
                self.categories[item[field]] if field == "category" and not flat else item[field]
                for field in fields
            ]
            for item in items
        }
        assert found == expected, f"{model.__name__} rows differ from the items sent"
        if "labels" in items[0] and not flat:
            through = model.labels.through.objects.values_list(f"article__{key}", "label_id")
            pairs = {(item[key], label) for item in items for label in item["labels"]}
            assert set(through) == pairs, f"{model.__name__} labels differ from the items sent"


def created_results(n: int) -> list:
    """``n`` results of created contacts, as a bulk create answers them."""
    from drf_multistatus.results import ItemResult

    return [
        ItemResult(
            index=i,
            status=201,
            href=f"http://testserver/api/contacts/{i}/",
            data={"id": i, "name": f"n{i}", "email": f"u{i}@example.com", "age": i % 100},
        )
        for i in range(n)
    ]


def rss_peak(pid: int) -> int:
    """A process's peak resident memory (VmHWM), in bytes; 0 where /proc has no answer."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    main()
