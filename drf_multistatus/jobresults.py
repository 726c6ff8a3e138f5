"""A background job's stored results read back: filtered by status, a page at a time by cursor,
or every one of them streamed as JSON lines or CSV in bounded memory.

Results are stored per chunk (``BulkJobChunk.results``), with how many have each status and the
failed ones apart (``statuses``, ``failures``): a page of failures reads only the chunks that
have some, and only their failures.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from .bodies import csv_cell, unreadable
from .models import BulkJob, BulkJobChunk
from .results import ItemResult, describe_errors, is_success, load_result

#: Results per page by default, and at most.
PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000
#: Longer than any cursor this server writes: a longer one is refused unread.
MAX_CURSOR_LENGTH = 100
_CODE = re.compile(r"[1-5][0-9][0-9]")
_CLASS = re.compile(r"[1-5]xx")


@dataclass(frozen=True)
class StatusFilter:
    """Which results a request asks for, by ``?status=``: codes (``422``), classes (``4xx``),
    ``failed`` or ``succeeded``, comma-separated; none: every result."""

    terms: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: Any, name: str = "status") -> StatusFilter:
        """``value`` as a query parameter holds it (``"4xx,409"``) or a JSON body does (``409``,
        ``["4xx", 409]``); 400 naming ``name`` for anything else."""
        members = value if isinstance(value, list | tuple) else [] if value is None else [value]
        terms: list[str] = []
        for member in members:
            if isinstance(member, bool) or not isinstance(member, str | int):
                raise ValidationError({name: [_("Expected a status or a list of statuses.")]})
            terms += [term.strip().lower() for term in str(member).split(",") if term.strip()]
        for term in terms:
            if term not in ("failed", "succeeded") and not (
                _CODE.fullmatch(term) or _CLASS.fullmatch(term)
            ):
                raise ValidationError(
                    {
                        name: [
                            _(
                                "%(term)r is no status: name a code (422), a class (4xx), "
                                "failed or succeeded."
                            )
                            % {"term": term}
                        ]
                    }
                )
        return cls(tuple(terms))

    def matches(self, status: int) -> bool:
        return not self.terms or any(self.term_matches(term, status) for term in self.terms)

    @staticmethod
    def term_matches(term: str, status: int) -> bool:
        if term == "failed":
            return not is_success(status)
        if term == "succeeded":
            return is_success(status)
        if term.endswith("xx"):
            return str(status)[0] == term[0]
        return str(status) == term

    def matches_any(self, statuses: Mapping[str, int]) -> bool:
        """Whether a chunk with these counts holds a matching result (one run before they
        were counted may)."""
        if not statuses:
            return True
        return any(self.matches(int(code)) for code, count in statuses.items() if count)

    @property
    def failures_only(self) -> bool:
        """Whether only failed results can match: a chunk's failures are all there is to read."""
        return bool(self.terms) and all(
            term == "failed" or (term != "succeeded" and term[0] != "2") for term in self.terms
        )


@dataclass(frozen=True)
class Page:
    results: list[ItemResult]
    next_after: int | None  # the cursor of the next page: after this index
    previous_before: int | None  # the cursor of the previous page: before this index


def read_page(
    job: BulkJob,
    wanted: StatusFilter,
    size: int = PAGE_SIZE,
    after: int | None = None,
    before: int | None = None,
) -> Page:
    """The matching results after index ``after`` (or, going back, before ``before``), at most
    ``size``, in index order."""
    if before is not None:
        found = list(itertools.islice(matching(job, wanted, before=before), size + 1))
        more = len(found) > size
        found = found[:size][::-1]
        previous = found[0].index if more and found else None
        return Page(found, found[-1].index if found else before - 1, previous)
    found = list(itertools.islice(matching(job, wanted, after=after), size + 1))
    more = len(found) > size
    found = found[:size]
    previous = found[0].index if after is not None and found else None
    return Page(found, found[-1].index if more else None, previous)


def matching(
    job: BulkJob,
    wanted: StatusFilter,
    after: int | None = None,
    before: int | None = None,
) -> Iterator[ItemResult]:
    """The job's matching results in index order (backwards where ``before`` is given),
    reading a chunk's results only where it may hold one."""
    backwards = before is not None
    for chunk_id in candidate_chunks(job, wanted, after, before):
        stored = stored_results(chunk_id, wanted)
        for result in reversed(stored) if backwards else stored:
            index = result["index"]
            if (after is not None and index <= after) or (before is not None and index >= before):
                continue
            if wanted.matches(result["status"]):
                yield load_result(result)


def candidate_chunks(
    job: BulkJob, wanted: StatusFilter, after: int | None, before: int | None
) -> Iterator[int]:
    """The ids of the chunks that may hold a result between ``after`` and ``before``, in
    order (a light read: their counts by status, no results)."""
    chunks = BulkJobChunk.objects.filter(job=job, results__isnull=False)
    if before is not None:
        rows = chunks.filter(first_index__lt=before).order_by("-first_index")
    else:
        if after is not None:
            start = (
                chunks.filter(first_index__lte=after)
                .order_by("-first_index")
                .values_list("first_index", flat=True)
                .first()
            )
            if start is not None:
                chunks = chunks.filter(first_index__gte=start)
        rows = chunks.order_by("first_index")
    for chunk_id, statuses in rows.values_list("pk", "statuses").iterator(chunk_size=100):
        if wanted.matches_any(statuses):
            yield chunk_id


