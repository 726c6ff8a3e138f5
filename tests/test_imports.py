"""Batches sent as JSON arrays, JSON lines and CSV, now and in the background: the same rows
answer the same whatever the format; what is wrong with a line or row is that item's 400; what
is wrong with the body refuses it and stores nothing."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import override_settings

from demo_project.contacts.models import Company, Contact, Tag
from drf_multistatus.bodies import csv_cell
from drf_multistatus.models import BulkJob, BulkJobChunk

from .conftest import statuses

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
FORMATS = ("json", "ndjson", "csv")
CONTENT_TYPES = {"json": "application/json", "ndjson": "application/x-ndjson", "csv": "text/csv"}


def encode(format: str, rows: list[Any]) -> bytes:
    """``rows`` as a body of ``format``: a CSV's columns are every key, in order met, and a row
    without one leaves its cell empty."""
    if format == "json":
        return json.dumps(rows).encode()
    if format == "ndjson":
        return b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    names = list(dict.fromkeys(name for row in rows for name in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([csv_cell(row[name]) if name in row else "" for name in names])
    return buffer.getvalue().encode()


def send(api, format: str, rows: list[Any], method: str = "post", prefer: str = "", **extra):
    body = rows if isinstance(rows, bytes) else encode(format, rows)
    headers = {"HTTP_PREFER": prefer} if prefer else {}
    content_type = extra.pop("content_type", CONTENT_TYPES[format])
    return api.generic(method.upper(), URL, body, content_type=content_type, **headers, **extra)


def answer(api, response) -> list[dict[str, Any]]:
    """The batch's results: the 207's own, or those of the job it started."""
    if response.status_code == 202:
        response = api.get(response["Location"])
    assert response.status_code == 207, response.content
    return response.json()["results"]


def table() -> list[tuple[Any, ...]]:
    return [
        (c.email, c.name, c.age, c.company_id, sorted(t.slug for t in c.tags.all()))
        for c in Contact.objects.order_by("email").prefetch_related("tags")
    ]


@pytest.fixture
def world(db):
    """Two tags and a company; two contacts, ``ada`` tagged ``work``."""
    work = Tag.objects.create(slug="work", label="Work")
    Tag.objects.create(slug="home", label="Home")
    acme = Company.objects.create(name="Acme")
    ada = Contact.objects.create(name="Ada", email="ada@example.com", age=36)
    ada.tags.add(work)
    Contact.objects.create(name="Bob", email="bob@example.com")
    return {"acme": acme.pk}


def batches(world: dict[str, int]) -> dict[str, tuple[str, str, list[dict[str, Any]]]]:
    """Per verb, its method, Prefer and rows: each with items that succeed and items that
    fail for each reason a row can."""
    ada, bob = (Contact.objects.get(email=f"{n}@example.com").pk for n in ("ada", "bob"))
    acme = world["acme"]
    return {
        "create": (
            "post",
            "",
            [
                {"name": "Cy", "email": "cy@example.com", "age": 7, "tags": ["home", "work"]},
                {"name": "Di", "email": "not an email"},
                {"name": "Ed", "email": "ada@example.com"},
                {"name": "Fay", "email": "fay@example.com", "company": acme, "tags": []},
                {"name": "Gus", "email": "gus@example.com", "tags": ["nope"]},
                {"name": "Hal", "email": "hal@example.com", "age": None, "nickname": "h"},
            ],
        ),
        "patch": (
            "patch",
            "",
            [
                {"id": ada, "age": 37, "tags": ["home"]},
                {"id": bob, "age": 500},
                {"id": 10**6, "name": "Ghost"},
                {"id": bob, "name": "Bobby", "company": acme},
            ],
        ),
        "put": (
            "put",
            "",
            [
                {"id": ada, "name": "Ada L", "email": "ada@example.com", "age": None},
                {"id": bob, "name": "Bob", "email": "ada@example.com"},
            ],
        ),
        "upsert": (
            "post",
            "resolution=merge-duplicates",
            [
                {"name": "Ada K", "email": "ada@example.com", "tags": ["home", "work"]},
                {"name": "Zed", "email": "zed@example.com", "age": 40},
                {"name": "Y" * 101, "email": "yan@example.com"},
            ],
        ),
        "delete": ("delete", "", [{"id": bob}, {"id": 10**6}, {"id": ada}]),
    }


VERBS = ("create", "patch", "put", "upsert", "delete")


@pytest.mark.parametrize("background", [False, True], ids=["now", "background"])
@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("verb", VERBS)
def test_the_same_rows_answer_the_same_in_every_format(
    api, run_jobs, world, verb, format, background
):
    """Each verb's rows sent as a JSON array now, then, on the same data again, in ``format``
    now or in the background: the same statuses and the same table."""
    method, prefer, rows = batches(world)[verb]
    with_async = ", ".join(p for p in (prefer, "respond-async" if background else "") if p)
    before = table()
    expected = answer(api, send(api, "json", rows, method, prefer))
    expected_table = table()
    assert expected_table != before
    Contact.objects.exclude(email__in=["ada@example.com", "bob@example.com"]).delete()
    for email, name, age, company, tags in before:  # the data as it was, with the same ids
        contact, _ = Contact.objects.update_or_create(
            email=email, defaults={"name": name, "age": age, "company_id": company}
        )
        contact.tags.set(Tag.objects.filter(slug__in=tags))
    if verb == "delete":
        rows = batches(world)[verb][2]  # the ids deleted and made again
    response = send(api, format, rows, method, with_async)
    assert response.status_code == (202 if background else 207)
    got = answer(api, response)
    assert [(r["index"], r["status"]) for r in got] == [(r["index"], r["status"]) for r in expected]
    assert [r.get("errors") for r in got] == [r.get("errors") for r in expected]
    if verb != "delete":
        assert table() == expected_table


@pytest.mark.parametrize("format", ["ndjson", "csv"])
def test_a_file_of_one_row_is_a_batch(api, format):
    response = send(api, format, [{"name": "Cy", "email": "cy@example.com"}])
    assert response.status_code == 207
    assert statuses(response) == [201]


def test_json_lines_blank_lines_and_lines_that_cannot_be_read(api):
    body = b"\n".join(
        [
            b'{"name": "A", "email": "a@example.com"}',
            b"",
            b"   ",
            b'{"name": "B", "email": ',  # not JSON
            b'{"name": "C\xff", "email": "c@example.com"}',  # not UTF-8
            b'{"name": "D\x00", "email": "d@example.com"}',  # a NUL byte
            b'{"name": "E", "email": "e@example.com", "x": "' + b"y" * (1 << 20) + b'"}',
            b'"just a string"',
            b'{"name": "F", "email": "f@example.com"}',
        ]
    )
    response = send(api, "ndjson", body)
    results = response.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, 201),
        (1, 400),
        (2, 400),
        (3, 400),
        (4, 400),
        (5, 400),
        (6, 201),
    ]
    codes = [r.get("code") for r in results[1:6]]
    assert codes == ["parse_error", "invalid_encoding", "invalid_characters", "too_long", None]
    assert "Line 4 is not JSON" in results[1]["errors"]["detail"]
    assert results[3]["errors"]["detail"] == "Line 6 holds a NUL byte."
    assert results[5]["errors"]["non_field_errors"][0].startswith("Invalid data.")
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "f@example.com",
    ]


def csv_body(text: str, encoding: str = "utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def test_csv_cells_empty_null_many_valued_escaped_and_unknown(api, world):
    """An empty cell leaves the field out; ``\\N`` is null; a many-valued field takes a JSON
    array or one value; a ``'`` before a formula character is dropped; an unknown column is
    ignored as an unknown JSON key is; the export's own columns are ignored."""
    body = csv_body(
        "name,email,age,tags,company,nickname,_index,_status,_errors\n"
        'Cy,cy@example.com,,"[""home"", ""work""]",\\N,c,9,422,bad\n'
        "Di,di@example.com,\\N,home,,,,,\n"
        "'=Ed,ed@example.com,30,,,,,,\n"
        ",,,,,,,,\n"
        '"Fay ""F""",fay@example.com,"",[],,,,,\n'
    )
    response = send(api, "csv", body)
    assert statuses(response) == [201, 201, 201, 201]
    rows = {c[0]: c for c in table()}
    assert rows["cy@example.com"] == ("cy@example.com", "Cy", None, None, ["home", "work"])
    assert rows["di@example.com"] == ("di@example.com", "Di", None, None, ["home"])
    assert rows["ed@example.com"][1:3] == ("=Ed", 30)
    assert rows["fay@example.com"][1:] == ('Fay "F"', None, None, [])


