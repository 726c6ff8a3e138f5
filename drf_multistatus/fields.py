"""Serializer fields of this package."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers

from .etags import view_etag


class EtagField(serializers.ReadOnlyField):
    """An object's etag in its representation, as its bulk results and detail ``ETag`` carry
    it (the view's ``get_bulk_etag``): one list GET gives every ``_if_match`` a bulk PATCH or
    DELETE needs. Read-only; ignored in request bodies."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, value: models.Model) -> str:
        return view_etag(self.context.get("view"), value)
