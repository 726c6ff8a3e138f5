"""The outcome of a bulk request: one :class:`ItemResult` per request item.

Nothing here knows about HTTP requests, the database or even Django (``drf_multistatus.client``
uses it too); views build these objects and renderers turn them into bodies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

NON_FIELD_ERRORS_KEY = "non_field_errors"
NO_CONTENT = 204
FAILED_DEPENDENCY = 424


def is_success(code: int) -> bool:
    return 200 <= code <= 299


def summarize(
    statuses: Iterable[int] | Mapping[int, int], atomic: bool | None = None
) -> dict[str, Any]:
    """A body's ``summary`` of its items' statuses (or of how many have each status): counted
    in all, by success and by status; ``atomic`` where it is known."""
    counts = Counter(statuses)
    summary: dict[str, Any] = {
        "total": sum(counts.values()),
        "succeeded": sum(n for code, n in counts.items() if is_success(code)),
        "failed": sum(n for code, n in counts.items() if not is_success(code)),
    }
    if atomic is not None:
        summary["atomic"] = atomic
    summary["by_status"] = {str(code): counts[code] for code in sorted(counts)}
    return summary


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What happened to one item of a batch.

    ``href`` names the item's resource (the created, targeted or deleted object) when it has
    one; ``data`` is the serializer representation on success (none for a 204), ``errors`` a
    DRF-style error dict on failure; ``etag`` the object's entity tag after a 200 or 201.
    """

    index: int
    status: int
    href: str | None = None
    data: Any = None
    errors: Mapping[str, Any] | None = None
    etag: str | None = None

    def __post_init__(self) -> None:
        if not 200 <= self.status <= 599:
            raise ValueError(f"An item status must be a final status (2xx-5xx), not {self.status}.")

    @property
    def succeeded(self) -> bool:
        return is_success(self.status)

    def as_dict(self, minimal: bool = False) -> dict[str, Any]:
        """The JSON form; ``minimal`` (``Prefer: return=minimal``) leaves out a success's data."""
        body: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.href is not None:
            body["href"] = self.href
        if self.etag is not None:
            body["etag"] = self.etag
        if self.status == NO_CONTENT or (minimal and self.succeeded):
            pass
        elif self.succeeded:
            body["data"] = self.data
        else:
            body["errors"] = self.errors or {}
            if code := self.code:
                body["code"] = code
        return body

    @property
    def code(self) -> str | None:
        """The code of a failure of the item as a whole (``not_found``, ``cancelled``…): the
        code of its ``detail``, which JSON would not carry otherwise."""
        detail = self.errors.get("detail") if isinstance(self.errors, Mapping) else None
        return getattr(detail, "code", None)


@dataclass(frozen=True, slots=True)
class MultiStatus:
    """All item results of one batch, in request order."""

    results: list[ItemResult] = field(default_factory=list)
    atomic: bool = False
    minimal: bool = False  # successful items are written without their data
    #: How many items of the whole batch have each status, where ``results`` are one page of
    #: them (a large background job's); None: ``results`` are all.
    counts: Mapping[int, int] | None = None
    paged: bool = False  # one page of results: the body links the next and the previous
    next: str | None = None
    previous: str | None = None
    request_id: str | None = None  # the id of the request the results answer

    @property
    def succeeded(self) -> list[ItemResult]:
        return [result for result in self.results if result.succeeded]

    @property
    def failed(self) -> list[ItemResult]:
        return [result for result in self.results if not result.succeeded]

    def summary(self) -> dict[str, Any]:
        statuses = self.counts if self.counts is not None else (r.status for r in self.results)
        summary = summarize(statuses, self.atomic)
        if self.request_id is not None:
            summary["request_id"] = self.request_id
        return summary

    def as_data(self) -> MultiStatusData:
        return MultiStatusData(self)


