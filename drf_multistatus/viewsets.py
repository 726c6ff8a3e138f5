"""A ready viewset: DRF's ModelViewSet plus bulk create and bulk update."""

from __future__ import annotations

from rest_framework import viewsets

from .mixins import BulkCreateModelMixin, BulkUpdateModelMixin
from .parsers import multistatus_parser_classes
from .renderers import multistatus_renderer_classes


class BulkModelViewSet(BulkCreateModelMixin, BulkUpdateModelMixin, viewsets.ModelViewSet):
    """``ModelViewSet`` whose list URL also takes arrays: POST creates, PUT/PATCH update."""

    renderer_classes = multistatus_renderer_classes()
    parser_classes = multistatus_parser_classes()
