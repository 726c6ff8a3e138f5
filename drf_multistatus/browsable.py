"""DRF's browsable API, taught to show bulk forms and per-item results."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from rest_framework import serializers
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.settings import api_settings

from .actions import HANDLERS, has_bulk_handler
from .exceptions import JobCancelled, JobFailed
from .preferences import TX_ROLLBACK
from .results import MultiStatus, MultiStatusData, describe_errors
from .settings import view_setting
from .statuses import reason_phrase

EXAMPLE_SIZE = 2
#: The fields of a background job's state, as its GET (while it runs), its cancel and its
#: submission answer it (with ``Retry-After``): the job has not ended.
JOB_STATE_FIELDS = frozenset({"state", "total", "done", "cancel_requested"})
#: The codes of the results of items a job never ran, and whether they mean it was cancelled.
UNRUN_CODES = {JobCancelled.default_code: True, JobFailed.default_code: False}


def example_value(field: serializers.Field, number: int) -> Any:
    """A plausible input value for ``field``, the ``number``-th of an example batch."""
    if isinstance(field, serializers.ManyRelatedField):  # the first object it may name
        choices = list(field.child_relation.get_choices(cutoff=1))
        return choices[:1]
    if isinstance(field, serializers.BooleanField):
        return False
    if isinstance(field, serializers.ChoiceField):
        return next(iter(field.choices), None)
    if isinstance(field, serializers.EmailField):
        return f"{field.field_name}{number}@example.com"
    if isinstance(
        field, serializers.IntegerField | serializers.FloatField | serializers.DecimalField
    ):
        low = float(field.min_value) if field.min_value is not None else 0.0
        high = float(field.max_value) if field.max_value is not None else low + 100
        return int(low + (high - low) * number / (EXAMPLE_SIZE + 1))
    if isinstance(field, serializers.DateTimeField):
        return datetime.datetime(2026, 1, number, 12, 0).isoformat()
    if isinstance(field, serializers.DateField):
        return datetime.date(2026, 1, number).isoformat()
    if isinstance(field, serializers.CharField):
        text = f"{(field.field_name or '').replace('_', ' ').capitalize()} {number}"
        return text[: field.max_length] if field.max_length else text
    return None


def is_job_state(data: Any) -> bool:
    return isinstance(data, Mapping) and data.keys() >= JOB_STATE_FIELDS


def job_outcome(multistatus: MultiStatus) -> dict[str, Any] | None:
    """How an ended job that left items unrun ended: cancelled, or failed; how many items ran."""
    unrun = [result.code for result in multistatus.results if result.code in UNRUN_CODES]
    if not unrun:
        return None
    total = len(multistatus.results)
    return {
        "cancelled": UNRUN_CODES[unrun[0]],
        "code": unrun[0],
        "ran": total - len(unrun),
        "not_run": len(unrun),
        "total": total,
    }


def result_pages(data: MultiStatusData, view: Any, request: Any) -> dict[str, Any]:
    """A page of a job's results: the links to its neighbours, to the results of one kind, and
    to the files of them."""
    on_results = getattr(view, "action", None) == "results"
    base = request.path if on_results else request.path.rstrip("/") + "/results/"
    wanted = request.query_params.get("status", "") if on_results else ""
    rows = data.multistatus.results
    return {
        "next": data.get("next"),
        "previous": data.get("previous"),
        "first": rows[0].index if rows else None,
        "last": rows[-1].index if rows else None,
        "status": wanted,
        "filters": [
            {"label": label, "url": with_query(base, status=term), "current": term == wanted}
            for label, term in (("All", ""), ("Failed", "failed"), ("Succeeded", "succeeded"))
        ],
        "downloads": [
            {"label": label, "url": with_query(base, status=wanted, format=extension)}
            for label, extension in (("CSV", "csv"), ("JSON lines", "ndjson"))
        ],
    }


def with_query(path: str, **parameters: str) -> str:
    query = urlencode({name: value for name, value in parameters.items() if value})
    return f"{path}?{query}" if query else path


def example_item(serializer: serializers.Serializer, number: int) -> dict[str, Any]:
    return {
        name: example_value(field, number)
        for name, field in serializer.fields.items()
        if not field.read_only and not isinstance(field, serializers.HiddenField)
    }


class MultiStatusBrowsableAPIRenderer(BrowsableAPIRenderer):
    """The browsable API with bulk raw-data forms pre-filled with an example array, and a table
    of per-item results above the raw body of a 207."""

    template = "drf_multistatus/api.html"

    def get_context(
        self, data: Any, accepted_media_type: str | None, renderer_context: Mapping[str, Any]
    ) -> dict[str, Any]:
        context = super().get_context(data, accepted_media_type, renderer_context)
        context["available_formats"] = list(dict.fromkeys(context["available_formats"]))
        view, request = renderer_context["view"], renderer_context["request"]
        response = renderer_context.get("response")
        context["bulk_delete_form"] = self.is_bulk_list(view, "DELETE") and bool(
            super().get_rendered_html_form(data, view, "DELETE", request)
        )
        context["bulk_dry_run"] = any(
            self.is_bulk_list(view, method) for method in ("POST", "PUT", "PATCH", "DELETE")
        ) and bool(view_setting(view, "allow_dry_run", "ALLOW_DRY_RUN"))
        if isinstance(data, MultiStatusData):
            context["multistatus_rows"] = [
                {
                    "index": result.index,
                    "status": result.status,
                    "reason": reason_phrase(result.status),
                    "href": result.href,
                    "succeeded": result.succeeded,
                    "message": ""
                    if result.succeeded
                    else describe_errors(result.errors, api_settings.NON_FIELD_ERRORS_KEY),
                }
                for result in data.multistatus.results
            ]
            context["multistatus_summary"] = data["summary"]
            applied = response.get("Preference-Applied", "") if response is not None else ""
            context["multistatus_dry_run"] = TX_ROLLBACK in map(str.strip, applied.split(","))
            context["bulk_job_outcome"] = job_outcome(data.multistatus)
            if getattr(view, "ended_results", None) is not None:  # a job's results
                context["multistatus_pages"] = result_pages(data, view, request)
        retry_after = response.get("Retry-After") if response is not None else None
        if retry_after and is_job_state(data):
            total = data["total"] or 0
            context["bulk_job"] = {
                **data,
                "percent": round(100 * data["done"] / total) if total else 0,
                "refresh": retry_after,
            }
        return context

    @staticmethod
    def is_bulk_list(view: Any, method: str) -> bool:
        return method in HANDLERS and has_bulk_handler(view, HANDLERS[method])

    def get_rendered_html_form(self, data: Any, view: Any, method: str, request: Any) -> Any:
        # A list URL updates and deletes with an array, which an HTML form cannot send (nor
        # DRF's DELETE button, which sends no body): the raw-data form does.
        if method in ("PUT", "PATCH", "DELETE") and self.is_bulk_list(view, method):
            return None
        return super().get_rendered_html_form(data, view, method, request)

    def get_raw_data_form(self, data: Any, view: Any, method: str, request: Any) -> Any:
        form = super().get_raw_data_form(data, view, method, request)
        if form is None or not self.is_bulk_list(view, method):
            return form
        form.fields["_content"].initial = json.dumps(
            self.example_batch(data, view, method), indent=4
        )
        return form

    def example_batch(self, data: Any, view: Any, method: str) -> list[dict[str, Any]]:
        """POST: new items built from the serializer's fields. PUT/PATCH: the first objects
        listed on the page (or just saved), ready to edit."""
        serializer = view.get_serializer()
        if method == "POST":
            return [example_item(serializer, number) for number in range(1, EXAMPLE_SIZE + 1)]
        if isinstance(data, MultiStatusData):
            # Objects that exist: a dry run's created ones (no href) do not.
            listed = [r["data"] for r in data["results"] if "data" in r and "href" in r]
        elif isinstance(data, Mapping):
            listed = data.get("results", [])  # a paginated list
        else:
            listed = data
        key = view.get_item_lookup_key()
        rows = [row for row in (listed or []) if isinstance(row, Mapping) and key in row]
        writable = set(example_item(serializer, 1))
        if not rows:
            return [{key: 1, **example_item(serializer, 1)}]
        return [
            {key: row[key], **{name: row[name] for name in row if name in writable}}
            for row in rows[:EXAMPLE_SIZE]
        ]
