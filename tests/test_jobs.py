"""Background jobs in the test process (an immediate task backend); the tests with real worker
processes are in ``test_workers.py``."""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from demo_project.contacts.models import Contact
from drf_multistatus.models import BulkJob, BulkJobChunk

from .conftest import NS, make_user, parse_multistatus, xml_results

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"
ASYNC = {"HTTP_PREFER": "respond-async"}


def items(n, prefix="c"):
    return [{"name": f"n{i}", "email": f"{prefix}{i}@example.com"} for i in range(n)]


def submit(api, body, method="post", url=URL, **headers):
    return getattr(api, method)(url, body, format="json", **{**ASYNC, **headers})


@override_settings(DRF_MULTISTATUS={"JOB_CHUNK_SIZE": 4})
def test_round_trip_equals_the_synchronous_answer(api, run_jobs):
    batch = items(10)
    batch[3] = {"name": "", "email": "bad"}
    batch[7] = {"name": "dup", "email": "c0@example.com"}
    response = submit(api, batch)
    assert response.status_code == 202
    assert response["Preference-Applied"] == "respond-async"
    job_url = response["Location"]
    assert job_url == response.json()["href"]
    assert job_url.startswith("http://testserver/") and "/bulk-jobs/" in job_url
    assert response.json()["total"] == 10
    done = api.get(job_url)
    assert done.status_code == 207
    results = done.json()["results"]
    assert [r["index"] for r in results] == list(range(10))
    assert [r["status"] for r in results].count(201) == 8
    assert results[3]["status"] == 422 and results[7]["status"] == 409
    assert BulkJobChunk.objects.count() == 3
    # The same batch sent synchronously, on a fresh table, answers the same.
    Contact.objects.all().delete()
    sync = api.post(URL, batch, format="json").json()["results"]
    assert [(r["index"], r["status"]) for r in sync] == [(r["index"], r["status"]) for r in results]
    xml = api.get(job_url, HTTP_ACCEPT="application/xml")
    assert [r["status"] for r in xml_results(parse_multistatus(xml.content))][:4] == [
        201,
        201,
        201,
        422,
    ]


@override_settings(DRF_MULTISTATUS={"JOB_CHUNK_SIZE": 2})
def test_a_second_item_naming_a_target_in_another_chunk_is_409_as_in_one_batch(api, run_jobs):
    ada = Contact.objects.create(name="A", email="a@x.io")
    batch = [{"id": ada.id, "name": "one"}, {"id": 10**9}, {"id": ada.id, "name": "two"}]
    job_url = submit(api, batch, "patch")["Location"]
    results = api.get(job_url).json()["results"]
    assert [r["status"] for r in results] == [200, 404, 409]
    assert results[2]["errors"] == {"id": ["Item 0 of this batch already targets this object."]}
    assert Contact.objects.get().name == "one"


def test_every_verb_and_upsert_run_in_the_background(api, run_jobs):
    Contact.objects.create(name="A", email="a@x.io")
    upsert = submit(
        api,
        [{"name": "A2", "email": "a@x.io"}, {"name": "B", "email": "b@x.io"}],
        HTTP_PREFER="respond-async, resolution=merge-duplicates",
    )
    assert upsert["Preference-Applied"] == "respond-async, resolution=merge-duplicates"
    assert [r["status"] for r in api.get(upsert["Location"]).json()["results"]] == [200, 201]
    ids = list(Contact.objects.values_list("id", flat=True))
    delete = submit(api, [{"id": i} for i in ids], "delete")
    assert [r["status"] for r in api.get(delete["Location"]).json()["results"]] == [204, 204]
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("url", "batch"),
    [
        ("/api/tags/", [{"slug": "a", "label": "A"}, {"slug": "", "label": "B"}, 7]),
        (URL, [{"name": "", "email": "bad"}, "text", {"id": 10**9}]),
    ],
)
def test_an_ended_job_answers_the_synchronous_xml(api, run_jobs, url, batch):
    """The same document, propstat style (``/api/tags/``) included; items without a resource
    get the hrefs of the request's URL, which answer their 404."""
    xml = {"HTTP_ACCEPT": "application/xml", "HTTP_X_REQUEST_ID": "import-3"}
    synchronous = api.post(url, batch, format="json", **xml)
    job_url = submit(api, batch, url=url, HTTP_X_REQUEST_ID="import-3")["Location"]
    ended = api.get(job_url, **xml)
    assert ended.status_code == synchronous.status_code == 207
    assert ended.content == synchronous.content
    href = parse_multistatus(ended.content).findall("d:response/d:href", NS)[1].text
    assert href == f"http://testserver{url}~item/1"
    assert (
        api.get(href, HTTP_ACCEPT="application/json")
        .json()["detail"]
        .startswith("This URL names item 1")
    )


