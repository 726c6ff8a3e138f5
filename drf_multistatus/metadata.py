"""``OPTIONS`` for bulk views: DRF's metadata, without looking up an object on a list URL."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request, clone_request


class BulkMetadata(SimpleMetadata):
    """``SimpleMetadata`` that describes the bulk PUT of a list URL by the serializer's fields.

    DRF's version calls ``get_object()`` for PUT, which a list URL cannot answer.
    """

    def determine_actions(self, request: Request, view: Any) -> dict[str, Any]:
        if getattr(view, "detail", None) is not False:
            return super().determine_actions(request, view)
        actions = {}
        for method in sorted({"PUT", "POST"} & set(view.allowed_methods)):
            view.request = clone_request(request, method)
            try:
                view.check_permissions(view.request)
            except (exceptions.APIException, PermissionDenied, Http404):
                continue
            else:
                actions[method] = self.get_serializer_info(view.get_serializer())
            finally:
                view.request = request
        return actions
