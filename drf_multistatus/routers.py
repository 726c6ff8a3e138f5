"""Routers that also send PUT, PATCH and DELETE on a list URL to the viewset's bulk verbs."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter, Route, SimpleRouter

from .actions import LIST_ROUTES


def with_bulk_list_methods(routes: list) -> list:
    """DRF's routes plus the bulk methods on the list route; DRF maps each only for viewsets
    that have its handler."""
    return [
        route._replace(mapping={**route.mapping, **LIST_ROUTES})
        if isinstance(route, Route) and not route.detail
        else route
        for route in routes
    ]


class BulkRouter(SimpleRouter):
    routes = with_bulk_list_methods(SimpleRouter.routes)


class BulkDefaultRouter(DefaultRouter):
    routes = with_bulk_list_methods(DefaultRouter.routes)