@override_settings(DRF_MULTISTATUS={"OUTER_STATUS": "when-mixed", "JOB_CHUNK_SIZE": 2})
def test_an_ended_job_answers_the_views_outer_status(api, run_jobs):
    assert api.get(submit(api, items(3))["Location"]).status_code == 201
    mixed = [*items(2, "m"), {"name": "", "email": "bad"}]
    assert api.get(submit(api, mixed)["Location"]).status_code == 207


def test_atomic_jobs_roll_back_as_a_whole(api, run_jobs):
    batch = [*items(3), {"name": "", "email": "bad"}]
    job_url = submit(api, batch, url=URL + "?atomic=true")["Location"]
    body = api.get(job_url).json()
    assert [r["status"] for r in body["results"]] == [424, 424, 424, 422]
    assert body["summary"]["atomic"] is True
    assert not Contact.objects.exists()


def test_return_minimal_in_the_background_and_synchronously(api, run_jobs):
    prefer = "respond-async, return=minimal"
    response = submit(api, items(2), HTTP_PREFER=prefer)
    assert response["Preference-Applied"] == "respond-async, return=minimal"
    results = api.get(response["Location"]).json()["results"]
    assert all("data" not in r and "href" in r for r in results)
    sync = api.post(URL, items(2, "m"), format="json", HTTP_PREFER="return=minimal")
    assert sync["Preference-Applied"] == "return=minimal"
    assert all(set(r) == {"index", "status", "href", "etag"} for r in sync.json()["results"])
    xml = api.post(
        URL, items(1, "x"), format="json", HTTP_PREFER="return=minimal", HTTP_ACCEPT="text/xml"
    )
    assert xml_results(parse_multistatus(xml.content))[0]["data"] is None


def test_only_the_owner_and_staff_see_a_job(api, run_jobs):
    ann, bob = make_user("ann"), make_user("bob")
    staff = make_user("boss")
    staff.is_staff = True
    staff.save()
    api.force_authenticate(ann)
    job_url = submit(api, items(1))["Location"]
    assert api.get(job_url).status_code == 207
    for other in (bob, None):
        api.force_authenticate(other)
        assert api.get(job_url).status_code == 404
        assert api.delete(job_url).status_code == 404
    api.force_authenticate(staff)
    assert api.get(job_url).status_code == 207
    assert BulkJob.objects.get().owner == ann


def test_a_running_job_shows_its_progress_and_can_be_cancelled(api):
    """Without running the queued job: its state, then a cancel, then the 424 of unrun items."""
    from drf_multistatus.worker import run_job

    with override_settings(DRF_MULTISTATUS={"JOB_CHUNK_SIZE": 2}):
        response = submit(api, items(5))  # queued: no commit callbacks run in this test
        job_url = response["Location"]
        state = api.get(job_url)
        assert state.status_code == 200
        assert state["Retry-After"] == "1"
        assert {k: state.json()[k] for k in ("state", "total", "done", "by_status")} == {
            "state": "queued",
            "total": 5,
            "done": 0,
            "by_status": {},
        }
        assert api.delete(job_url).status_code == 202
        run_job(response.json()["id"])
    body = api.get(job_url)
    assert body.status_code == 207
    assert {r["status"] for r in body.json()["results"]} == {424}
    assert body.json()["results"][0]["errors"] == {
        "detail": "Not run: the job was cancelled before this item's turn."
    }
    assert BulkJob.objects.get().state == "cancelled"
    assert api.delete(job_url).status_code == 409
    assert not Contact.objects.exists()


@override_settings(DRF_MULTISTATUS={"JOB_CHUNK_SIZE": 2})
def test_a_job_that_raises_outside_its_items_ends_failed(api, monkeypatch):
    """Not resumed into the same error forever: the chunks committed stay, the others are 500."""
    from drf_multistatus import tasks, worker
    from drf_multistatus.exceptions import JobFailed

    record_progress = worker.record_progress
    calls = []

    def breaks_on_the_second_chunk(job_id, results):
        calls.append(job_id)
        if len(calls) == 2:
            raise RuntimeError("boom")
        record_progress(job_id, results)

    monkeypatch.setattr(worker, "record_progress", breaks_on_the_second_chunk)
    response = submit(api, items(5))
    worker.run_job(response.json()["id"])
    job = BulkJob.objects.get()
    assert job.state == "failed" and job.ended
    body = api.get(response["Location"])
    assert body.status_code == 207
    assert [r["status"] for r in body.json()["results"]] == [201, 201, 500, 500, 500]
    assert body.json()["results"][2]["errors"] == {"detail": str(JobFailed.default_detail)}
    assert body.json()["results"][2]["code"] == "job_failed"
    # The second chunk's writes rolled back with it; the first chunk's stay.
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "c0@example.com",
        "c1@example.com",
    ]
    job.heartbeat = job.created  # long stale
    job.save()
    assert not tasks.resume_if_stale(job)  # ended: never enqueued again
    assert api.delete(response["Location"]).status_code == 409


