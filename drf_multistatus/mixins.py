"""Mixins that add bulk verbs to a DRF generic view, one verb each, as DRF's ``mixins.py`` does.

Each verb reads the request's items, hands them to its operation (``drf_multistatus.operations``)
and answers with the multistatus body; the machinery they share is ``MultiStatusMixin``
(``generics.py``), and every step a project may change is one of its methods or a
``perform_bulk_*`` hook.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.models import ProtectedError, RestrictedError
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .equivalence import default_hook
from .exceptions import ProtectedItem
from .generics import MultiStatusMixin
from .operations import Create, Destroy, Update, Upsert
from .parsers import is_batch
from .preferences import MERGE_DUPLICATES, prefers

__all__ = [
    "BulkCreateModelMixin",
    "BulkDestroyModelMixin",
    "BulkUpdateModelMixin",
    "MultiStatusMixin",
]


class BulkCreateModelMixin(MultiStatusMixin, mixins.CreateModelMixin):
    """POST of a list creates each item; POST of an object stays DRF's single create.

    With ``upsert_fields`` (a unique field, or the fields of a unique constraint), a POST of a
    list with ``Prefer: resolution=merge-duplicates`` upserts: see ``operations.Upsert``.
    """

    upsert_fields: Sequence[str] = ()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if is_batch(request.data):
            return self.bulk_create(request, *args, **kwargs)
        self.check_preferences(request, ())  # a single create applies none
        return self.respond_once(functools.partial(super().create, request, *args, **kwargs))

    def bulk_create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        items = self.get_bulk_items(request)
        if self.is_upsert(request):
            return self.run_bulk(Upsert(self, items))
        return self.run_bulk(Create(self, items))

    def is_upsert(self, request: Request) -> bool:
        return bool(self.upsert_fields) and prefers(request, MERGE_DUPLICATES)

    @default_hook
    def perform_bulk_create(self, serializer: serializers.BaseSerializer) -> None:
        """Save one item of a bulk create; by default the view's own ``perform_create``."""
        self.perform_create(serializer)


class BulkUpdateModelMixin(MultiStatusMixin, mixins.UpdateModelMixin):
    """PUT or PATCH of a list updates each item's target, named by the view's lookup field."""

    def bulk_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        items = self.get_bulk_items(request)
        return self.run_bulk(Update(self, items, partial=partial))

    def partial_bulk_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return self.bulk_update(request, *args, **kwargs)

    @default_hook
    def perform_bulk_update(self, serializer: serializers.BaseSerializer) -> None:
        """Save one item of a bulk update; by default the view's own ``perform_update``."""
        self.perform_update(serializer)


class BulkDestroyModelMixin(MultiStatusMixin, mixins.DestroyModelMixin):
    """DELETE of a list deletes each item's target, named by the view's lookup field. A body
    that is not a list deletes nothing."""

    def bulk_destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        items = self.get_bulk_items(request)
        return self.run_bulk(Destroy(self, items))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """DRF's single delete, answering 409 (not 500) for an object the database protects."""
        try:
            return super().destroy(request, *args, **kwargs)
        except (ProtectedError, RestrictedError) as exc:
            raise ProtectedItem(error=exc, model=self.get_bulk_model()) from exc

    @default_hook
    def perform_bulk_destroy(self, instance: models.Model) -> None:
        """Delete one item of a bulk delete; by default the view's own ``perform_destroy``."""
        self.perform_destroy(instance)
