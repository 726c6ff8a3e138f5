"""Routers that also send PUT, PATCH and DELETE on a list URL to the viewset's bulk verbs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rest_framework.routers import (
    DefaultRouter,
    DynamicRoute,
    Route,
    SimpleRouter,
    escape_curly_brackets,
)

from .actions import LIST_ROUTES
from .jobs import BulkJobViewSet
from .settings import multistatus_settings

if TYPE_CHECKING:
    from django.urls import URLPattern, URLResolver
    from rest_framework.viewsets import ViewSetMixin

    RouterBase = SimpleRouter
else:
    RouterBase = object


def with_bulk_list_methods(routes: list[Route | DynamicRoute]) -> list[Route | DynamicRoute]:
    """DRF's routes plus the bulk methods on the list route; DRF maps each only for viewsets
    that have its handler."""
    return [
        route._replace(mapping={**route.mapping, **LIST_ROUTES})
        if isinstance(route, Route) and not route.detail
        else route
        for route in routes
    ]


class BulkRoutesMixin(RouterBase):
    """Bulk methods on list URLs, the hrefs of items without a resource (``ITEM_PATH``), and the
    resources of background jobs at ``JOB_URL_PREFIX``, in regex and in path-style routes."""

    _use_regex: bool  # set by DRF's SimpleRouter from ``use_regex_path``

    def get_routes(self, viewset: type[ViewSetMixin]) -> list[Route]:
        """DRF's routes, led by ``<prefix>/~item/<N>`` for a viewset that answers it (a 404 that
        says what the URL names): first, so that no loose detail lookup takes it."""
        routes = super().get_routes(viewset)
        if not hasattr(viewset, "item_reference"):
            return routes
        return [self.get_item_route(), *routes]

    def get_item_route(self) -> Route:
        """``ITEM_PATH`` as a regex route or as a path-style one, the index digits in both."""
        item = multistatus_settings.ITEM_PATH
        if self._use_regex:
            url = rf"^{{prefix}}/{escape_curly_brackets(re.escape(item))}/(?P<index>[0-9]+)$"
        else:
            url = f"{{prefix}}/{escape_curly_brackets(item)}/<int:index>"
        return Route(
            url=url,
            mapping={"get": "item_reference"},
            name="{basename}-item",
            detail=False,
            initkwargs={"schema": None},  # not an operation of the API
        )

    def get_urls(self) -> list[URLPattern | URLResolver]:
        if not self.is_already_registered("bulk-job"):
            prefix = multistatus_settings.JOB_URL_PREFIX
            self.registry.append((prefix, BulkJobViewSet, "bulk-job"))
        return super().get_urls()


class BulkRouter(BulkRoutesMixin, SimpleRouter):
    routes = with_bulk_list_methods(SimpleRouter.routes)


class BulkDefaultRouter(BulkRoutesMixin, DefaultRouter):
    routes = with_bulk_list_methods(DefaultRouter.routes)
