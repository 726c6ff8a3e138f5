"""The README's examples, pasted in order into a shell against the demo, answer what the README
prints.

Each ```sh block that calls curl on the demo (or runs ``demo_payload``) is one example; the
```http, ```json and ```xml blocks right after it are what it prints. The demo is a fresh SQLite
file, migrated and seeded as ``make demo`` does, served by ``runserver`` with a ``db_worker``
beside it. Each block runs through bash as written, but for the server's port and the Python
that runs ``manage.py``. Set aside: the port, UUIDs (a UUID the README repeats must be repeated)
and whatever the README writes as "…" (any string, the rest of a string, the rest of a list or
object, an XML element's whole content or the rest of its children). Status lines, the headers
the README shows, and the bodies (JSON as data, XML as a tree) must match, ids included: the
examples start from the sample data, as the README says.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command
from lxml import etree

from demo_project.contacts.serializers import ContactSerializer
from drf_multistatus.client import wait_for_job

from .conftest import ROOT, demo_env, manage, scratch_database, serve

README = ROOT / "README.md"
README_BASE = "http://127.0.0.1:8000"
ANY = "…"
OUTPUT_LANGUAGES = ("http", "json", "xml")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MANAGE_PY = re.compile(r"(?<![\w/.-])(?:\.venv/bin/)?python3?[ \t]+manage\.py\b")
REQUEST_LINE = re.compile(r"-X[ \t]+([A-Z]+)[ \t]+" + re.escape(README_BASE) + r"(\S*)")


@dataclass
class Block:
    language: str
    line: int
    text: str


@dataclass
class Example:
    script: Block
    outputs: list[Block] = field(default_factory=list)

    @property
    def name(self) -> str:
        request = REQUEST_LINE.search(self.script.text)
        what = f"{request[1]} {request[2]}" if request else self.script.text.split("\n")[0]
        return f"line {self.script.line}: {what}"


def is_example(block: Block) -> bool:
    if block.language != "sh":
        return False
    return ("curl" in block.text and README_BASE in block.text) or "demo_payload" in block.text


def read_examples(text: str) -> list[Example]:
    """The examples, each with the output blocks that follow it with nothing else between."""
    examples: list[Example] = []
    current: Example | None = None
    end = 0
    for match in FENCE.finditer(text):
        block = Block(match[1], text.count("\n", 0, match.start()) + 1, match[2])
        adjacent = not text[end : match.start()].strip()
        end = match.end()
        if is_example(block):
            current = Example(block)
            examples.append(current)
        elif current is not None and adjacent and block.language in OUTPUT_LANGUAGES:
            current.outputs.append(block)
        else:
            current = None
    return examples


EXAMPLES = read_examples(README.read_text(encoding="utf-8"))


# -- Running the examples --------------------------------------------------------------------


@dataclass
class Answer:
    stdout: str
    status_line: str | None  # None when the command printed no headers
    headers: list[tuple[str, str]]
    body: str


def split_answer(stdout: str) -> Answer:
    """curl's output: with -i, a status line and headers (after any interim 1xx answers, such as
    the 100 Continue curl asks for before a big body), then the body."""
    rest = stdout
    while rest.startswith("HTTP/"):
        head, _, rest = rest.partition("\r\n\r\n")
        status_line, *lines = head.split("\r\n")
        if not re.match(r"HTTP/\S+ 1\d\d\b", status_line):
            parts = (line.partition(":") for line in lines)
            headers = [(name.strip(), value.strip()) for name, _, value in parts]
            return Answer(stdout, status_line, headers, rest)
    return Answer(stdout, None, [], rest)


@contextlib.contextmanager
def db_worker(env: dict[str, str], log: Path) -> Iterator[None]:
    command = ["db_worker", "--interval", "0.1", "--no-startup-delay", "--no-reload"]
    with log.open("a") as output:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *command],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
        try:
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class ReadmeDemo:
    """Runs the examples in README order, each once, whichever test asks first."""

    def __init__(self, base: str, env: dict[str, str], folder: Path) -> None:
        self.base, self.env, self.folder = base, env, folder
        self.answers: list[Answer] = []

    def script(self, example: Example) -> str:
        python = f"{shlex.quote(sys.executable)} {shlex.quote(str(ROOT / 'manage.py'))}"
        return MANAGE_PY.sub(python, example.script.text.replace(README_BASE, self.base))

    def answer(self, number: int) -> Answer:
        while len(self.answers) <= number:
            example = EXAMPLES[len(self.answers)]
            done = subprocess.run(
                ["bash", "-e", "-c", self.script(example)],
                env=self.env,
                cwd=self.folder,
                capture_output=True,
                timeout=120,
            )
            assert done.returncode == 0, (
                f"README.md {example.name} failed ({done.returncode}):\n"
                + done.stderr.decode(errors="replace")[-3000:]
            )
            stdout = done.stdout.decode().replace(self.base, README_BASE)
            self.answers.append(split_answer(stdout))
        return self.answers[number]


@pytest.fixture(scope="module")
def readme_demo(tmp_path_factory) -> Iterator[ReadmeDemo]:
    if shutil.which("curl") is None:
        if os.environ.get("CI"):
            pytest.fail("curl is required in CI")
        pytest.skip("no curl")
    folder = tmp_path_factory.mktemp("readme")
    env = demo_env(folder / "demo.sqlite3", DJANGO_DEBUG="0")
    env.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1", CURL_HOME=str(folder))
    manage(env, "migrate", "-v0")
    manage(env, "seed_demo")
    with (
        serve(env, "runserver", folder / "server.log") as base,
        db_worker(env, folder / "worker.log"),
    ):
        yield ReadmeDemo(base, env, folder)


# -- Comparing -------------------------------------------------------------------------------


class Matcher:
    """Compares README text with the demo's, one example at a time: "…" matches anything, and
    each README UUID stands for one UUID of the demo's answer, and no two for the same."""

    def __init__(self) -> None:
        self.uuids: dict[str, str] = {}

    def text(self, expected: str, actual: str) -> bool:
        pattern, names = "", []
        for piece in re.split(f"({UUID.pattern}|{ANY})", expected):
            if piece == ANY:
                pattern += ".*"
            elif UUID.fullmatch(piece):
                pattern += f"({UUID.pattern})"
                names.append(piece)
            else:
                pattern += re.escape(piece)
        match = re.fullmatch(pattern, actual, re.DOTALL)
        if match is None:
            return False
        uuids = dict(self.uuids)
        for readme_uuid, demo_uuid in zip(names, match.groups(), strict=True):
            if uuids.setdefault(readme_uuid, demo_uuid) != demo_uuid:
                return False
        if len(set(uuids.values())) < len(uuids):
            return False
        self.uuids = uuids
        return True

    def json(self, expected: Any, actual: Any, path: str = "body") -> list[str]:
        if expected == ANY:
            return []
        if isinstance(expected, dict) and isinstance(actual, dict):
            differences = []
            for key, value in expected.items():
                if key == ANY:
                    continue
                if key not in actual:
                    differences.append(f"{path}.{key}: README {dump(value)}, demo has no {key!r}")
                else:
                    differences += self.json(value, actual[key], f"{path}.{key}")
            if ANY not in expected:
                differences += [
                    f"{path}.{key}: demo {dump(actual[key])}, README has no {key!r}"
                    for key in actual
                    if key not in expected
                ]
            return differences
        if isinstance(expected, list) and isinstance(actual, list):
            open_ended = bool(expected) and expected[-1] == ANY
            items = expected[:-1] if open_ended else expected
            differences = []
            for number, (e, a) in enumerate(zip(items, actual, strict=False)):
                differences += self.json(e, a, f"{path}[{number}]")
            if len(actual) < len(items):
                differences.append(f"{path}: README {len(items)} items, demo {len(actual)}")
            elif len(actual) > len(items) and not open_ended:
                further = dump(actual[len(items) :])[:300]
                differences.append(
                    f"{path}: README {len(items)} items, demo {len(actual)}, further: {further}"
                )
            return differences
        if isinstance(expected, str) and isinstance(actual, str):
            same = self.text(expected, actual)
        else:
            same = type(expected) is type(actual) and expected == actual
        return [] if same else [f"{path}: README {dump(expected)}, demo {dump(actual)}"]

    def xml(self, expected: Any, actual: Any, path: str = "") -> list[str]:
        path = f"{path}/{qualified(expected)}"
        parent = expected.getparent()
        if parent is not None and len(same := parent.findall(expected.tag)) > 1:
            path += f"[{same.index(expected) + 1}]"
        if expected.tag != actual.tag:
            return [f"{path}: README <{qualified(expected)}>, demo <{qualified(actual)}>"]
        differences = []
        if expected.getparent() is None and dict(expected.nsmap) != dict(actual.nsmap):
            differences.append(f"{path}: namespaces README {expected.nsmap}, demo {actual.nsmap}")
        for name in sorted(set(expected.attrib) | set(actual.attrib)):
            e, a = expected.get(name), actual.get(name)
            if e is None or a is None or not self.text(e, a):
                differences.append(f"{path}/@{qualified(expected, name)}: README {e!r}, demo {a!r}")
        if words(expected.text) == ANY and len(expected) == 0:
            return differences
        if not self.text(words(expected.text), words(actual.text)):
            differences.append(
                f"{path}: README text {words(expected.text)!r}, demo {words(actual.text)!r}"
            )
        open_ended = len(expected) > 0 and words(expected[-1].tail) == ANY
        for e, a in zip(expected, actual, strict=False):
            differences += self.xml(e, a, path)
        if len(actual) < len(expected) or (len(actual) > len(expected) and not open_ended):
            differences.append(
                f"{path}: README {len(expected)} child elements, demo {len(actual)} "
                f"({', '.join(qualified(child) for child in actual)})"
            )
        return differences


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def words(text: str | None) -> str:
    return " ".join((text or "").split())


