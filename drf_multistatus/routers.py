"""Routers that also send PUT, PATCH and DELETE on a list URL to the viewset's bulk verbs."""

from __future__ import annotations

import re
from typing import Any

from rest_framework.routers import DefaultRouter, Route, SimpleRouter

from .actions import LIST_ROUTES
from .settings import multistatus_settings


def with_bulk_list_methods(routes: list) -> list:
    """DRF's routes plus the bulk methods on the list route; DRF maps each only for viewsets
    that have its handler."""
    return [
        route._replace(mapping={**route.mapping, **LIST_ROUTES})
        if isinstance(route, Route) and not route.detail
        else route
        for route in routes
    ]


class BulkRoutesMixin:
    """Bulk methods on list URLs, the hrefs of items without a resource (``ITEM_PATH``), and the
    resources of background jobs at ``JOB_URL_PREFIX``."""

    def get_routes(self, viewset: Any) -> list:
        """DRF's routes, and first ``<prefix>/~item/<N>``, which a bulk viewset answers with a
        404 that says what the URL names."""
        item = re.escape(multistatus_settings.ITEM_PATH).replace("{", "{{").replace("}", "}}")
        reference = Route(
            url=rf"^{{prefix}}/{item}/(?P<index>[0-9]+)$",
            mapping={"get": "item_reference"},
            name="{basename}-item",
            detail=False,
            initkwargs={"schema": None},  # not an operation of the API
        )
        return [reference, *super().get_routes(viewset)]  # type: ignore[misc]

    def get_urls(self) -> list:
        from .jobs import BulkJobViewSet

        registered = {basename for _prefix, _viewset, basename in self.registry}  # type: ignore[attr-defined]
        if "bulk-job" not in registered:
            prefix = multistatus_settings.JOB_URL_PREFIX
            self.registry.append((prefix, BulkJobViewSet, "bulk-job"))  # type: ignore[attr-defined]
        return super().get_urls()  # type: ignore[misc]


class BulkRouter(BulkRoutesMixin, SimpleRouter):
    routes = with_bulk_list_methods(SimpleRouter.routes)


class BulkDefaultRouter(BulkRoutesMixin, DefaultRouter):
    routes = with_bulk_list_methods(DefaultRouter.routes)
