"""Reading 207 Multi-Status bodies on the client side, from this package or any WebDAV server.

No Django needed::

    from drf_multistatus.client import from_response

    body = from_response(requests.post(url, json=items))   # or httpx, or Django's test client
    for result in body.failed:
        print(result.index, result.status, result.description)
    retry = body.items_to_retry(items)                       # resend just these
    body.raise_for_failures()

Check every item's status, never only the outer one: a 207 (or, with the ``when-mixed`` policy,
even a 201) says nothing about each item by itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .. import xmlreader
from ..namespaces import DAV_NAMESPACE, XML_NAMESPACE, is_xml_media_type
from ..results import describe_errors, is_success, iter_error_messages

#: Statuses worth sending the same item again for: it was not done, through no fault of its own.
RETRYABLE_STATUSES = frozenset({408, 424, 425, 429, 500, 502, 503, 504, 507})


@dataclass(frozen=True)
class PropStat:
    """One ``DAV:propstat`` of a WebDAV response: a status shared by some properties."""

    status: int
    props: dict[str, Any]
    description: str | None = None


@dataclass(frozen=True)
class Result:
    """One item's outcome. ``index`` is its position in the request (for other WebDAV servers,
    its position in the body); ``errors`` maps each field path (``detail`` for the item as a
    whole, ``address.city`` for a nested field) to its messages, the same from JSON and XML."""

    index: int
    status: int
    href: str | None = None
    data: Any = None
    errors: dict[str, Any] | None = None
    description: str | None = None
    conditions: tuple[str, ...] = ()  # Clark names of DAV:error conditions (other servers)
    # How a propstat body said it (compared by nothing: the outcome is the rest).
    propstats: tuple[PropStat, ...] = field(default=(), compare=False)
    location: str | None = None  # a DAV:location (or JSON "location"), where the body has one
    code: str | None = None  # why the item failed as a whole: not_found, cancelled…
    etag: str | None = None  # the object's entity tag after a 200 or 201, for its _if_match

    @property
    def succeeded(self) -> bool:
        return is_success(self.status)

    @property
    def retryable(self) -> bool:
        """Not done for a passing reason: a server error, a timeout, a rate limit, a failed
        dependency of an atomic batch, or a collision with a concurrent request (503)."""
        return self.status in RETRYABLE_STATUSES


@dataclass(frozen=True)
class MultiStatusBody:
    """All results of a 207 body, in body order."""

    results: list[Result]
    status: int | None = None  # the outer HTTP status, when known
    atomic: bool | None = None
    description: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Result]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def succeeded(self) -> list[Result]:
        return [result for result in self.results if result.succeeded]

    @property
    def failed(self) -> list[Result]:
        return [result for result in self.results if not result.succeeded]

    @property
    def retryable(self) -> list[Result]:
        return [result for result in self.results if result.retryable]

    def items_to_retry(self, items: Sequence[Any]) -> list[Any]:
        """The request ``items`` whose results are retryable, in request order."""
        return [items[result.index] for result in self.retryable if result.index < len(items)]

    def raise_for_failures(self) -> None:
        """Raise :class:`MultiStatusError` when any item failed."""
        if self.failed:
            raise MultiStatusError(self.failed)


class MultiStatusError(Exception):
    """Some items of a multistatus body failed; ``failures`` holds their results."""

    def __init__(self, failures: list[Result]) -> None:
        self.failures = failures
        first = failures[0]
        super().__init__(
            f"{len(failures)} item(s) failed; first: item {first.index} "
            f"{first.status} {first.description or ''}".rstrip()
        )


def parse(body: bytes | str, content_type: str = "", status: int | None = None) -> MultiStatusBody:
    """Parse a multistatus body, JSON or DAV: XML as ``content_type`` says (sniffed if empty)."""
    raw = body.encode() if isinstance(body, str) else body
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.endswith("json") or (not media_type and raw.lstrip()[:1] in (b"{", b"[")):
        return parse_json(raw, status)
    if is_xml_media_type(media_type) or (not media_type and raw.lstrip()[:1] == b"<"):
        return parse_xml(raw, status)
    raise ValueError(f"Not a multistatus body: content type {content_type!r}.")


def from_response(response: Any) -> MultiStatusBody:
    """Parse the body of a ``requests``, ``httpx`` or Django/DRF test-client response."""
    headers = getattr(response, "headers", None) or {}
    content_type = headers.get("Content-Type") or headers.get("content-type") or ""
    return parse(response.content, content_type, getattr(response, "status_code", None))


# JSON -------------------------------------------------------------------------------------------


def parse_json(raw: bytes, status: int | None = None) -> MultiStatusBody:
    document = json.loads(raw)
    if not isinstance(document, Mapping) or not isinstance(document.get("results"), list):
        raise ValueError('Not a multistatus body: expected an object with a "results" list.')
    results = []
    for position, entry in enumerate(document["results"]):
        errors = entry.get("errors")
        results.append(
            Result(
                index=entry.get("index", position),
                status=int(entry["status"]),
                href=entry.get("href"),
                data=entry.get("data"),
                errors=messages_by_field(errors) if errors else None,
                description=normalize(describe_errors(errors)) if errors else None,
                location=entry.get("location"),
                code=entry.get("code"),
                etag=entry.get("etag"),
            )
        )
    summary = document.get("summary") or {}
    return MultiStatusBody(results, status=status, atomic=summary.get("atomic"), summary=summary)


def messages_by_field(errors: Any) -> dict[str, list[str]]:
    """A DRF error structure as ``{field path: [messages]}``, the shape the XML body carries."""
    found: dict[str, list[str]] = {}
    for path, message, _code in iter_error_messages(errors):
        found.setdefault(path or "detail", []).append(message)
    return found


def normalize(text: str | None) -> str | None:
    """Whitespace as one space: the same description from an indented XML body as from JSON."""
    return " ".join(text.split()) if text is not None else None


# XML --------------------------------------------------------------------------------------------


def _dav(name: str) -> str:
    return f"{{{DAV_NAMESPACE}}}{name}"


def _ms(name: str) -> str:
    return f"{{{XML_NAMESPACE}}}{name}"


def status_code(line: str | None) -> int:
    """The code of a status line: ``HTTP/1.1 423 Locked`` → 423."""
    parts = (line or "").split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError(f"Not a status line: {line!r}.")
    return int(parts[1])


def parse_xml(raw: bytes, status: int | None = None) -> MultiStatusBody:
    root = xmlreader.parse(raw)
    if root.tag != _dav("multistatus"):
        raise ValueError(f"Not a multistatus body: root element {root.tag!r}.")
    results: list[Result] = []
    for response in root.iterchildren(_dav("response")):
        results.extend(_response_results(response, len(results)))
    description = normalize(root.findtext(_dav("responsedescription")))
    if root.get(_ms("total")) is None:  # another WebDAV server's body
        return MultiStatusBody(results, status=status, description=description)
    summary = read_summary(root)
    return MultiStatusBody(
        results, status=status, atomic=summary["atomic"], description=description, summary=summary
    )


def read_summary(root: etree._Element) -> dict[str, Any]:
    """The JSON body's ``summary``, carried in extension attributes of ``d:multistatus``."""
    pairs = (pair.partition(":") for pair in (root.get(_ms("by-status")) or "").split())
    summary = {
        "total": int(root.get(_ms("total"), 0)),
        "succeeded": int(root.get(_ms("succeeded"), 0)),
        "failed": int(root.get(_ms("failed"), 0)),
        "atomic": root.get(_ms("atomic")) == "true",
        "by_status": {code: int(count) for code, _colon, count in pairs},
    }
    if (request := root.get(_ms("request-id"))) is not None:
        summary["request_id"] = request
    return summary


