"""The browsable API in a real Chromium, against the demo served by a real HTTP server."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from .conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def find_chromium() -> str | None:
    candidates = [os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"]
    return next((shutil.which(c) for c in candidates if c and shutil.which(c)), None)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (Debian package 'chromium').")
        pytest.skip("no Chromium on this machine (install Debian's 'chromium' to run this test)")
    return path


def rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


def log_in(page, base: str, then: str) -> None:
    """Log in as the demo user through DRF's login view, as a person would."""
    page.goto(f"{base}/api-auth/login/?next={then}")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("[type=submit]")


def test_bulk_create_and_update_through_the_browsable_api(chromium_path, demo):
    from playwright.sync_api import sync_playwright

    base, database = demo
    ARTIFACTS.mkdir(exist_ok=True)
    before = rows(database, "SELECT email FROM contacts_contact ORDER BY email")
    batch = [
        {"name": "Lin", "email": "lin@example.com", "age": 29},
        {"name": "", "email": "not-an-email"},
        {"name": "Lin again", "email": "lin@example.com"},
        {"name": "Ada twin", "email": "ada@example.com"},
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(15_000)

        log_in(page, base, "/api/contacts/")
        page.wait_for_url(f"{base}/api/contacts/")
        assert "demo" in page.inner_text(".navbar")

        # The bulk POST form is pre-filled with an example array.
        page.click('a[href="#post-generic-content-form"]')
        textarea = page.locator("#post-generic-content-form textarea[name=_content]")
        example = json.loads(textarea.input_value())
        assert isinstance(example, list) and len(example) == 2

        textarea.fill(json.dumps(batch, indent=2))
        page.click("#post-generic-content-form button")
        page.wait_for_selector(".multistatus-results")

        assert "HTTP 207 Multi-Status" in page.inner_text(".response-info")
        items = page.locator("tr.multistatus-item")
        assert items.count() == 4
        shown = [items.nth(i).get_attribute("data-status") for i in range(4)]
        assert shown == ["201", "422", "409", "409"]
        assert "danger" in (items.nth(1).get_attribute("class") or "")
        assert "Enter a valid email address." in items.nth(1).inner_text()
        assert "1 of 4 items succeeded" in page.inner_text(".multistatus-summary")
        page.screenshot(path=str(ARTIFACTS / "browsable-bulk-result.png"), full_page=True)

        # Bulk PATCH through the raw-data form, which DRF's JavaScript sends as PATCH.
        lin_id = rows(database, "SELECT id FROM contacts_contact WHERE email='lin@example.com'")[0][
            0
        ]
        page.goto(f"{base}/api/contacts/")
        put_form = page.locator("#put-generic-content-form")
        edits = [{"id": lin_id, "age": 30}, {"id": 999999, "age": 1}]
        put_form.locator("textarea[name=_content]").fill(json.dumps(edits))
        put_form.locator("button[data-method=PATCH]").click()
        page.wait_for_selector(".multistatus-results")
        items = page.locator("tr.multistatus-item")
        assert [items.nth(i).get_attribute("data-status") for i in range(2)] == ["200", "404"]

        # Bulk DELETE through the same raw-data form, after a confirmation; DRF's own DELETE
        # button, which sends no body, is not offered on the list URL.
        page.goto(f"{base}/api/companies/")
        assert page.locator('button[data-target="#deleteModal"]').count() == 0
        put_form = page.locator("#put-generic-content-form")
        with sqlite3.connect(database) as connection:
            connection.execute("INSERT INTO contacts_company (name) VALUES ('Free 1'), ('Free 2')")
        free = rows(
            database, "SELECT id FROM contacts_company WHERE name LIKE 'Free %' ORDER BY id"
        )
        busy = rows(
            database, "SELECT company_id FROM contacts_contact WHERE company_id IS NOT NULL"
        )
        targets = [{"id": free_id} for (free_id,) in free] + [{"id": busy[0][0]}]
        put_form.locator("textarea[name=_content]").fill(json.dumps(targets))
        put_form.locator("button.bulk-delete").click()
        page.locator("#bulk-delete-confirm").click()
        page.wait_for_selector(".multistatus-results")
        items = page.locator("tr.multistatus-item")
        assert [items.nth(i).get_attribute("data-status") for i in range(3)] == [
            "204",
            "204",
            "409",
        ]
        assert "success" in (items.nth(0).get_attribute("class") or "")
        assert "1 contact refers to this company" in items.nth(2).inner_text()
        page.screenshot(path=str(ARTIFACTS / "browsable-bulk-delete.png"), full_page=True)

        # The format switcher offers XML, and ?format=xml shows the DAV: document.
        page.goto(f"{base}/api/contacts/")
        formats = page.locator("a.format-option").all_inner_texts()
        assert [f.strip() for f in formats] == ["json", "api", "xml"]
        browser.close()

    assert rows(database, "SELECT name FROM contacts_company WHERE name LIKE 'Free %'") == []
    after = rows(database, "SELECT email, name, age FROM contacts_contact ORDER BY email")
    assert [email for email, *_ in after] == sorted([*[e for (e,) in before], "lin@example.com"])
    assert ("lin@example.com", "Lin", 30) in after


def test_job_page_shows_progress_then_the_results(chromium_path, demo, tmp_path):
    """A background job seen in the browser: a progress bar that refreshes itself while no
    worker runs, then, once a worker ran the job, the result table."""
    import requests
    from playwright.sync_api import sync_playwright

    from .conftest import demo_env
    from .test_workers import worker

    base, database = demo
    items = [{"name": f"j{i}", "email": f"job{i}@example.com"} for i in range(1500)]
    items[3] = {"name": "", "email": "bad"}
    response = requests.post(
        f"{base}/api/contacts/",
        json=items,
        auth=("demo", "demo"),
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 202
    job_url = response.headers["Location"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        log_in(page, base, job_url.removeprefix(base))
        page.wait_for_selector(".bulk-job")
        assert page.get_attribute(".bulk-job", "data-state") == "queued"
        assert page.inner_text(".progress-bar").strip() == "0%"
        page.screenshot(path=str(ARTIFACTS / "browsable-job-progress.png"), full_page=True)
        with worker(demo_env(database), tmp_path / "worker.log"):
            page.wait_for_selector(".multistatus-results", timeout=60_000)
        assert "HTTP 207 Multi-Status" in page.inner_text(".response-info")
        assert "1499 of 1500 items succeeded" in page.inner_text(".multistatus-summary")
        assert page.locator("tr.multistatus-item").nth(3).get_attribute("data-status") == "422"

        page.click("a.multistatus-filter:text('Failed')")
        page.wait_for_url("**/results/?status=failed")
        assert [
            row.get_attribute("data-index") for row in page.locator("tr.multistatus-item").all()
        ] == ["3"]
        download = page.get_attribute("a.multistatus-download:text('CSV')", "href")
        assert download.endswith("results/?status=failed&format=csv")
        exported = requests.get(base + download, auth=("demo", "demo"))
        assert exported.headers["Content-Type"].startswith("text/csv")
        assert exported.text.splitlines()[0].startswith("_index,_status,")
        assert exported.text.splitlines()[1].startswith("3,422,")

        page.goto(job_url + "results/?page_size=500")
        page.click("a[rel=next]")
        page.wait_for_selector("tr.multistatus-item[data-index='500']")
        assert "Results 500 to 999" in page.inner_text(".multistatus-pages")
        page.click("a[rel=prev]")
        page.wait_for_selector("tr.multistatus-item[data-index='0']")
        assert page.locator("tr.multistatus-item").count() == 500
        page.screenshot(path=str(ARTIFACTS / "browsable-job-results.png"), full_page=True)
        browser.close()
    assert rows(database, "SELECT count(*) FROM contacts_contact WHERE email LIKE 'job%'") == [
        (1499,)
    ]


def test_job_page_cancels_through_drfs_delete_dialog(chromium_path, demo, tmp_path):
    """While no worker runs, the job stays queued and its page refreshes itself (with or without
    JavaScript), but never under DRF's open DELETE dialog; once confirmed, the page says the
    cancel is pending, then, when a worker has acted on it, that the job was cancelled."""
    import requests
    from playwright.sync_api import sync_playwright

    from .conftest import demo_env
    from .test_workers import worker

    base, database = demo
    items = [{"name": f"c{i}", "email": f"cancelled{i}@example.com"} for i in range(40)]
    response = requests.post(
        f"{base}/api/contacts/",
        json=items,
        auth=("demo", "demo"),
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 202
    job_url = response.headers["Location"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)

        # Without JavaScript, the page refreshes itself all the same.
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, base, job_url.removeprefix(base))
        page.wait_for_selector(".bulk-job")
        assert page.get_attribute(".bulk-job", "data-state") == "queued"
        with page.expect_event("load", timeout=5_000):
            pass
        context.close()

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        log_in(page, base, job_url.removeprefix(base))
        page.wait_for_selector(".bulk-job")
        assert page.get_attribute(".bulk-job", "data-state") == "queued"
        assert page.locator(".bulk-job-cancelling").count() == 0
        with page.expect_event("load", timeout=5_000):  # idle, the page refreshes itself
            pass

        loads: list[str] = []
        page.on("load", lambda loaded: loads.append(loaded.url))
        page.click('button[data-target="#deleteModal"]')
        dialog = page.locator("#deleteModal")
        dialog.wait_for(state="visible")
        for _ in range(4):  # four refresh periods and more
            page.wait_for_timeout(1_000)
            assert dialog.is_visible()
        assert loads == []
        page.screenshot(path=str(ARTIFACTS / "browsable-job-cancel-dialog.png"), full_page=True)

        dialog.locator("form[data-method=DELETE] button").click()
        page.wait_for_selector(".bulk-job-cancelling")
        assert "HTTP 202 Accepted" in page.inner_text(".response-info")
        assert "Cancelling" in page.inner_text(".bulk-job")
        assert "stops before its next chunk" in page.inner_text(".bulk-job")
        assert '"cancel_requested": true' in page.inner_text(".response-info")
        page.screenshot(path=str(ARTIFACTS / "browsable-job-cancelling.png"), full_page=True)

        with worker(demo_env(database), tmp_path / "worker.log"):
            page.wait_for_selector(".bulk-job-outcome", timeout=60_000)
        outcome = page.inner_text(".bulk-job-outcome")
        assert "This job was cancelled: 0 of 40 items ran, 40 were not run" in outcome
        assert '"code": "cancelled"' in page.inner_text(".response-info")
        shown = page.locator("tr.multistatus-item")
        assert shown.count() == 40
        assert {shown.nth(i).get_attribute("data-status") for i in range(40)} == {"424"}
        page.screenshot(path=str(ARTIFACTS / "browsable-job-cancelled.png"), full_page=True)
        browser.close()
    assert requests.get(job_url, auth=("demo", "demo")).json()["results"][0]["code"] == "cancelled"
    created = rows(database, "SELECT count(*) FROM contacts_contact WHERE email LIKE 'cancelled%'")
    assert created == [(0,)]


def test_a_large_ended_job_page_loads_quickly_and_pages(chromium_path, demo, tmp_path):
    """A job past JOB_INLINE_RESULTS: its page holds the counts of every item and one page of
    results, loads at once, and pages on."""
    import time

    import requests
    from playwright.sync_api import sync_playwright

    from .conftest import demo_env
    from .test_workers import worker

    base, database = demo
    items = [{"name": f"L{i}", "email": f"large{i:05d}@example.com"} for i in range(12_000)]
    items[11_500] = {"name": "", "email": "bad"}
    with worker(demo_env(database), tmp_path / "worker.log"), requests.Session() as session:
        session.auth = ("demo", "demo")
        response = session.post(
            f"{base}/api/contacts/", json=items, headers={"Prefer": "respond-async"}
        )
        assert response.status_code == 202
        job_url = response.headers["Location"]
        deadline = time.monotonic() + 120
        while session.get(job_url, headers={"Accept": "application/json"}).status_code == 200:
            assert time.monotonic() < deadline, "the job did not end"
            time.sleep(0.2)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        log_in(page, base, job_url.removeprefix(base))
        started = time.monotonic()
        page.goto(job_url)
        page.wait_for_selector("tr.multistatus-item[data-index='999']")
        loaded = time.monotonic() - started
        assert "11999 of 12000 items succeeded" in page.inner_text(".multistatus-summary")
        assert page.locator("tr.multistatus-item").count() == 1000
        assert "Results 0 to 999" in page.inner_text(".multistatus-pages")
        assert loaded < 5, f"the page took {loaded:.1f} s"
        page.click("a[rel=next]")
        page.wait_for_selector("tr.multistatus-item[data-index='1000']")
        assert "Results 1000 to 1999" in page.inner_text(".multistatus-pages")
        page.click("a.multistatus-filter:text('Failed')")
        page.wait_for_selector("tr.multistatus-item[data-index='11500']")
        assert page.locator("tr.multistatus-item").count() == 1
        browser.close()


def test_a_dry_run_from_the_browsable_forms_answers_and_writes_nothing(chromium_path, demo):
    from playwright.sync_api import sync_playwright

    base, database = demo
    query = "SELECT id, name, email, age FROM contacts_contact ORDER BY id"
    before = rows(database, query)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(15_000)
        log_in(page, base, "/api/contacts/")
        page.wait_for_url(f"{base}/api/contacts/")

        page.click('a[href="#post-generic-content-form"]')
        post_form = page.locator("#post-generic-content-form")
        batch = [{"name": "Dry", "email": "dry@example.com"}, {"name": "Bad", "email": "no"}]
        post_form.locator("textarea[name=_content]").fill(json.dumps(batch))
        post_form.locator(".bulk-dry-run input").check()
        post_form.locator("button").first.click()
        page.wait_for_selector(".multistatus-results")
        assert "Dry run" in page.inner_text(".multistatus-dry-run")
        assert "Preference-Applied: tx=rollback" in page.inner_text(".response-info")
        items = page.locator("tr.multistatus-item")
        assert [items.nth(i).get_attribute("data-status") for i in range(2)] == ["201", "422"]
        page.screenshot(path=str(ARTIFACTS / "browsable-dry-run.png"), full_page=True)
        # The edit form offers the objects that exist: none the dry run only imagined.
        edits = page.locator("#put-generic-content-form textarea[name=_content]").input_value()
        assert "dry@example.com" not in edits

        # One object, not an array, cannot be a dry run: refused, not written.
        post_form = page.locator("#post-generic-content-form")
        one = {"name": "One", "email": "one@example.com"}
        post_form.locator("textarea[name=_content]").fill(json.dumps(one))
        post_form.locator(".bulk-dry-run input").check()
        post_form.locator("button").first.click()
        page.wait_for_selector(".response-info:has-text('HTTP 400 Bad Request')")
        assert "tx=rollback" in page.inner_text(".response-info")

        # A PATCH from the other raw-data form, ticked: answered, not written.
        page.goto(f"{base}/api/contacts/")
        put_form = page.locator("#put-generic-content-form")
        first_id = before[0][0]
        put_form.locator("textarea[name=_content]").fill(json.dumps([{"id": first_id, "age": 7}]))
        put_form.locator(".bulk-dry-run input").check()
        put_form.locator("button[data-method=PATCH]").click()
        page.wait_for_selector(".multistatus-results")
        assert page.locator(".multistatus-dry-run").count() == 1
        assert rows(database, query) == before

        page.goto(f"{base}/api/contacts/")
        put_form = page.locator("#put-generic-content-form")
        put_form.locator("textarea[name=_content]").fill(json.dumps([{"id": first_id, "age": 7}]))
        put_form.locator("button[data-method=PATCH]").click()
        page.wait_for_selector(".multistatus-results")
        assert page.locator(".multistatus-dry-run").count() == 0
        browser.close()
    assert rows(database, f"SELECT age FROM contacts_contact WHERE id = {first_id}") == [(7,)]
