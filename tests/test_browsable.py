"""The browsable API on bulk views, through Django's test client (the browser test is apart)."""

from __future__ import annotations

import json

import pytest
from lxml import html

from demo_project.contacts.models import Contact

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"


def page(api, url=URL):
    response = api.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    return html.fromstring(response.content)


def raw_content(doc, method: str) -> str:
    """The raw-data textarea of the form that sends ``method``."""
    forms = doc.xpath(f'//form[@method="{method}" or @data-method="{method}"][.//textarea]')
    return forms[0].xpath('.//textarea[@name="_content"]')[0].text_content()


def test_post_raw_form_is_prefilled_with_a_valid_example_array(api):
    """Many-to-many fields show the first object they may name."""
    from demo_project.contacts.models import Tag

    Tag.objects.create(slug="work", label="Work")
    doc = page(api)
    example = json.loads(raw_content(doc, "POST"))
    assert example == [
        {
            "name": "Name 1",
            "email": "email1@example.com",
            "age": 50,
            "company": None,
            "tags": ["work"],
        },
        {
            "name": "Name 2",
            "email": "email2@example.com",
            "age": 100,
            "company": None,
            "tags": ["work"],
        },
    ]
    response = api.post(URL, example, format="json")
    assert [r["status"] for r in response.json()["results"]] == [201, 201]
    assert [r["data"]["tags"] for r in response.json()["results"]] == [["work"], ["work"]]


def test_put_patch_raw_form_lists_objects_of_the_page(api):
    ann = Contact.objects.create(name="Ann", email="ann@example.com", age=3)
    doc = page(api)
    example = json.loads(raw_content(doc, "PUT"))
    assert example == [
        {
            "id": ann.id,
            "name": "Ann",
            "email": "ann@example.com",
            "age": 3,
            "company": None,
            "tags": [],
        }
    ]
    # The list page offers PUT/PATCH only as raw data: an HTML form cannot send an array.
    assert not doc.xpath('//form[@data-method="PUT"][not(.//textarea)]')
    assert doc.xpath('//button[@data-method="PATCH"]')


def test_bulk_result_page_shows_a_row_per_item(api):
    batch = [{"name": "A", "email": "a@example.com"}, {"name": "B", "email": "nope"}]
    response = api.post(URL, batch, format="json", HTTP_ACCEPT="text/html")
    assert response.status_code == 207
    doc = html.fromstring(response.content)
    assert "HTTP 207 Multi-Status" in doc.xpath('string(//div[@class="response-info"])')
    rows = doc.xpath('//tr[contains(@class, "multistatus-item")]')
    assert [row.get("data-status") for row in rows] == ["201", "422"]
    assert "success" in rows[0].get("class") and "danger" in rows[1].get("class")
    assert rows[1].xpath('string(td[@class="message"])') == "email: Enter a valid email address."
    assert "1 of 2 items succeeded" in doc.xpath('string(//p[@class="multistatus-summary"])')


def test_format_switcher_lists_xml_once_and_detail_pages_are_plain_drf(api):
    doc = page(api)
    formats = [
        a.text_content().strip() for a in doc.xpath('//a[contains(@class, "format-option")]')
    ]
    assert formats == ["json", "api", "xml"]
    ann = Contact.objects.create(name="Ann", email="ann@example.com")
    detail = page(api, f"{URL}{ann.id}/")
    # Single-object HTML form as in DRF.
    assert detail.xpath('//form[@data-method="PUT"]//input[@name="email"]')
    content = json.loads(raw_content(detail, "PUT"))
    assert content == {
        "id": ann.id,
        "name": "Ann",
        "email": "ann@example.com",
        "age": None,
        "company": None,
        "tags": [],
    }


def test_list_page_offers_bulk_delete_through_the_raw_form_only(api):
    doc = page(api)
    assert not doc.xpath('//button[@data-target="#deleteModal"]')  # DRF's sends no body
    assert doc.xpath('//div[@id="bulkDeleteModal"]')
    detail = page(api, f"{URL}{Contact.objects.create(name='A', email='a@x.io').id}/")
    assert detail.xpath('//button[@data-target="#deleteModal"]')  # the detail page is DRF's
    assert not detail.xpath('//div[@id="bulkDeleteModal"]')