def _response_results(response: etree._Element, position: int) -> list[Result]:
    hrefs = [href.text or "" for href in response.iterchildren(_dav("href"))]
    propstats = tuple(_propstat(element) for element in response.iterchildren(_dav("propstat")))
    line = response.findtext(_dav("status"))
    code = status_code(line) if line is not None else _propstat_status(propstats)
    error = response.find(_dav("error"))
    errors: dict[str, list[str]] = {}
    conditions: list[str] = []
    item_code = None
    if error is not None:
        for condition in error:
            if not isinstance(condition.tag, str):
                continue
            if condition.tag == _ms("error"):
                field_path = condition.get("field") or "detail"
                errors.setdefault(field_path, []).append(condition.text or "")
                if field_path == "detail" and item_code is None:
                    item_code = condition.get("code")
            else:
                conditions.append(condition.tag)
    description = normalize(response.findtext(_dav("responsedescription")))
    if not is_success(code) and not errors and description:
        errors = {"detail": [description]}
    index_element = response.find(_ms("index"))
    index_text = index_element.text if index_element is not None else None
    names_item = index_element is not None and index_element.get("href") == "item"
    location = response.findtext(f"{_dav('location')}/{_dav('href')}")
    data_element = response.find(_ms("data"))
    data = xmlreader.element_data(data_element) if data_element is not None else None
    etag = response.findtext(_ms("etag"))
    if data is None and any(is_success(p.status) for p in propstats):
        data = {k: v for p in propstats if is_success(p.status) for k, v in p.props.items()}
        etag = data.pop(_dav("getetag"), etag)
    return [
        Result(
            index=int(index_text) if index_text is not None else position + offset,
            status=code,
            href=None if names_item else href,  # the request item's URI, not a resource
            data=data,
            errors=errors or None,
            description=description,
            conditions=tuple(conditions),
            propstats=propstats,
            location=location,
            code=item_code,
            etag=etag,
        )
        for offset, href in enumerate(hrefs or [None])  # "href*, status": one status, many hrefs
    ]


def _propstat(element: etree._Element) -> PropStat:
    prop = element.find(_dav("prop"))
    props = {}
    for child in prop if prop is not None else ():
        if not isinstance(child.tag, str):
            continue
        if child.tag == _ms("field"):  # this format's properties: named and typed as in JSON
            props[child.get("name", "")] = xmlreader.element_data(child)
        elif etree.QName(child).namespace == XML_NAMESPACE:
            props[etree.QName(child).localname] = xmlreader.element_data(child)
        else:
            props[child.tag] = xmlreader.element_data(child) if len(child) else child.text
    return PropStat(
        status=status_code(element.findtext(_dav("status"))),
        props=props,
        description=element.findtext(_dav("responsedescription")),
    )


def _propstat_status(propstats: Sequence[PropStat]) -> int:
    """One status for a response made of propstats: success when all succeeded, else the root
    cause (a failure other than 424), else 424."""
    failures = [p.status for p in propstats if not is_success(p.status)]
    if not failures:
        return propstats[0].status if propstats else 200
    causes = [code for code in failures if code != 424]
    return causes[0] if causes else 424
