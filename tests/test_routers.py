"""The bulk routers in place of DRF's.

The first part is DRF's own router test module (``tests/test_routers.py``, the same from DRF 3.16
to 3.18) run on ``BulkRouter`` where DRF uses ``SimpleRouter`` and on ``BulkDefaultRouter`` where
it uses ``DefaultRouter``, over this project's test models; where DRF picks a URL by its place in
the list, these tests pick it by name, since a bulk router also routes the job resource. Then
the bulk routers are compared with DRF's URL by URL, and the routes they add are tested in regex
and in path-style routes.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import TestCase
from django.urls import Resolver404, include, path, resolve, reverse
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter, SimpleRouter
from rest_framework.test import APIClient, APIRequestFactory, URLPatternsTestCase
from rest_framework.utils import json

from drf_multistatus import BulkDefaultRouter, BulkRouter
from drf_multistatus.actions import LIST_ROUTES
from drf_multistatus.jobs import BulkJobViewSet
from tests.testapp.models import Event, Gadget
from tests.testapp.views import GadgetViewSet

from .conftest import parse_multistatus, statuses, xml_results

factory = APIRequestFactory()


def named(router, name):
    return next(url for url in router.urls if url.name == name)


# DRF's test module, on the bulk routers ----------------------------------------------------------


class GadgetLinkSerializer(serializers.HyperlinkedModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="gadget-detail", lookup_field="code")

    class Meta:
        model = Gadget
        fields = ("url", "code", "name")


class CodeViewSet(viewsets.ModelViewSet):
    queryset = Gadget.objects.all()
    serializer_class = GadgetLinkSerializer
    lookup_field = "code"


class KWargedCodeViewSet(viewsets.ModelViewSet):
    queryset = Gadget.objects.all()
    serializer_class = GadgetLinkSerializer
    lookup_field = "name__contains"
    lookup_url_kwarg = "name"


class BasenameViewSet(viewsets.ModelViewSet):
    queryset = Event.objects.all()
    serializer_class = None


class MockViewSet(viewsets.ModelViewSet):
    queryset = None
    serializer_class = None


class EmptyPrefixSerializer(serializers.HyperlinkedModelSerializer):
    class Meta:
        model = Gadget
        fields = ("code", "name")


class EmptyPrefixViewSet(viewsets.ModelViewSet):
    queryset = [Gadget(id=1, code="111", name="First"), Gadget(id=2, code="222", name="Second")]
    serializer_class = EmptyPrefixSerializer

    def get_object(self, *args, **kwargs):
        return self.queryset[int(self.kwargs["pk"]) - 1]


class RegexUrlPathViewSet(viewsets.ViewSet):
    @action(detail=False, url_path="list/(?P<kwarg>[0-9]{4})")
    def regex_url_path_list(self, request, *args, **kwargs):
        return Response({"kwarg": self.kwargs.get("kwarg", "")})

    @action(detail=True, url_path="detail/(?P<kwarg>[0-9]{4})")
    def regex_url_path_detail(self, request, *args, **kwargs):
        return Response({"pk": self.kwargs.get("pk", ""), "kwarg": self.kwargs.get("kwarg", "")})


class UrlPathViewSet(viewsets.ViewSet):
    @action(detail=False, url_path="list/<int:kwarg>")
    def url_path_list(self, request, *args, **kwargs):
        return Response({"kwarg": self.kwargs.get("kwarg", "")})

    @action(detail=True, url_path="detail/<int:kwarg>")
    def url_path_detail(self, request, *args, **kwargs):
        return Response({"pk": self.kwargs.get("pk", ""), "kwarg": self.kwargs.get("kwarg", "")})

    @action(detail=True, url_path="detail/<int:kwarg>/detail/<int:param>")
    def url_path_detail_multiple_params(self, request, *args, **kwargs):
        return Response({key: self.kwargs.get(key, "") for key in ("pk", "kwarg", "param")})


class UUIDLookupViewSet(viewsets.ModelViewSet):
    queryset = Event.objects.all()
    lookup_field = "uid"
    lookup_value_regex = "[0-9a-f-]{36}"
    lookup_value_converter = "uuid"


codes_router = BulkRouter()
codes_router.register("notes", CodeViewSet)

codes_path_router = BulkRouter(use_regex_path=False)
codes_path_router.register("notes", CodeViewSet)

codes_path_default_router = BulkDefaultRouter(use_regex_path=False)
codes_path_default_router.register("notes", CodeViewSet)

kwarged_codes_router = BulkRouter()
kwarged_codes_router.register("notes", KWargedCodeViewSet)

namespaced_router = BulkDefaultRouter()
namespaced_router.register("example", MockViewSet, basename="example")

empty_prefix_router = BulkRouter()
empty_prefix_router.register("", EmptyPrefixViewSet, basename="empty_prefix")

regex_url_path_router = BulkRouter()
regex_url_path_router.register("", RegexUrlPathViewSet, basename="regex")

url_path_router = BulkRouter(use_regex_path=False)
url_path_router.register("", UrlPathViewSet, basename="path")


class BasicViewSet(viewsets.ViewSet):
    def list(self, request, *args, **kwargs):
        return Response({"method": "list"})

    @action(methods=["post"], detail=True)
    def action1(self, request, *args, **kwargs):
        return Response({"method": "action1"})

    @action(methods=["post", "delete"], detail=True)
    def action2(self, request, *args, **kwargs):
        return Response({"method": "action2"})

    @action(methods=["post"], detail=True)
    def action3(self, request, pk, *args, **kwargs):
        return Response({"post": pk})

    @action3.mapping.delete
    def action3_delete(self, request, pk, *args, **kwargs):
        return Response({"delete": pk})


class TestSimpleRouter(URLPatternsTestCase, TestCase):
    router = BulkRouter()
    router.register("basics", BasicViewSet, basename="basic")

    urlpatterns = [path("api/", include(router.urls))]

    def setUp(self):
        self.router = BulkRouter()

    def test_action_routes(self):
        routes = self.router.get_routes(BasicViewSet)[2:]  # after list and detail

        assert routes[0].url == "^{prefix}/{lookup}/action1{trailing_slash}$"
        assert routes[0].mapping == {"post": "action1"}
        assert routes[1].url == "^{prefix}/{lookup}/action2{trailing_slash}$"
        assert routes[1].mapping == {"post": "action2", "delete": "action2"}
        assert routes[2].url == "^{prefix}/{lookup}/action3{trailing_slash}$"
        assert routes[2].mapping == {"post": "action3", "delete": "action3_delete"}

    def test_multiple_action_handlers(self):
        response = self.client.post(reverse("basic-action3", args=[1]))
        assert response.data == {"post": "1"}

        response = self.client.delete(reverse("basic-action3", args=[1]))
        assert response.data == {"delete": "1"}

    def test_register_after_accessing_urls(self):
        self.router.register("notes", CodeViewSet)
        assert [url.name for url in self.router.urls] == [
            "gadget-list",
            "gadget-detail",
            *JOB_URL_NAMES,
        ]
        self.router.register("notes_bis", CodeViewSet, basename="notes_bis")
        assert len(self.router.urls) == 4 + len(JOB_URL_NAMES)


class TestRootView(URLPatternsTestCase, TestCase):
    urlpatterns = [
        path("non-namespaced/", include(namespaced_router.urls)),
        path(
            "namespaced/",
            include((namespaced_router.urls, "namespaced"), namespace="namespaced"),
        ),
    ]

    def test_retrieve_namespaced_root(self):
        response = self.client.get("/namespaced/")
        assert response.data == {
            "example": "http://testserver/namespaced/example/",
            "bulk-jobs": "http://testserver/namespaced/bulk-jobs/",
        }

    def test_retrieve_non_namespaced_root(self):
        response = self.client.get("/non-namespaced/")
        assert response.data == {
            "example": "http://testserver/non-namespaced/example/",
            "bulk-jobs": "http://testserver/non-namespaced/bulk-jobs/",
        }


class TestCustomLookupFields(URLPatternsTestCase, TestCase):
    urlpatterns = [
        path("example/", include(codes_router.urls)),
        path("example2/", include(kwarged_codes_router.urls)),
    ]

    def setUp(self):
        Gadget.objects.create(code="123", name="foo bar")
        Gadget.objects.create(code="a b", name="baz qux")

    def test_custom_lookup_field_route(self):
        assert "<code>" in named(codes_router, "gadget-detail").pattern.regex.pattern

    def test_retrieve_lookup_field_list_view(self):
        response = self.client.get("/example/notes/")
        assert response.data == [
            {"url": "http://testserver/example/notes/123/", "code": "123", "name": "foo bar"},
            {"url": "http://testserver/example/notes/a%20b/", "code": "a b", "name": "baz qux"},
        ]

    def test_retrieve_lookup_field_detail_view(self):
        response = self.client.get("/example/notes/123/")
        assert response.data == {
            "url": "http://testserver/example/notes/123/",
            "code": "123",
            "name": "foo bar",
        }

    def test_retrieve_lookup_field_url_encoded_detail_view_(self):
        response = self.client.get("/example/notes/a%20b/")
        assert response.data == {
            "url": "http://testserver/example/notes/a%20b/",
            "code": "a b",
            "name": "baz qux",
        }


class TestLookupValueRegex(TestCase):
    def setUp(self):
        class CodeViewSet(viewsets.ModelViewSet):
            queryset = Gadget.objects.all()
            lookup_field = "code"
            lookup_value_regex = "[0-9a-f]{32}"

        self.router = BulkRouter()
        self.router.register("notes", CodeViewSet)
        self.urls = self.router.urls

    def test_urls_limited_by_lookup_value_regex(self):
        expected = ["^notes/$", "^notes/(?P<code>[0-9a-f]{32})/$"]
        for idx in range(len(expected)):
            assert expected[idx] == self.urls[idx].pattern.regex.pattern


class TestLookupUrlKwargs(URLPatternsTestCase, TestCase):
    urlpatterns = [
        path("example/", include(codes_router.urls)),
        path("example2/", include(kwarged_codes_router.urls)),
    ]

    def setUp(self):
        Gadget.objects.create(code="123", name="foo bar")

    def test_custom_lookup_url_kwarg_route(self):
        detail_route = named(kwarged_codes_router, "gadget-detail")
        assert "^notes/(?P<name>" in detail_route.pattern.regex.pattern

    def test_retrieve_lookup_url_kwarg_detail_view(self):
        response = self.client.get("/example2/notes/fo/")
        assert response.data == {
            "url": "http://testserver/example/notes/123/",
            "code": "123",
            "name": "foo bar",
        }

    def test_retrieve_lookup_url_encoded_kwarg_detail_view(self):
        response = self.client.get("/example2/notes/foo%20bar/")
        assert response.data == {
            "url": "http://testserver/example/notes/123/",
            "code": "123",
            "name": "foo bar",
        }


class TestTrailingSlashIncluded(TestCase):
    def setUp(self):
        class GadgetViewSet(viewsets.ModelViewSet):
            queryset = Gadget.objects.all()

        self.router = BulkRouter()
        self.router.register("notes", GadgetViewSet)
        self.urls = self.router.urls

    def test_urls_have_trailing_slash_by_default(self):
        expected = ["^notes/$", "^notes/(?P<pk>[^/.]+)/$"]
        for idx in range(len(expected)):
            assert expected[idx] == self.urls[idx].pattern.regex.pattern


class TestTrailingSlashRemoved(TestCase):
    def setUp(self):
        class GadgetViewSet(viewsets.ModelViewSet):
            queryset = Gadget.objects.all()

        self.router = BulkRouter(trailing_slash=False)
        self.router.register("notes", GadgetViewSet)
        self.urls = self.router.urls

    def test_urls_can_have_trailing_slash_removed(self):
        expected = ["^notes$", "^notes/(?P<pk>[^/.]+)$"]
        for idx in range(len(expected)):
            assert expected[idx] == self.urls[idx].pattern.regex.pattern


class TestNameableRoot(TestCase):
    def setUp(self):
        class GadgetViewSet(viewsets.ModelViewSet):
            queryset = Gadget.objects.all()

        self.router = BulkDefaultRouter()
        self.router.root_view_name = "nameable-root"
        self.router.register("notes", GadgetViewSet)
        self.urls = self.router.urls

    def test_router_has_custom_name(self):
        assert self.urls[-1].name == "nameable-root"


class TestActionKeywordArgs(TestCase):
    def setUp(self):
        class TestViewSet(viewsets.ModelViewSet):
            permission_classes = []

            @action(methods=["post"], detail=True, permission_classes=[permissions.AllowAny])
            def custom(self, request, *args, **kwargs):
                return Response({"permission_classes": self.permission_classes})

        self.router = BulkRouter()
        self.router.register("test", TestViewSet, basename="test")
        self.view = named(self.router, "test-custom").callback

    def test_action_kwargs(self):
        response = self.view(factory.post("/test/0/custom/"))
        assert response.data == {"permission_classes": [permissions.AllowAny]}


class TestActionAppliedToExistingRoute(TestCase):
    def test_exception_raised_when_action_applied_to_existing_route(self):
        class TestViewSet(viewsets.ModelViewSet):
            @action(methods=["post"], detail=True)
            def retrieve(self, request, *args, **kwargs):
                return Response({"hello": "world"})

        self.router = BulkRouter()
        self.router.register("test", TestViewSet, basename="test")

        with pytest.raises(ImproperlyConfigured):
            self.router.urls  # noqa: B018


class DynamicListAndDetailViewSet(viewsets.ViewSet):
    def list(self, request, *args, **kwargs):
        return Response({"method": "list"})

    @action(methods=["post"], detail=False)
    def list_route_post(self, request, *args, **kwargs):
        return Response({"method": "action1"})

    @action(methods=["post"], detail=True)
    def detail_route_post(self, request, *args, **kwargs):
        return Response({"method": "action2"})

    @action(detail=False)
    def list_route_get(self, request, *args, **kwargs):
        return Response({"method": "link1"})

    @action(detail=True)
    def detail_route_get(self, request, *args, **kwargs):
        return Response({"method": "link2"})

    @action(detail=False, url_path="list_custom-route")
    def list_custom_route_get(self, request, *args, **kwargs):
        return Response({"method": "link1"})

    @action(detail=True, url_path="detail_custom-route")
    def detail_custom_route_get(self, request, *args, **kwargs):
        return Response({"method": "link2"})


class SubDynamicListAndDetailViewSet(DynamicListAndDetailViewSet):
    pass


class TestDynamicListAndDetailRouter(TestCase):
    def setUp(self):
        self.router = BulkRouter()

    def _test_list_and_detail_route_decorators(self, viewset):
        routes = self.router.get_routes(viewset)
        decorator_routes = [r for r in routes if not r.name.endswith(("-list", "-detail"))]

        MethodNamesMap = namedtuple("MethodNamesMap", "method_name url_path")
        endpoints = [
            MethodNamesMap("list_custom_route_get", "list_custom-route"),
            MethodNamesMap("list_route_get", "list_route_get"),
            MethodNamesMap("list_route_post", "list_route_post"),
            MethodNamesMap("detail_custom_route_get", "detail_custom-route"),
            MethodNamesMap("detail_route_get", "detail_route_get"),
            MethodNamesMap("detail_route_post", "detail_route_post"),
        ]
        for route, (method_name, url_path) in zip(decorator_routes, endpoints, strict=True):
            if method_name.startswith("list_"):
                assert route.url == f"^{{prefix}}/{url_path}{{trailing_slash}}$"
            else:
                assert route.url == f"^{{prefix}}/{{lookup}}/{url_path}{{trailing_slash}}$"
            method_map = "post" if method_name.endswith("_post") else "get"
            assert route.mapping[method_map] == method_name

    def test_list_and_detail_route_decorators(self):
        self._test_list_and_detail_route_decorators(DynamicListAndDetailViewSet)

    def test_inherited_list_and_detail_route_decorators(self):
        self._test_list_and_detail_route_decorators(SubDynamicListAndDetailViewSet)


class TestEmptyPrefix(URLPatternsTestCase, TestCase):
    urlpatterns = [path("empty-prefix/", include(empty_prefix_router.urls))]

    def test_empty_prefix_list(self):
        response = self.client.get("/empty-prefix/")
        assert response.status_code == 200
        assert json.loads(response.content.decode()) == [
            {"code": "111", "name": "First"},
            {"code": "222", "name": "Second"},
        ]

    def test_empty_prefix_detail(self):
        response = self.client.get("/empty-prefix/1/")
        assert response.status_code == 200
        assert json.loads(response.content.decode()) == {"code": "111", "name": "First"}


class TestRegexUrlPath(URLPatternsTestCase, TestCase):
    urlpatterns = [path("regex/", include(regex_url_path_router.urls))]

    def test_regex_url_path_list(self):
        response = self.client.get("/regex/list/1234/")
        assert response.status_code == 200
        assert json.loads(response.content.decode()) == {"kwarg": "1234"}

    def test_regex_url_path_detail(self):
        response = self.client.get("/regex/1/detail/1234/")
        assert response.status_code == 200
        assert json.loads(response.content.decode()) == {"pk": "1", "kwarg": "1234"}


class TestUrlPath(URLPatternsTestCase, TestCase):
    client_class = APIClient
    urlpatterns = [
        path("path/", include(url_path_router.urls)),
        path("default/", include(codes_path_default_router.urls)),
        path("example/", include(codes_path_router.urls)),
    ]

    def setUp(self):
        Gadget.objects.create(code="123", name="foo bar")
        Gadget.objects.create(code="a b", name="baz qux")

    def test_create(self):
        response = self.client.post("/example/notes/", data={"code": "foo", "name": "example"})
        assert response.status_code == 201
        assert response["location"] == "http://testserver/example/notes/foo/"
        assert response.data == {
            "url": "http://testserver/example/notes/foo/",
            "code": "foo",
            "name": "example",
        }
        assert Gadget.objects.filter(code="foo").exists()

    def test_retrieve(self):
        for url in ("/example/notes/123/", "/default/notes/123/"):
            with self.subTest(url=url):
                response = self.client.get(url)
                assert response.status_code == 200
                assert response.data == {
                    "url": "http://testserver/example/notes/123/",
                    "code": "123",
                    "name": "foo bar",
                }

    def test_list(self):
        for url in ("/example/notes/", "/default/notes/"):
            with self.subTest(url=url):
                response = self.client.get(url)
                assert response.status_code == 200
                assert response.data == [
                    {
                        "url": "http://testserver/example/notes/123/",
                        "code": "123",
                        "name": "foo bar",
                    },
                    {
                        "url": "http://testserver/example/notes/a%20b/",
                        "code": "a b",
                        "name": "baz qux",
                    },
                ]

    def test_update(self):
        response = self.client.patch("/example/notes/123/", data={"name": "foo bar example"})
        assert response.status_code == 200
        assert response.data == {
            "url": "http://testserver/example/notes/123/",
            "code": "123",
            "name": "foo bar example",
        }

    def test_delete(self):
        response = self.client.delete("/example/notes/123/")
        assert response.status_code == 204
        assert not Gadget.objects.filter(code="123").exists()

    def test_list_extra_action(self):
        response = self.client.get("/path/list/1234/")
        assert response.status_code == 200
        assert json.loads(response.content.decode()) == {"kwarg": 1234}

    def test_detail_extra_action(self):
        response = self.client.get("/path/1/detail/1234/")
        assert response.status_code == 200
        assert json.loads(response.content.decode()) == {"pk": "1", "kwarg": 1234}

    def test_detail_extra_other_action(self):
        response = self.client.get("/path/1/detail/1234/detail/2/")
        assert response.status_code == 200
        assert json.loads(response.content.decode()) == {"pk": "1", "kwarg": 1234, "param": 2}

    def test_defaultrouter_root(self):
        response = self.client.get("/default/")
        assert response.status_code == 200
        assert response.data == {
            "notes": "http://testserver/example/notes/",
            "bulk-jobs": "http://testserver/example/bulk-jobs/",
        }


class TestViewInitkwargs(URLPatternsTestCase, TestCase):
    urlpatterns = [path("example/", include(codes_router.urls))]

    def test_suffix(self):
        assert resolve("/example/notes/").func.initkwargs["suffix"] == "List"

    def test_detail(self):
        assert not resolve("/example/notes/").func.initkwargs["detail"]

    def test_basename(self):
        assert resolve("/example/notes/").func.initkwargs["basename"] == "gadget"


class BasenameTestCase:
    def test_conflicting_autogenerated_basenames(self):
        self.router.register("notes", CodeViewSet)

        with pytest.raises(ImproperlyConfigured):
            self.router.register("notes_kwduplicate", KWargedCodeViewSet)

        with pytest.raises(ImproperlyConfigured):
            self.router.register("notes_duplicate", CodeViewSet)

    def test_conflicting_mixed_basenames(self):
        self.router.register("notes", CodeViewSet)

        with pytest.raises(ImproperlyConfigured):
            self.router.register("notes_kwduplicate", KWargedCodeViewSet, basename="gadget")

        with pytest.raises(ImproperlyConfigured):
            self.router.register("notes_duplicate", CodeViewSet, basename="gadget")

    def test_nonconflicting_mixed_basenames(self):
        self.router.register("notes", CodeViewSet)
        self.router.register("notes_kwduplicate", KWargedCodeViewSet, basename="gadget_kw")
        self.router.register("notes_duplicate", CodeViewSet, basename="gadget_duplicate")

    def test_conflicting_specified_basename(self):
        self.router.register("notes", CodeViewSet, basename="notes")

        with pytest.raises(ImproperlyConfigured):
            self.router.register("notes_kwduplicate", KWargedCodeViewSet, basename="notes")

        with pytest.raises(ImproperlyConfigured):
            self.router.register("notes_duplicate", KWargedCodeViewSet, basename="notes")

    def test_nonconflicting_specified_basename(self):
        self.router.register("notes", CodeViewSet, basename="notes")
        self.router.register("notes_kwduplicate", KWargedCodeViewSet, basename="notes_kw")
        self.router.register("notes_duplicate", CodeViewSet, basename="notes_duplicate")

    def test_nonconflicting_specified_basename_different_models(self):
        self.router.register("notes", CodeViewSet, basename="notes")
        self.router.register("notes_basename", BasenameViewSet, basename="notes_basename")

    def test_conflicting_specified_basename_different_models(self):
        self.router.register("notes", CodeViewSet)
        with pytest.raises(ImproperlyConfigured):
            self.router.register("notes_basename", BasenameViewSet, basename="gadget")

    def test_nonconflicting_autogenerated_basename_different_models(self):
        self.router.register("notes", CodeViewSet)
        self.router.register("notes_basename", BasenameViewSet)


class TestDuplicateBasenameSimpleRouter(BasenameTestCase, TestCase):
    def setUp(self):
        self.router = BulkRouter(trailing_slash=False)


class TestDuplicateBasenameDefaultRouter(BasenameTestCase, TestCase):
    def setUp(self):
        self.router = BulkDefaultRouter()


class TestDuplicateBasenameDefaultRouterRootViewName(BasenameTestCase, TestCase):
    def setUp(self):
        self.router = BulkDefaultRouter()
        self.router.root_view_name = "nameable-root"


# The bulk routers against DRF's, URL by URL ------------------------------------------------------

ROUTER_PAIRS = [(SimpleRouter, BulkRouter), (DefaultRouter, BulkDefaultRouter)]


def register_drf_viewsets(router, use_regex_path, trailing_slash):
    router.register("notes", CodeViewSet)
    router.register("kwarged", KWargedCodeViewSet, basename="kwarged")
    router.register("events", UUIDLookupViewSet)
    router.register("basics", BasicViewSet, basename="basic")
    router.register("dynamic", DynamicListAndDetailViewSet, basename="dynamic")
    if use_regex_path or trailing_slash:  # DRF's path-style list route needs one or the other
        router.register("", EmptyPrefixViewSet, basename="empty_prefix")
    if use_regex_path:
        router.register("regex", RegexUrlPathViewSet, basename="regex")
    else:
        router.register("path", UrlPathViewSet, basename="path")


#: The job resources a bulk router adds, in the order it routes them.
JOB_URL_NAMES = ("bulk-job-list", "bulk-job-detail", "bulk-job-results", "bulk-job-retry")


def described(urls):
    """Each URL's pattern, name, and the view's method map and initkwargs; left out, the job
    resources, which only a bulk router routes, and the root view, whose map names them."""
    return [
        (
            str(url.pattern),
            url.name,
            getattr(url.callback, "actions", None),
            getattr(url.callback, "initkwargs", None),
        )
        for url in urls
        if url.name not in (*JOB_URL_NAMES, "api-root")
    ]


@pytest.mark.parametrize(("drf_router", "bulk_router"), ROUTER_PAIRS)
@pytest.mark.parametrize("use_regex_path", [True, False])
@pytest.mark.parametrize("trailing_slash", [True, False])
def test_drf_viewsets_are_routed_as_drfs_routers_route_them(
    drf_router, bulk_router, use_regex_path, trailing_slash
):
    routers = []
    for router_class in (drf_router, bulk_router):
        router = router_class(trailing_slash=trailing_slash, use_regex_path=use_regex_path)
        register_drf_viewsets(router, use_regex_path, trailing_slash)
        routers.append(router)
    drf, bulk = routers
    assert described(bulk.urls) == described(drf.urls)
    assert {url.name for url in bulk.urls} - {url.name for url in drf.urls} == set(JOB_URL_NAMES)


@pytest.mark.parametrize("use_regex_path", [True, False])
def test_a_lookup_value_converter_is_used_in_path_style_routes_only(use_regex_path):
    router = BulkRouter(use_regex_path=use_regex_path)
    router.register("events", UUIDLookupViewSet)
    pattern = str(named(router, "event-detail").pattern)
    if use_regex_path:
        assert pattern == "^events/(?P<uid>[0-9a-f-]{36})/$"
    else:
        assert pattern == "events/<uuid:uid>/"


# What the bulk routers add, in regex and in path-style routes -----------------------------------

MODES = {
    "regex": {},
    "regex-no-slash": {"trailing_slash": False},
    "path": {"use_regex_path": False},
    "path-no-slash": {"use_regex_path": False, "trailing_slash": False},
}
MOUNTS = {
    f"{router_class.__name__.lower()}-{mode}": router_class(**kwargs)
    for router_class in (BulkRouter, BulkDefaultRouter)
    for mode, kwargs in MODES.items()
}
for mount_router in MOUNTS.values():
    mount_router.register("gadgets", GadgetViewSet)

urlpatterns = [
    path(f"{mount}/", include((router.urls, mount), namespace=mount))
    for mount, router in MOUNTS.items()
]


def list_url(mount):
    return reverse(f"{mount}:gadget-list")


@pytest.mark.parametrize("router_class", [BulkRouter, BulkDefaultRouter])
@pytest.mark.parametrize("trailing_slash", [True, False])
def test_path_style_routes_have_the_names_of_regex_routes(router_class, trailing_slash):
    names = []
    for use_regex_path in (True, False):
        router = router_class(trailing_slash=trailing_slash, use_regex_path=use_regex_path)
        router.register("gadgets", GadgetViewSet)
        names.append([url.name for url in router.urls])
    assert names[0] == names[1]
    assert {"gadget-item", "gadget-list", "gadget-detail", "bulk-job-detail"} <= set(names[1])


def test_the_item_route_is_only_for_viewsets_that_answer_it():
    router = BulkRouter()
    assert router.get_routes(GadgetViewSet)[0].name == "{basename}-item"
    assert "{basename}-item" not in [route.name for route in router.get_routes(CodeViewSet)]


@pytest.mark.urls(__name__)
@pytest.mark.django_db
@pytest.mark.parametrize("mount", MOUNTS)
def test_put_patch_and_delete_on_the_list_url_are_the_bulk_verbs(api, mount):
    url = list_url(mount)
    assert resolve(url).func.actions == {"get": "list", "post": "create", **LIST_ROUTES}
    created = api.post(url, [{"name": "a", "code": "a"}, {"name": "b", "code": "b"}])
    assert created.status_code == 207 and statuses(created) == [201, 201]
    ids = list(Gadget.objects.values_list("id", flat=True))
    replaced = api.put(url, [{"id": pk, "name": "c", "code": f"c{pk}"} for pk in ids])
    assert replaced.status_code == 207 and statuses(replaced) == [200, 200]
    patched = api.patch(url, [{"id": pk, "quantity": 3} for pk in ids])
    assert patched.status_code == 207 and statuses(patched) == [200, 200]
    assert list(Gadget.objects.values_list("name", "quantity")) == [("c", 3), ("c", 3)]
    deleted = api.delete(url, [{"id": pk} for pk in ids])
    assert deleted.status_code == 207 and statuses(deleted) == [204, 204]
    assert not Gadget.objects.exists()


@pytest.mark.urls(__name__)
@pytest.mark.django_db
@pytest.mark.parametrize("mount", MOUNTS)
def test_an_item_href_is_a_404_that_says_what_it_names(api, mount):
    batch = [{"name": "a", "code": "a"}, {"code": "b"}]
    response = api.post(list_url(mount), batch, HTTP_ACCEPT="application/xml")
    href = xml_results(parse_multistatus(response.content))[1]["href"]
    assert href == f"http://testserver/{mount}/gadgets/~item/1"
    assert resolve(urlsplit(href).path).url_name == "gadget-item"
    answer = api.get(href)
    assert answer.status_code == 404
    assert answer.json()["detail"].startswith("This URL names item 1 of a bulk request")
    assert api.put(href, {}).status_code == 405


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("mount", MOUNTS)
def test_the_job_url_takes_a_jobs_uuid(mount):
    job_id = uuid.uuid4()
    url = reverse(f"{mount}:bulk-job-detail", kwargs={"pk": str(job_id)})
    assert url.startswith(f"/{mount}/bulk-jobs/{job_id}")
    match = resolve(url)
    assert match.func.cls is BulkJobViewSet
    assert str(match.kwargs["pk"]) == str(job_id)
    with pytest.raises(Resolver404):
        resolve(url.replace(str(job_id), "not-a-job"))


@pytest.mark.urls(__name__)
@pytest.mark.django_db
@pytest.mark.parametrize("mount", MOUNTS)
def test_a_background_job_is_answered_at_its_url(api, mount, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        accepted = api.post(
            list_url(mount), [{"name": "a", "code": "a"}], HTTP_PREFER="respond-async"
        )
    assert accepted.status_code == 202
    job_url = accepted["Location"]
    assert job_url.startswith(f"http://testserver/{mount}/bulk-jobs/")
    done = api.get(job_url)
    assert done.status_code == 207 and statuses(done) == [201]