def qualified(element: Any, attribute: str | None = None) -> str:
    """The element's name, or one of its attributes', with the prefix the document gives it."""
    name = etree.QName(attribute or element)
    prefixes = {uri: prefix for prefix, uri in element.nsmap.items() if prefix}
    prefix = prefixes.get(name.namespace) if name.namespace else None
    return f"{prefix}:{name.localname}" if prefix else name.localname


def parse_xml(text: str) -> Any:
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False)
    return etree.fromstring(text.strip().encode(), parser)


def compare(example: Example, answer: Answer) -> list[str]:
    matcher = Matcher()
    differences = []
    shown = [block for block in example.outputs if block.language == "http"]
    bodies = [block for block in example.outputs if block.language != "http"]
    if shown and answer.status_line is None:
        differences.append("the README shows a status line and headers; the command prints none")
    elif answer.status_line is not None and not shown:
        differences.append(f"the command prints headers ({answer.status_line}); README shows none")
    elif shown and answer.status_line is not None:
        status_line, *lines = shown[0].text.strip().splitlines()
        if not matcher.text(status_line, answer.status_line):
            differences.append(f"status: README {status_line!r}, demo {answer.status_line!r}")
        for line in lines:
            name, _, value = (part.strip() for part in line.partition(":"))
            values = [v for n, v in answer.headers if n.lower() == name.lower()]
            if not any(matcher.text(value, v) for v in values):
                differences.append(f"header {name}: README {value!r}, demo {values or 'none'}")
    for block in bodies[:1]:
        if not answer.body.strip():
            differences.append(f"the README shows a {block.language} body; the demo sent none")
        elif block.language == "json":
            try:
                actual = json.loads(answer.body)
            except ValueError:
                differences.append(f"the demo's body is not JSON: {answer.body[:300]!r}")
            else:
                differences += matcher.json(json.loads(block.text), actual)
        else:
            try:
                actual = parse_xml(answer.body)
            except etree.XMLSyntaxError as exc:
                differences.append(f"the demo's body is not XML ({exc}): {answer.body[:300]!r}")
            else:
                differences += matcher.xml(parse_xml(block.text), actual)
    if not bodies and answer.body.strip():
        differences.append(f"the demo sent a body the README does not show: {answer.body[:300]!r}")
    return differences


