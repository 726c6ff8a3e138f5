"""A ready viewset: DRF's ModelViewSet plus every bulk verb."""

from __future__ import annotations

from rest_framework import viewsets

from .mixins import BulkCreateModelMixin, BulkDestroyModelMixin, BulkUpdateModelMixin
from .parsers import multistatus_parser_classes
from .renderers import multistatus_renderer_classes


# The type checker sees the bulk mixins as GenericAPIViews, ahead of DRF's mixins; at run time
# they are plain mixins and the order is consistent.
class BulkModelViewSet(  # type: ignore[misc, metaclass]
    BulkCreateModelMixin, BulkUpdateModelMixin, BulkDestroyModelMixin, viewsets.ModelViewSet
):
    """``ModelViewSet`` whose list URL also takes arrays: POST creates (or, asked to, upserts),
    PUT/PATCH update, DELETE deletes."""

    renderer_classes = multistatus_renderer_classes()
    parser_classes = multistatus_parser_classes()
