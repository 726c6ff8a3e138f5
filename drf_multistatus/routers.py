"""Routers that also send PUT and PATCH on a list URL to the viewset's bulk update."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter, Route, SimpleRouter

BULK_LIST_METHODS = {"put": "bulk_update", "patch": "partial_bulk_update"}


def with_bulk_list_methods(routes: list) -> list:
    """DRF's routes plus PUT/PATCH on the list route; viewsets without bulk update ignore them."""
    return [
        route._replace(mapping={**route.mapping, **BULK_LIST_METHODS})
        if isinstance(route, Route) and not route.detail
        else route
        for route in routes
    ]


class BulkRouter(SimpleRouter):
    routes = with_bulk_list_methods(SimpleRouter.routes)


class BulkDefaultRouter(DefaultRouter):
    routes = with_bulk_list_methods(DefaultRouter.routes)