# -- The tests -------------------------------------------------------------------------------


def test_the_readme_has_its_examples():
    """Guards the reading of the README: examples of every kind are found, each with its output."""
    languages = {block.language for example in EXAMPLES for block in example.outputs}
    assert languages == set(OUTPUT_LANGUAGES), [example.name for example in EXAMPLES]
    assert any("demo_payload" in example.script.text for example in EXAMPLES)
    for example in EXAMPLES:
        assert example.outputs, f"README.md {example.name} shows no output to compare"
        assert len([b for b in example.outputs if b.language != "http"]) <= 1, example.name


@pytest.mark.parametrize("number", range(len(EXAMPLES)), ids=[e.name for e in EXAMPLES])
def test_example_answers_what_the_readme_prints(readme_demo, number):
    """Runs the README's examples up to this one, in order; compares this one's answer."""
    example = EXAMPLES[number]
    answer = readme_demo.answer(number)
    differences = compare(example, answer)
    assert not differences, (
        f"README.md {example.name} prints something else than the demo answers:\n  "
        + "\n  ".join(differences)
        + f"\nThe demo printed:\n{answer.stdout[:3000]}"
    )


def test_the_job_ends_with_every_item_created(readme_demo):
    """The background job's items are valid, distinct new contacts: every one is created."""
    number = next(n for n, e in enumerate(EXAMPLES) if "respond-async" in e.script.text)
    count = int(re.search(r"demo_payload (\d+)", EXAMPLES[number].script.text)[1])
    answer = readme_demo.answer(number)
    location = dict(answer.headers)["Location"].replace(README_BASE, readme_demo.base)
    with requests.Session() as session:
        session.auth = ("demo", "demo")
        body = wait_for_job(session, location, interval=0.2, timeout=120)
    assert body.summary["by_status"] == {"201": count}