def test_limits(api, settings):
    settings.DRF_MULTISTATUS = {"MAX_BATCH_SIZE": 2, "MAX_BACKGROUND_BATCH_SIZE": 3}
    assert api.post(URL, items(3), format="json").status_code == 413
    assert submit(api, items(3)).status_code == 202
    too_many = submit(api, items(4))
    assert too_many.status_code == 413
    assert too_many.json() == {"detail": "A batch may hold at most 3 items; this one holds more."}
    assert BulkJob.objects.count() == 1 and BulkJobChunk.objects.count() == 1  # nothing stored


def test_the_job_runs_as_the_submitting_user_with_their_permissions(api, run_jobs):
    from tests.testapp.models import Note

    ann = make_user("ann2", "add_note", "change_note", "view_note")
    bob = make_user("bob2", "add_note", "change_note", "view_note")
    theirs = Note.objects.create(owner=bob, title="theirs", public=True)
    api.force_authenticate(ann)
    response = api.patch("/test/notes/", [{"id": theirs.id, "title": "x"}], format="json", **ASYNC)
    body = api.get(response["Location"]).json()
    assert [r["status"] for r in body["results"]] == [403]
    created = api.post("/test/notes/", [{"title": "mine"}], format="json", **ASYNC)
    assert [r["status"] for r in api.get(created["Location"]).json()["results"]] == [201]
    assert Note.objects.get(title="mine").owner == ann


def test_a_log_record_and_a_signal_when_a_job_starts_and_ends(api, run_jobs, caplog):
    import logging

    from drf_multistatus.signals import bulk_job_finished, bulk_job_started

    seen = []
    started = lambda sender, job, **kw: seen.append(("started", job.state))  # noqa: E731
    finished = lambda sender, job, **kw: seen.append(("finished", job.state, job.counts))  # noqa: E731
    bulk_job_started.connect(started)
    bulk_job_finished.connect(finished)
    try:
        with caplog.at_level(logging.INFO, logger="drf_multistatus"):
            submit(api, items(2))
    finally:
        bulk_job_started.disconnect(started)
        bulk_job_finished.disconnect(finished)
    assert seen == [("started", "running"), ("finished", "finished", {"201": 2})]
    messages = [r.getMessage() for r in caplog.records if r.name == "drf_multistatus"]
    assert any(m.startswith("bulk job") and "started" in m for m in messages)
    assert any("finished: 2 items (201: 2)" in m for m in messages)


def test_prune_bulk_jobs_deletes_the_jobs_ended_long_ago(api, run_jobs):
    import datetime
    import io

    from django.core.management import call_command
    from django.utils import timezone

    old, recent = (submit(api, items(1, prefix)).json()["id"] for prefix in ("o", "r"))
    long_ago = timezone.now() - datetime.timedelta(days=8)
    BulkJob.objects.filter(pk=old).update(finished=long_ago)
    output = io.StringIO()
    call_command("prune_bulk_jobs", stdout=output)
    assert output.getvalue().strip() == "Deleted 1 job(s)."
    assert list(BulkJob.objects.values_list("pk", flat=True)) == [uuid.UUID(recent)]
    assert not BulkJobChunk.objects.filter(job_id=old).exists()


def test_without_a_task_framework_respond_async_is_ignored_and_a_check_warns(api, monkeypatch):
    """RFC 7240 lets a server ignore a preference: the batch runs at once, and
    ``Preference-Applied`` does not name it."""
    from django.core import checks

    from drf_multistatus import tasks

    assert not [m for m in checks.run_checks(tags=[checks.Tags.urls]) if m.id.endswith("W001")]
    monkeypatch.setattr(tasks, "UNAVAILABLE", "no task framework is installed")
    response = submit(api, items(2), HTTP_PREFER="respond-async, return=minimal")
    assert response.status_code == 207
    assert response["Preference-Applied"] == "return=minimal"
    assert Contact.objects.count() == 2 and not BulkJob.objects.exists()
    warnings = [m for m in checks.run_checks(tags=[checks.Tags.urls]) if m.id.endswith("W001")]
    assert len(warnings) == 1 and "no task framework is installed" in warnings[0].msg


@pytest.mark.parametrize("change", ["deactivated", "deleted"])
def test_a_job_whose_user_is_gone_or_inactive_writes_nothing(api, change):
    """Its user is read again when it runs: every item refused, 403 ``user_inactive``."""
    from drf_multistatus.worker import run_job

    ann, staff = make_user("ann", "add_contact"), make_user("boss")
    staff.is_staff = True
    staff.save()
    api.force_authenticate(ann)
    response = submit(api, items(3))
    if change == "deactivated":
        ann.is_active = False
        ann.save()
    else:
        ann.delete()
    run_job(response.json()["id"])
    api.force_authenticate(staff)
    body = api.get(response["Location"]).json()
    assert {(r["status"], r["code"]) for r in body["results"]} == {(403, "user_inactive")}
    assert not Contact.objects.exists()
    api.force_authenticate(None)
    assert api.get(response["Location"]).status_code == 404  # not an anonymous job