def stored_results(chunk_id: int, wanted: StatusFilter) -> list[dict[str, Any]]:
    """A chunk's stored results: its failures only where nothing else can match."""
    if wanted.failures_only:
        failures = BulkJobChunk.objects.values_list("failures", flat=True).get(pk=chunk_id)
        if failures is not None:
            return list(failures)
    return list(BulkJobChunk.objects.values_list("results", flat=True).get(pk=chunk_id) or [])


def all_matching(job: BulkJob, wanted: StatusFilter) -> Iterator[tuple[ItemResult, Any]]:
    """Every matching result with the item it answers for, in index order, a chunk at a time."""
    chunks = BulkJobChunk.objects.filter(job=job, results__isnull=False).order_by("first_index")
    for chunk_id, statuses in chunks.values_list("pk", "statuses").iterator(chunk_size=100):
        if not wanted.matches_any(statuses):
            continue
        first, indexes, items, stored = BulkJobChunk.objects.values_list(
            "first_index", "indexes", "items", "results"
        ).get(pk=chunk_id)
        positions = (
            {index: position for position, index in enumerate(indexes)}
            if indexes is not None
            else None
        )
        for result in stored or []:
            if wanted.matches(result["status"]):
                index = result["index"]
                position = positions[index] if positions is not None else index - first
                yield load_result(result), items[position]


# Cursors ----------------------------------------------------------------------------------------


def cursor(after: int | None = None, before: int | None = None) -> str:
    payload = {"after": after} if after is not None else {"before": before}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def read_cursor(value: str) -> tuple[int | None, int | None]:
    """``(after, before)`` from a cursor; 400 for one this server did not write."""
    try:
        if len(value) > MAX_CURSOR_LENGTH:
            raise ValueError(value)
        padded = value + "=" * (-len(value) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, before = payload.get("after"), payload.get("before")
        if not all(isinstance(n, int | None) and not isinstance(n, bool) for n in (after, before)):
            raise ValueError(value)
        if (after is None) == (before is None):
            raise ValueError(value)
    except (ValueError, binascii.Error, AttributeError, RecursionError) as exc:
        raise ValidationError({"cursor": [_("Invalid cursor.")]}) from exc
    return after, before


def page_size(value: str | None) -> int:
    if value is None:
        return PAGE_SIZE
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationError(
            {"page_size": [_("A number from 1 to %(max)d.") % {"max": MAX_PAGE_SIZE}]}
        )
    return size


# Exports ----------------------------------------------------------------------------------------


def ndjson_lines(job: BulkJob, wanted: StatusFilter) -> Iterator[bytes]:
    """Every matching result as one line of JSON, as the 207's ``results`` hold it."""
    for result, _item in all_matching(job, wanted):
        line = json.dumps(result.as_dict(job.minimal), cls=DjangoJSONEncoder, ensure_ascii=False)
        yield line.encode() + b"\n"


def csv_rows(job: BulkJob, wanted: StatusFilter, non_field_key: str) -> Iterator[bytes]:
    """Every matching result as a CSV row: ``_index`` and ``_status``, the fields the item was
    submitted with, and ``_errors`` in words — a file the failed rows can be fixed in and sent
    again as it is (the ``_`` columns are ignored then)."""
    fields = list(job.fields) or submitted_fields(job, wanted)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def row(cells: Sequence[Any]) -> bytes:
        writer.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode()

    yield row(["_index", "_status", *fields, "_errors"])
    for result, item in all_matching(job, wanted):
        values = item if isinstance(item, dict) and unreadable(item) is None else {}
        cells = [csv_cell(values[name]) if name in values else "" for name in fields]
        errors = "" if result.succeeded else describe_errors(result.errors, non_field_key)
        yield row([result.index, result.status, *cells, csv_cell(errors)])


def submitted_fields(job: BulkJob, wanted: StatusFilter) -> list[str]:
    """The fields the matching items name, as first met (jobs stored before ``fields``)."""
    fields: dict[str, None] = {}
    for _result, item in all_matching(job, wanted):
        if isinstance(item, dict) and unreadable(item) is None:
            fields.update(dict.fromkeys(item))
    return list(fields)


def items_of(job: BulkJob, indexes: Sequence[int]) -> dict[int, Any]:
    """The items with these indexes, by index (what the propstat style writes a page with)."""
    wanted = set(indexes)
    if not wanted:
        return {}
    chunks = BulkJobChunk.objects.filter(job=job, first_index__lte=max(wanted))
    start = (
        chunks.filter(first_index__lte=min(wanted))
        .order_by("-first_index")
        .values_list("first_index", flat=True)
        .first()
    )
    if start is not None:
        chunks = chunks.filter(first_index__gte=start)
    found: dict[int, Any] = {}
    for first, chunk_indexes, items in chunks.order_by("first_index").values_list(
        "first_index", "indexes", "items"
    ):
        for position, item in enumerate(items):
            index = chunk_indexes[position] if chunk_indexes is not None else first + position
            if index in wanted:
                found[index] = item
    return found