@pytest.mark.django_db
def test_demo_payload_is_the_same_every_time_and_valid():
    def payload(count: int) -> list[dict]:
        output = io.StringIO()
        call_command("demo_payload", str(count), stdout=output)
        return json.loads(output.getvalue())

    items = payload(120)
    assert items == payload(120)
    assert payload(3) == items[:3]
    assert payload(0) == []
    assert len({item["email"] for item in items}) == 120
    assert [item["email"] for item in items] == sorted(item["email"] for item in items)
    for item in items:
        serializer = ContactSerializer(data=item)
        assert serializer.is_valid(), (item, serializer.errors)


def run_sql(database: str | Path, sql: str) -> list[tuple]:
    if isinstance(database, Path):
        with contextlib.closing(sqlite3.connect(database)) as connection, connection:
            return connection.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(database) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else []


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_seed_demo_reset_starts_ids_again_from_1(vendor, tmp_path):
    with contextlib.ExitStack() as stack:
        if vendor == "sqlite":
            database: str | Path = tmp_path / "demo.sqlite3"
            env = demo_env(database)
        else:
            database = stack.enter_context(scratch_database("readme"))
            env = demo_env(DATABASE_URL=database)
        manage(env, "migrate", "-v0")
        manage(env, "seed_demo")
        manage(env, "seed_demo")  # idempotent
        contacts = "SELECT id, email, company_id FROM contacts_contact ORDER BY id"
        companies = "SELECT id, name FROM contacts_company ORDER BY id"
        seeded = run_sql(database, contacts), run_sql(database, companies)
        assert [row[0] for row in seeded[0]] == [1, 2, 3]
        assert [row[0] for row in seeded[1]] == [1, 2, 3]
        run_sql(database, "INSERT INTO contacts_company (name) VALUES ('Extra')")
        run_sql(database, "DELETE FROM contacts_company WHERE id = 3")
        run_sql(database, "INSERT INTO contacts_contact (name, email) VALUES ('X', 'x@x.io')")
        manage(env, "seed_demo", "--reset")
        assert (run_sql(database, contacts), run_sql(database, companies)) == seeded
        assert run_sql(database, "SELECT username FROM auth_user") == [("demo",)]
        new = "INSERT INTO contacts_contact (name, email) VALUES ('Lin', 'lin@x.io') RETURNING id"
        assert run_sql(database, new) == [(4,)]
