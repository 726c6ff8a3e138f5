"""The job resource of a background batch: ``GET`` shows its progress, then the 207 the
synchronous request would have answered; ``DELETE`` cancels it.

Only the user who submitted a job (and staff) can see or cancel it; anyone else gets 404. Jobs
submitted anonymously are reachable by anonymous clients through their URL alone: the random
UUID in it is what keeps them apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from django.db import router
from django.db.models import QuerySet
from django.http import HttpResponseBase, StreamingHttpResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _
from rest_framework import (
    exceptions,
    mixins,
    pagination,
    permissions,
    serializers,
    status,
    viewsets,
)
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.settings import api_settings

from . import submission
from .idempotency import IdempotentRequest
from .jobresults import (
    PAGE_SIZE,
    StatusFilter,
    csv_rows,
    cursor,
    items_of,
    ndjson_lines,
    page_size,
    read_cursor,
    read_page,
)
from .models import BulkJob
from .parsers import multistatus_parser_classes
from .preferences import TX_ROLLBACK
from .renderers import (
    MultiStatusXMLRenderer,
    ResultsCSVRenderer,
    ResultsNDJSONRenderer,
    multistatus_renderer_classes,
)
from .requestid import HEADER as REQUEST_ID_HEADER
from .results import MultiStatus
from .settings import PROPSTAT_STYLE, multistatus_settings, view_setting
from .tasks import resume_if_stale

#: Seconds a client should wait before asking again about a job still running, as every answer
#: about one says.
RETRY_AFTER = 1
RUNNING = {"Retry-After": str(RETRY_AFTER)}


class BulkJobSerializer(serializers.ModelSerializer):
    """A job's state: how many of its items are done, and their statuses so far."""

    by_status = serializers.SerializerMethodField()
    retry_of = serializers.SerializerMethodField()

    class Meta:
        model = BulkJob
        fields = ["id", "state", "total", "done", "by_status", "atomic", "cancel_requested"]
        fields += ["created", "started", "finished", "retry_of", "dry_run", "request_id"]

    def get_by_status(self, job: BulkJob) -> dict[str, int]:
        return {code: job.counts[code] for code in sorted(job.counts)}

    def get_retry_of(self, job: BulkJob) -> str | None:
        """The URL of the job whose items this one sends again (null for a job submitted)."""
        request = self.context.get("request")
        if job.retry_of_id is None or request is None:
            return None
        return job_url(request, job.retry_of_id)


def job_state(job: BulkJob, request: Request, url: str | None = None) -> dict[str, Any]:
    state = dict(BulkJobSerializer(job, context={"request": request}).data)
    if url:
        state["href"] = url
    return state


def job_url(request: Request, job: BulkJob | uuid.UUID) -> str:
    """The URL of ``job`` (a job or its id), under the namespace of the request's URL."""
    pk = job.pk if isinstance(job, BulkJob) else job
    return reverse(job_route_name(request, "detail"), kwargs={"pk": str(pk)}, request=request)


def job_multistatus(job: BulkJob, request: Request) -> MultiStatus:
    """An ended job's 207: every result, or, past ``JOB_INLINE_RESULTS`` items, the summary of
    them all with the first page of results and the link to the next."""
    counts = {int(code): n for code, n in job.counts.items()}
    inline = multistatus_settings.JOB_INLINE_RESULTS
    if job.total <= inline:
        page = read_page(job, StatusFilter(), size=max(job.total, 1))
        return MultiStatus(
            results=page.results,
            atomic=job.atomic,
            minimal=job.minimal,
            request_id=job.request_id or None,
        )
    size = max(min(PAGE_SIZE, inline), 1)  # never more results than the setting lets in
    page = read_page(job, StatusFilter(), size)
    query = {"page_size": size} if size != PAGE_SIZE else {}
    next_url = results_url(request, job, after=page.next_after, **query)
    return MultiStatus(
        results=page.results,
        atomic=job.atomic,
        minimal=job.minimal,
        request_id=job.request_id or None,
        counts=counts,
        paged=True,
        next=next_url,
    )


def results_url(request: Request, job: BulkJob, **query: Any) -> str | None:
    """The URL of a page of the job's results (None for a page there is not)."""
    after, before = query.pop("after", None), query.pop("before", None)
    if after is None and before is None:
        return None
    url = reverse(job_route_name(request, "results"), kwargs={"pk": str(job.pk)}, request=request)
    parameters = {key: value for key, value in query.items() if value is not None}
    parameters["cursor"] = cursor(after=after, before=before)
    return f"{url}?{urlencode(parameters)}"


