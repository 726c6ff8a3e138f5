"""The job resource of a background batch: ``GET`` shows its progress, then the 207 the
synchronous request would have answered; ``DELETE`` cancels it.

Only the user who submitted a job (and staff) can see or cancel it; anyone else gets 404. Jobs
submitted anonymously are reachable by anonymous clients through their URL alone: the random
UUID in it is what keeps them apart.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from .background import (
    BulkJobSerializer,
    job_multistatus,
    job_renderer_context,
    job_state,
    resume_if_stale,
)
from .models import BulkJob
from .parsers import multistatus_parser_classes
from .renderers import MultiStatusXMLRenderer, multistatus_renderer_classes

#: Seconds a client should wait before asking again about a job still running.
RETRY_AFTER = 1


class JobEnded(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This job has ended; there is nothing to cancel.")
    default_code = "job_ended"


class BulkJobViewSet(mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """A background bulk job: its progress while it runs, its 207 once it has ended."""

    queryset = BulkJob.objects.all()
    serializer_class = BulkJobSerializer
    permission_classes = [permissions.AllowAny]  # who may see a job is get_queryset()'s rule
    renderer_classes = multistatus_renderer_classes()
    parser_classes = multistatus_parser_classes()
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self) -> QuerySet[BulkJob]:
        user = self.request.user
        if user is not None and user.is_staff:
            return BulkJob.objects.all()
        if user is not None and user.is_authenticated:
            return BulkJob.objects.filter(owner=user)
        return BulkJob.objects.filter(Q(owner__isnull=True))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self.get_object()
        if job.ended:
            self.ended_job = job
            multistatus = job_multistatus(job)
            return Response(multistatus.as_data(), status=job.outer_status or 207)
        resume_if_stale(job)
        url = request.build_absolute_uri(request.path)
        headers = {"Retry-After": str(RETRY_AFTER)}
        return Response(job_state(job, url), status=status.HTTP_200_OK, headers=headers)

    def get_renderer_context(self) -> dict[str, Any]:
        """An ended job's 207 is rendered as its request's would have been: in XML, that takes
        the request's URL, style and items (JSON needs none of them)."""
        context = super().get_renderer_context()
        job = getattr(self, "ended_job", None)
        if job is None or not isinstance(self.request.accepted_renderer, MultiStatusXMLRenderer):
            return context
        return {**context, **job_renderer_context(job)}

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Cancel: the job stops at its next chunk; the items it never ran answer 424."""
        job = self.get_object()
        if job.ended:
            raise JobEnded
        BulkJob.objects.filter(pk=job.pk).update(cancel_requested=True)
        job.refresh_from_db()
        url = request.build_absolute_uri(request.path)
        return Response(job_state(job, url), status=status.HTTP_202_ACCEPTED)
