"""Whole-request behaviour: errors before any item runs, outer status, settings, routing."""

from __future__ import annotations

import pytest
from django.test import override_settings

from demo_project.contacts.models import Contact
from drf_multistatus.results import ItemResult
from drf_multistatus.settings import multistatus_settings
from tests.testapp.models import Note

from .conftest import make_user, statuses

pytestmark = pytest.mark.django_db

URL = "/api/contacts/"


def items(n: int, start: int = 0) -> list[dict]:
    return [{"name": f"n{i}", "email": f"u{i}@example.com"} for i in range(start, start + n)]


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    ("body", "type_name"),
    [('{"id": 1}', "dict"), ('"text"', "str"), ("3", "int"), ("null", "NoneType")],
)
def test_update_body_that_is_not_a_list_is_400(api, method, body, type_name):
    response = getattr(api, method)(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": f'Expected a list of items but got type "{type_name}".'}


def test_post_of_a_non_object_non_list_is_drf_400(api):
    response = api.post(URL, "text", format="json")
    assert response.status_code == 400
    assert Contact.objects.count() == 0


def test_batch_over_the_limit_is_413_and_saves_nothing(api):
    with override_settings(DRF_MULTISTATUS={"MAX_BATCH_SIZE": 3}):
        response = api.post(URL, items(4), format="json")
        assert response.status_code == 413
        assert response.json() == {
            "detail": "A batch may hold at most 3 items; this one holds 4. Send it with the "
            "header Prefer: respond-async to run up to 1000000 items as a background job."
        }
        assert statuses(api.post(URL, items(3), format="json")) == [201, 201, 201]
    assert Contact.objects.count() == 3


def test_default_limit_is_1000(api):
    assert multistatus_settings.MAX_BATCH_SIZE == 1000
    response = api.post(URL, items(1001), format="json")
    assert response.status_code == 413
    assert Contact.objects.count() == 0


def test_empty_batch_is_207_with_no_results(api):
    for method in ("post", "put", "patch"):
        response = getattr(api, method)(URL, [], format="json")
        assert response.status_code == 207
        assert response.json() == {
            "results": [],
            "summary": {
                "total": 0,
                "succeeded": 0,
                "failed": 0,
                "atomic": False,
                "by_status": {},
                "request_id": response["X-Request-ID"],
            },
        }


def test_authentication_and_permissions_are_checked_before_any_item(api, user):
    anonymous = api.post("/test/notes/", [{"title": "x"}], format="json")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Basic")
    wrong_password = api.post(
        "/test/notes/", [{"title": "x"}], format="json", HTTP_AUTHORIZATION="Basic YW5uOndyb25n"
    )
    assert wrong_password.status_code == 401
    api.force_authenticate(make_user("viewer", "view_note"))
    forbidden = api.patch("/test/notes/", [{"id": 1, "title": "x"}], format="json")
    assert forbidden.status_code == 403
    assert forbidden.json() == {"detail": "You do not have permission to perform this action."}
    assert Note.objects.count() == 0


def test_disallowed_method_is_405(api):
    assert api.generic("TRACE", URL).status_code == 405


def test_plain_model_viewset_on_bulk_router_is_unchanged():
    from rest_framework import viewsets

    from demo_project.contacts.models import Tag
    from demo_project.contacts.serializers import TagSerializer
    from drf_multistatus import BulkRouter

    class PlainViewSet(viewsets.ModelViewSet):
        queryset = Tag.objects.all()
        serializer_class = TagSerializer

    router = BulkRouter()
    router.register("plain", PlainViewSet)
    list_view = next(p for p in router.urls if p.name == "tag-list").callback
    assert set(list_view.actions) == {"get", "post"}


@override_settings(DRF_MULTISTATUS={"OUTER_STATUS": "when-mixed"})
def test_when_mixed_policy_answers_the_shared_status(api):
    assert api.post(URL, items(2), format="json").status_code == 201
    mixed = api.post(URL, [*items(1, 5), {"name": "x"}], format="json")
    assert mixed.status_code == 207
    same_failure = api.post(URL, [{"name": "x"}, {"name": "y"}], format="json")
    assert same_failure.status_code == 422
    assert statuses(same_failure) == [422, 422]


def test_always_policy_is_the_default(api):
    assert multistatus_settings.OUTER_STATUS == "always"
    assert api.post(URL, items(2), format="json").status_code == 207


def test_unknown_setting_is_an_error():
    with override_settings(DRF_MULTISTATUS={"MAX_BATCH": 1}), pytest.raises(RuntimeError) as exc:
        multistatus_settings.MAX_BATCH_SIZE  # noqa: B018
    assert "MAX_BATCH" in str(exc.value)
    with (
        override_settings(DRF_MULTISTATUS={"OUTER_STATUS": "sometimes"}),
        pytest.raises(RuntimeError),
    ):
        multistatus_settings.OUTER_STATUS  # noqa: B018


def test_item_results_never_record_1xx():
    with pytest.raises(ValueError):
        ItemResult(index=0, status=100)


def test_json_negotiation(api):
    for kwargs in ({"HTTP_ACCEPT": "application/json"}, {}):
        response = api.post(URL, items(1), format="json", **kwargs)
        assert response["Content-Type"] == "application/json"
    response = api.post(URL + "?format=json", items(1, 9), format="json")
    assert response["Content-Type"] == "application/json"


def test_browsable_api_renders_list_and_bulk_results(api):
    Contact.objects.create(name="Ann", email="ann@example.com")
    page = api.get(URL, HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert "Ann" in page.content.decode()
    bulk = api.post(URL, items(2), format="json", HTTP_ACCEPT="text/html")
    assert bulk.status_code == 207
    assert "HTTP 207 Multi-Status" in bulk.content.decode()
    detail = api.get(
        f"{URL}{Contact.objects.get(email='ann@example.com').id}/", HTTP_ACCEPT="text/html"
    )
    assert detail.status_code == 200


def test_database_is_the_one_ci_asked_for():
    import os

    from django.db import connection

    expected = os.environ.get("EXPECTED_DB_VENDOR")
    if expected:
        assert connection.vendor == expected
    else:
        assert connection.vendor in {"sqlite", "postgresql"}


@pytest.mark.parametrize("slug", ["plain", "with-dash_9", "a.b", "sp ace", "ünï", "x%2F", "9" * 19])
def test_item_hrefs_equal_what_reverse_returns(slug):
    from rest_framework.test import APIRequestFactory

    from demo_project.contacts.models import Tag
    from demo_project.contacts.views import TagViewSet

    view = TagViewSet(basename="tag", action_map={"get": "list"}, format_kwarg=None)
    view.request = view.initialize_request(APIRequestFactory().get("/api/tags/?format=xml"))
    tag = Tag(slug=slug, label="x")
    assert view.detail_hrefs.template == ["http://testserver/api/tags/", "/"]
    assert view.get_item_href(tag) == view.detail_hrefs.reverse(slug)