def test_csv_rows_that_cannot_be_read_fail_alone(api):
    body = (
        b"name,email\r\n"
        b"A,a@example.com\r\n"
        b"B,b@example.com,extra\r\n"
        b"C\r\n"
        b"D\xff,d@example.com\r\n"
        b"E\x00,e@example.com\r\n"
        b'"F\r\nwith a line break",f@example.com\r\n'
        b"G," + b"g" * (1 << 20) + b"@example.com\r\n"
        b"H,h@example.com\r\n"
    )
    results = send(api, "csv", body).json()["results"]
    assert [r["status"] for r in results] == [201, 400, 400, 400, 400, 201, 400, 201]
    assert [r.get("code") for r in results if r["status"] == 400] == [
        "wrong_cell_count",
        "wrong_cell_count",
        "invalid_encoding",
        "invalid_characters",
        "too_long",
    ]
    assert results[1]["errors"]["detail"] == "Row on line 3 has 3 cells; the header names 2."
    assert Contact.objects.get(email="f@example.com").name == "F\r\nwith a line break"
    assert Contact.objects.count() == 3


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/csv", "\ufeffname,email\nZoë,zoe@example.com\n".encode()),
        ("text/csv; charset=utf-8", "name,email\nZoë,zoe@example.com\n".encode()),
        ("text/csv; charset=latin-1", "name,email\nZoë,zoe@example.com\n".encode("latin-1")),
        ("text/csv; charset=utf-16", "name,email\nZoë,zoe@example.com\n".encode("utf-16")),
        ("text/csv; charset=cp1252", "name,email\nZoë,zoe@example.com\n".encode("cp1252")),
    ],
)
def test_csv_charsets(api, content_type, raw):
    response = send(api, "csv", raw, content_type=content_type)
    assert statuses(response) == [201]
    assert Contact.objects.get().name == "Zoë"