class MultiStatusData(dict):
    """The JSON-ready body of a bulk response, keeping the :class:`MultiStatus` it came from.

    Any JSON renderer renders it as the plain dict it is; the XML renderer recognises it and
    reads ``.multistatus``, as DRF's ``ReturnDict`` keeps its ``.serializer``.
    """

    def __init__(self, multistatus: MultiStatus) -> None:
        super().__init__(
            results=[result.as_dict(multistatus.minimal) for result in multistatus.results],
            summary=multistatus.summary(),
        )
        if multistatus.paged:
            self["next"] = multistatus.next
            self["previous"] = multistatus.previous
        self.multistatus = multistatus

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


# The stored form: JSON, for Idempotency-Key outcomes and the chunks of background jobs --------


class Message(str):
    """A stored error message with its code: DRF's ``ErrorDetail`` as read back."""

    code: str | None

    def __new__(cls, text: str, code: str | None = None) -> Message:
        message = super().__new__(cls, text)
        message.code = code
        return message


_MESSAGE = "__error__"  # marks a stored message: {"__error__": text, "code": code}


def dump_result(result: ItemResult, minimal: bool = False) -> dict[str, Any]:
    """One item's result as JSON; ``minimal``: without its data."""
    return {
        "index": result.index,
        "status": result.status,
        "href": result.href,
        "data": None if minimal else result.data,  # a serializer's representation: plain JSON
        "errors": dump(result.errors),
        "etag": result.etag,
    }


def load_result(stored: Mapping[str, Any]) -> ItemResult:
    return ItemResult(
        index=stored["index"],
        status=stored["status"],
        href=stored["href"],
        data=stored["data"],
        errors=load(stored["errors"]),
        etag=stored.get("etag"),  # none in what 0.2 stored
    )


def dump(value: Any) -> Any:
    """JSON for error structures, keeping each message's code."""
    if isinstance(value, str) and getattr(value, "code", None) is not None:
        return {_MESSAGE: str(value), "code": value.code}  # type: ignore[attr-defined]
    if isinstance(value, Mapping):
        return {str(key): dump(member) for key, member in value.items()}
    if isinstance(value, list | tuple):
        return [dump(member) for member in value]
    return value


def load(value: Any) -> Any:
    if isinstance(value, dict):
        if _MESSAGE in value and set(value) == {_MESSAGE, "code"}:
            return Message(value[_MESSAGE], value["code"])
        return {key: load(member) for key, member in value.items()}
    if isinstance(value, list):
        return [load(member) for member in value]
    return value


def iter_error_messages(errors: Any, path: str = "") -> Iterator[tuple[str, str, str | None]]:
    """Flatten a DRF error structure into ``(field path, message, code)`` triples.

    Nested serializers give dotted paths (``address.city``), list fields give indexes
    (``tags.2``); ``detail`` and ``non_field_errors`` keep their own names.
    """
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            yield from iter_error_messages(value, f"{path}.{key}" if path else str(key))
    elif isinstance(errors, list | tuple):
        nested = any(isinstance(value, Mapping | list | tuple) for value in errors)
        for position, value in enumerate(errors):
            sub_path = f"{path}.{position}" if nested and path else path
            yield from iter_error_messages(value, sub_path)
    elif errors is not None:
        yield path, str(errors), getattr(errors, "code", None)


def describe_errors(errors: Any, non_field_key: str = NON_FIELD_ERRORS_KEY) -> str:
    """One human-readable line for an item's errors: ``email: Enter a valid email address.``"""
    return describe_messages(iter_error_messages(errors), non_field_key)


def describe_messages(
    messages: Iterable[tuple[str, str, str | None]], non_field_key: str = NON_FIELD_ERRORS_KEY
) -> str:
    """``describe_errors`` for messages already flattened by ``iter_error_messages``."""
    unnamed = ("", "detail", non_field_key)
    return " ".join(
        message if path in unnamed else f"{path}: {message}" for path, message, _code in messages
    )