def job_route_name(request: Request, route: str) -> str:
    namespace = getattr(getattr(request, "resolver_match", None), "namespace", "")
    name = f"bulk-job-{route}"
    return f"{namespace}:{name}" if namespace else name


def link_header(multistatus: MultiStatus) -> dict[str, str]:
    links = [
        f'<{url}>; rel="{rel}"'
        for url, rel in ((multistatus.next, "next"), (multistatus.previous, "prev"))
        if url
    ]
    return {"Link": ", ".join(links)} if links else {}


def job_renderer_context(job: BulkJob, results: list[Any]) -> dict[str, Any]:
    """What the XML renderer needs to write an ended job's 207 as the synchronous request's: that
    request's URL (the base of the hrefs of items without a resource), its view's XML style,
    and for the propstat style the items the results answer for."""
    path = job.path.partition("?")[0]
    try:
        view_class = getattr(resolve(path).func, "cls", None)
    except Resolver404:  # the project's URLs changed since
        view_class = None
    style = view_setting(view_class, "xml_style", "XML_STYLE")
    context: dict[str, Any] = {"bulk_request_url": job.base_uri + path, "xml_style": style}
    if style == PROPSTAT_STYLE and not job.minimal:
        context["bulk_items"] = items_of(job, [result.index for result in results])
    return context


def accepted(request: Request, job: BulkJob, applied: Sequence[str] = ()) -> Response:
    """202: the job's state, its URL in ``Location``; ``applied``: the preferences it applies
    (``respond-async`` first)."""
    url = job_url(request, job)
    headers = {"Location": url, REQUEST_ID_HEADER: job.request_id, **RUNNING}
    if applied:
        headers["Preference-Applied"] = ", ".join(applied)
    return Response(job_state(job, request, url), status=status.HTTP_202_ACCEPTED, headers=headers)


class JobPagination(pagination.CursorPagination):
    """The list of a user's jobs, newest first."""

    ordering = "-created"
    page_size = 50


class JobEnded(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This job has ended; there is nothing to cancel.")
    default_code = "job_ended"


class JobNotEnded(exceptions.APIException):
    """A retry of a job still running: its results are not all known yet (``Retry-After``)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This job has not ended yet; retry its items once it has.")
    default_code = "job_not_ended"
    wait = RETRY_AFTER


class NothingToRetry(exceptions.APIException):
    """A retry that would send no item: refused rather than run as an empty job."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _(
        "No result of this job has the statuses asked for; there is nothing to retry."
    )
    default_code = "nothing_to_retry"


def retry_statuses(data: Any) -> StatusFilter:
    """The statuses a retry's body asks for (a JSON object's ``status``, or a form's); by
    default, ``failed``."""
    if hasattr(data, "getlist"):
        value = data.getlist("status")
    elif isinstance(data, Mapping):
        value = data.get("status")
    else:
        message = _('Expected an object such as {"status": ["failed"]}.')
        raise exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]})
    return StatusFilter.parse(["failed"] if value in (None, "", []) else value)


class BulkJobViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A background bulk job: its progress while it runs, its 207 once it has ended; its results
    page by page or exported (``results/``), and sent again (``retry/``). The list is the
    requesting user's jobs, newest first."""

    queryset = BulkJob.objects.all()
    serializer_class = BulkJobSerializer
    permission_classes = [permissions.AllowAny]  # who may see a job is get_queryset()'s rule
    pagination_class = JobPagination
    renderer_classes = [*multistatus_renderer_classes(), ResultsNDJSONRenderer, ResultsCSVRenderer]
    parser_classes = multistatus_parser_classes()
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[BulkJob]:
        user = self.request.user
        mine = BulkJob.objects.filter(owner_id=user.pk) if user and user.is_authenticated else None
        if self.action == "list":
            return mine if mine is not None else BulkJob.objects.none()
        if user is not None and user.is_staff:
            return BulkJob.objects.all()
        if mine is not None:
            return mine
        return BulkJob.objects.filter(owner__isnull=True, anonymous=True)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The requesting user's jobs, newest first (anonymous jobs are found by URL only)."""
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated(_("Authenticate to list your jobs."))
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self.get_object()
        if job.ended:
            multistatus = job_multistatus(job, request)
            self.ended_results = (job, multistatus.results)
            code = job.outer_status or status.HTTP_207_MULTI_STATUS
            return Response(multistatus.as_data(), status=code, headers=link_header(multistatus))
        resume_if_stale(job)
        url = request.build_absolute_uri(request.path)
        return Response(job_state(job, request, url), status=status.HTTP_200_OK, headers=RUNNING)

    @action(detail=True, methods=["get"])
    def results(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """The job's results so far in index order, ``?status=`` filtering them: a page by
        cursor (``?page_size=``, up to 10,000), or, as JSON lines or CSV, every one of them."""
        job = self.get_object()
        wanted = StatusFilter.parse(request.query_params.get("status"))
        renderer = request.accepted_renderer
        if isinstance(renderer, ResultsNDJSONRenderer | ResultsCSVRenderer):
            return self.export(job, wanted, renderer)
        after, before = None, None
        if (value := request.query_params.get("cursor")) is not None:
            after, before = read_cursor(value)
        size = page_size(request.query_params.get("page_size"))
        page = read_page(job, wanted, size, after, before)
        query = {key: request.query_params.get(key) for key in ("status", "page_size")}
        multistatus = MultiStatus(
            results=page.results,
            atomic=job.atomic,
            minimal=job.minimal,
            request_id=job.request_id or None,
            counts={int(code): n for code, n in job.counts.items()},
            paged=True,
            next=results_url(request, job, after=page.next_after, **query),
            previous=results_url(request, job, before=page.previous_before, **query),
        )
        self.ended_results = (job, page.results)
        return Response(multistatus.as_data(), headers=link_header(multistatus))

    def export(
        self, job: BulkJob, wanted: StatusFilter, renderer: BaseRenderer
    ) -> StreamingHttpResponse:
        """Every matching result streamed, a chunk of the job at a time."""
        if isinstance(renderer, ResultsCSVRenderer):
            rows = csv_rows(job, wanted, api_settings.NON_FIELD_ERRORS_KEY)
            extension = "csv"
        else:
            rows = ndjson_lines(job, wanted)
            extension = "ndjson"
        response = StreamingHttpResponse(rows, content_type=f"{renderer.media_type}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="job-{job.pk}.{extension}"'
        return response

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A new job over this one's items whose results match ``{"status": [...]}`` (by
        default, every failed one), under their indexes here; once per ``Idempotency-Key``.

        Only an ended job is retried (409 ``job_not_ended`` before), and only where some result
        matches: a retry with nothing to send is 409 ``nothing_to_retry``, not an empty job."""
        job = self.get_object()
        header = request.META.get("HTTP_IDEMPOTENCY_KEY")
        if header is None:
            return self.submit_retry(job)
        database = router.db_for_write(BulkJob)
        keyed = IdempotentRequest(request, header, database)
        return keyed.respond(lambda: self.submit_retry(job))

    def submit_retry(self, job: BulkJob) -> Response:
        request = self.request
        if not job.ended:
            raise JobNotEnded
        wanted = retry_statuses(request.data)
        if not any(n and wanted.matches(int(code)) for code, n in job.counts.items()):
            raise NothingToRetry
        again = submission.retry(job, wanted, request)
        return accepted(request, again, [TX_ROLLBACK] if again.dry_run else [])

    def get_renderer_context(self) -> dict[str, Any]:
        """An ended job's 207 is rendered as its request's would have been: in XML, that takes
        the request's URL, style and items (JSON needs none of them)."""
        context = super().get_renderer_context()
        ended = getattr(self, "ended_results", None)
        if ended is None or not isinstance(self.request.accepted_renderer, MultiStatusXMLRenderer):
            return context
        return {**context, **job_renderer_context(*ended)}

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Cancel: the job stops at its next chunk; the items it never ran answer 424."""
        job = self.get_object()
        if job.ended:
            raise JobEnded
        BulkJob.objects.filter(pk=job.pk).update(cancel_requested=True)
        job.refresh_from_db()
        url = request.build_absolute_uri(request.path)
        state = job_state(job, request, url)
        return Response(state, status=status.HTTP_202_ACCEPTED, headers=RUNNING)
