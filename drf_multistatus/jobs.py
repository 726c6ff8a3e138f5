"""The job resource of a background batch: ``GET`` shows its progress, then the 207 the
synchronous request would have answered; ``DELETE`` cancels it.

Only the user who submitted a job (and staff) can see or cancel it; anyone else gets 404. Jobs
submitted anonymously are reachable by anonymous clients through their URL alone: the random
UUID in it is what keeps them apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from .models import BulkJob
from .parsers import multistatus_parser_classes
from .renderers import MultiStatusXMLRenderer, multistatus_renderer_classes
from .results import ItemResult, MultiStatus, load_result
from .settings import PROPSTAT_STYLE, view_setting
from .tasks import resume_if_stale

#: Seconds a client should wait before asking again about a job still running, as every answer
#: about one says.
RETRY_AFTER = 1
RUNNING = {"Retry-After": str(RETRY_AFTER)}


class BulkJobSerializer(serializers.ModelSerializer):
    """A job's state: how many of its items are done, and their statuses so far."""

    by_status = serializers.SerializerMethodField()

    class Meta:
        model = BulkJob
        fields = ["id", "state", "total", "done", "by_status", "atomic", "cancel_requested"]
        fields += ["created", "started", "finished"]

    def get_by_status(self, job: BulkJob) -> dict[str, int]:
        return {code: job.counts[code] for code in sorted(job.counts)}


def job_state(job: BulkJob, url: str | None = None) -> dict[str, Any]:
    state = dict(BulkJobSerializer(job).data)
    if url:
        state["href"] = url
    return state


def job_url(request: Request, job: BulkJob) -> str:
    namespace = getattr(getattr(request, "resolver_match", None), "namespace", "")
    name = f"{namespace}:bulk-job-detail" if namespace else "bulk-job-detail"
    return reverse(name, kwargs={"pk": str(job.pk)}, request=request)


def load_results(job: BulkJob) -> Iterator[ItemResult]:
    """The job's results in request order, a chunk at a time."""
    for chunk_results in job.chunks.order_by("start").values_list("results", flat=True).iterator():
        yield from map(load_result, chunk_results or [])


def job_multistatus(job: BulkJob) -> MultiStatus:
    return MultiStatus(results=list(load_results(job)), atomic=job.atomic, minimal=job.minimal)


def job_renderer_context(job: BulkJob) -> dict[str, Any]:
    """What the XML renderer needs to write an ended job's 207 as the synchronous request's: that
    request's URL (the base of the hrefs of items without a resource), its view's XML style,
    and for the propstat style the items submitted."""
    path = job.path.partition("?")[0]
    try:
        view_class = getattr(resolve(path).func, "cls", None)
    except Resolver404:  # the project's URLs changed since
        view_class = None
    style = view_setting(view_class, "xml_style", "XML_STYLE")
    context: dict[str, Any] = {"bulk_request_url": job.base_uri + path, "xml_style": style}
    if style == PROPSTAT_STYLE and not job.minimal:
        chunks = job.chunks.order_by("start").values_list("items", flat=True)
        context["bulk_items"] = [item for items in chunks for item in items]
    return context


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
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[BulkJob]:
        user = self.request.user
        if user is not None and user.is_staff:
            return BulkJob.objects.all()
        if user is not None and user.is_authenticated:
            return BulkJob.objects.filter(owner=user)
        return BulkJob.objects.filter(owner__isnull=True, anonymous=True)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self.get_object()
        if job.ended:
            self.ended_job = job
            code = job.outer_status or status.HTTP_207_MULTI_STATUS
            return Response(job_multistatus(job).as_data(), status=code)
        resume_if_stale(job)
        url = request.build_absolute_uri(request.path)
        return Response(job_state(job, url), status=status.HTTP_200_OK, headers=RUNNING)

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
        return Response(job_state(job, url), status=status.HTTP_202_ACCEPTED, headers=RUNNING)