@pytest.mark.parametrize("background", [False, True], ids=["now", "background"])
@pytest.mark.parametrize(
    ("format", "body", "message"),
    [
        ("csv", b"", None),  # no body: an empty batch, nothing to refuse
        ("csv", b"\r\n\r\n", "no header row"),
        ("csv", b"name,email,name\r\nA,a@example.com,B\r\n", "names name more than once"),
        ("csv", b"name,,email\r\nA,,a@example.com\r\n", "has no name"),
        ("csv", b'name,email\r\nA,a@example.com\r\n"B,b@example.com\r\n', "cannot be read past"),
        ("csv", "name\r\nA\r\n".encode("utf-16-le"), None),
        ("json", b'[{"name": "A", "email": "a@example.com"}, {"name": ', "JSON parse error"),
        ("json", b'[{"name": "A", "email": "a@example.com"}] []', "JSON parse error"),
    ],
)
def test_a_body_that_cannot_be_read_as_a_whole_stores_nothing(
    api, run_jobs, format, body, message, background
):
    response = send(api, format, body, prefer="respond-async" if background else "")
    if message is None:  # read as something, not as a batch of contacts
        assert response.status_code in (207, 400)
        assert not Contact.objects.exists()
        return
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    assert message in response.json()["detail"]
    assert not Contact.objects.exists()
    assert not BulkJob.objects.exists() and not BulkJobChunk.objects.exists()


def test_a_charset_python_does_not_know_is_400(api):
    response = send(api, "csv", b"name\r\nA\r\n", content_type="text/csv; charset=klingon")
    assert response.status_code == 400
    assert response.json()["detail"] == "Unknown charset 'klingon'."


def test_an_unknown_content_type_is_415(api):
    response = send(api, "csv", b"name\nA\n", content_type="text/tab-separated-values")
    assert response.status_code == 415
    assert not Contact.objects.exists()


def padded(n: int, pad: int) -> list[dict[str, Any]]:
    """``n`` contacts, each with an unknown field of ``pad`` bytes: a big body of few items."""
    return [{"name": f"n{i}", "email": f"c{i}@example.com", "note": "x" * pad} for i in range(n)]


@pytest.mark.parametrize("format", FORMATS)
def test_a_background_body_far_over_djangos_limit_is_streamed_into_the_job(
    api, run_jobs, settings, format
):
    """Default ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB): a 6 MB body runs in the background;
    the same body sent for now is 413 in JSON."""
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2621440
    rows = padded(1500, 4000)
    body = encode(format, rows)
    assert len(body) > 2 * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    refused = send(api, format, body)
    assert refused.status_code == 413
    assert refused["Content-Type"] == "application/json"
    assert "2621440" in refused.json()["detail"]
    response = send(api, format, body, prefer="respond-async")
    assert response.status_code == 202, response.content
    assert response.json()["total"] == 1500
    assert set(statuses(api.get(response["Location"]))) == {201}
    assert Contact.objects.count() == 1500


@pytest.mark.parametrize("format", FORMATS)
def test_a_background_body_over_its_limit_is_413_and_stores_nothing(api, run_jobs, format):
    body = encode(format, padded(400, 1000))
    with override_settings(DRF_MULTISTATUS={"MAX_BACKGROUND_BODY_SIZE": 100_000}):
        response = send(api, format, body, prefer="respond-async")
        # Told by Content-Length, and, where that header undersells the body, as it is read.
        lying = send(api, format, body, prefer="respond-async", CONTENT_LENGTH=str(len(body)))
    for refused in (response, lying):
        assert refused.status_code == 413
        assert "100000" in refused.json()["detail"]
    assert not BulkJob.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize("format", FORMATS)
def test_a_background_batch_over_its_item_cap_stores_nothing(api, run_jobs, format):
    with override_settings(DRF_MULTISTATUS={"MAX_BACKGROUND_BATCH_SIZE": 10, "JOB_CHUNK_SIZE": 3}):
        response = send(api, format, padded(11, 1), prefer="respond-async")
    assert response.status_code == 413
    assert "10 items" in response.json()["detail"]
    assert not BulkJob.objects.exists() and not BulkJobChunk.objects.exists()


@pytest.mark.parametrize("format", ["ndjson", "csv"])
def test_idempotency_key_of_a_streamed_body_takes_its_digest(api, run_jobs, format):
    rows = padded(5, 10)
    key = {"HTTP_IDEMPOTENCY_KEY": f"import-{format}"}
    first = send(api, format, rows, prefer="respond-async", **key)
    again = send(api, format, rows, prefer="respond-async", **key)
    assert first.status_code == again.status_code == 202
    assert again["Location"] == first["Location"]
    assert BulkJob.objects.count() == 1
    other = send(api, format, padded(6, 10), prefer="respond-async", **key)
    assert other.status_code == 422
    assert BulkJob.objects.count() == 1
