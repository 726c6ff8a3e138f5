"""Writes the XML documents of the XML renderer as text, in one pass: the RFC 4918
``DAV:multistatus`` of a batch, the ``DAV:error`` of a refused request, and ``ms:data``.

Building an lxml tree costs about twenty times what DRF's JSON renderer spends on the same
results, so the documents are written directly. Every string goes through ``text()`` or
``attribute()``: characters XML 1.0 forbids become U+FFFD and markup characters are escaped; the
tests parse every kind of output with lxml, validate it against RFC 4918's definitions and
compare it with a tree built by lxml.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from .namespaces import DAV_NAMESPACE, XML_NAMESPACE, XSD_NAMESPACE, XSI_NAMESPACE
from .results import (
    FAILED_DEPENDENCY,
    NO_CONTENT,
    ItemResult,
    describe_messages,
    iter_error_messages,
)
from .statuses import reason_phrase, status_line

DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
NAMESPACES = (
    f'xmlns:d="{DAV_NAMESPACE}" xmlns:ms="{XML_NAMESPACE}" xmlns:xsi="{XSI_NAMESPACE}" '
    f'xmlns:xsd="{XSD_NAMESPACE}"'
)
#: ``xsi:type`` of the values that are not strings, so that a reader gets JSON's types back.
TYPES = {
    int: ' xsi:type="xsd:integer"',
    float: ' xsi:type="xsd:double"',
    bool: ' xsi:type="xsd:boolean"',
}
EMPTY_MAP = ' xsi:type="ms:map"'
EMPTY_LIST = ' xsi:type="ms:list"'

_FORBIDDEN = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_TEXT_SPECIAL = re.compile(f"[&<>\r{_FORBIDDEN}]")
_ATTRIBUTE_SPECIAL = re.compile(f'[&<>"\t\n\r{_FORBIDDEN}]')
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTRIBUTE_ESCAPES = {**_TEXT_ESCAPES, '"': "&quot;", "\t": "&#9;", "\n": "&#10;"}

# XML 1.0 (fifth edition) NameStartChar and NameChar, without the colon: an NCName.
_NAME_START = (
    "A-Z_a-z\xc0-\xd6\xd8-\xf6\xf8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_NCNAME = re.compile(f"[{_NAME_START}][{_NAME_START}\\-.0-9\xb7\u0300-\u036f\u203f-\u2040]*")


def text(value: Any) -> str:
    """Character data: forbidden characters replaced, markup escaped."""
    value = value if type(value) is str else str(value)
    if _TEXT_SPECIAL.search(value) is None:
        return value
    return _TEXT_SPECIAL.sub(lambda m: _TEXT_ESCAPES.get(m[0], "\ufffd"), value)


def attribute(value: Any) -> str:
    """An attribute value (written between double quotes)."""
    value = value if type(value) is str else str(value)
    if _ATTRIBUTE_SPECIAL.search(value) is None:
        return value
    return _ATTRIBUTE_SPECIAL.sub(lambda m: _ATTRIBUTE_ESCAPES.get(m[0], "\ufffd"), value)


@functools.lru_cache(maxsize=4096)
def field_tags(key: str) -> tuple[str, str]:
    """Opening and closing tag for a data key: ``ms:key``, or ``ms:field name="key"`` when the key
    is not an XML name, starts with the reserved ``xml``, or is ``item`` or ``field``, which the
    format itself uses."""
    if _NCNAME.fullmatch(key) and key[:3].lower() != "xml" and key not in ("item", "field"):
        return f"<ms:{key}", f"</ms:{key}>"
    return f'<ms:field name="{attribute(key)}"', "</ms:field>"


def data(value: Any, tags: tuple[str, str]) -> str:
    """One element holding a serializer representation.

    Dict keys become child elements, list members ``ms:item`` elements, None ``xsi:nil``;
    numbers, booleans and empty containers say their type with ``xsi:type``.
    """
    opening, closing = tags
    kind = type(value)
    if kind is str:
        return f"{opening}>{text(value)}{closing}"
    if kind is int or kind is float:
        return f"{opening}{TYPES[kind]}>{value!r}{closing}"
    if value is None:
        return f'{opening} xsi:nil="true">{closing}'
    if isinstance(value, bool):
        return f"{opening}{TYPES[bool]}>{'true' if value else 'false'}{closing}"
    if isinstance(value, Mapping):
        members = "".join(
            data(member, field_tags(key if type(key) is str else str(key)))
            for key, member in value.items()
        )
        return f"{opening}{'' if members else EMPTY_MAP}>{members}{closing}"
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, str | bytes):
        members = "".join(data(member, ITEM_TAGS) for member in value)
        return f"{opening}{'' if members else EMPTY_LIST}>{members}{closing}"
    return f"{opening}>{text(value)}{closing}"


ITEM_TAGS = ("<ms:item", "</ms:item>")


def errors(messages: Sequence[tuple[str, str, str | None]]) -> str:
    """``ms:error`` elements for ``(field path, message, code)`` triples."""
    parts = []
    for path, message, code in messages:
        field = f' field="{attribute(path)}"' if path and path != "detail" else ""
        code_attribute = f' code="{attribute(code)}"' if code else ""
        parts.append(f"<ms:error{field}{code_attribute}>{text(message)}</ms:error>")
    return "".join(parts)


SCALARS = frozenset({str, int, float})


def flat_responses(
    hrefs: list[str],
    status_lines: list[str],
    indexes: list[int],
    datas: list[Any],
    etags: list[str | None],
) -> str | None:
    """``d:response`` elements of successful items whose data are flat dicts of one shape — the
    common bulk answer — written by one ``%`` over all of them, several times faster than
    ``data()`` per item. Returns None where the items do not all have that shape, or where a
    value needs escaping; the caller then writes them one by one."""
    if not datas or set(map(type, datas)) != {dict}:
        return None
    keys = tuple(datas[0])
    if not keys or set(map(len, datas)) != {len(keys)}:
        return None
    try:  # the same fields everywhere (written in the first item's order: ms:data is a map)
        columns = [list(map(itemgetter(key), datas)) for key in keys]
    except KeyError:
        return None
    tagged = etags[0] is not None
    if any((etag is not None) != tagged for etag in etags):
        return None
    texts: list[list[Any]] = [hrefs, etags] if tagged else [hrefs]  # one search checks them all
    types = []
    for column in columns:
        kinds = set(map(type, column))
        if len(kinds) != 1 or not kinds <= SCALARS:
            return None  # one type per field, so that one xsi:type fits the column
        kind = kinds.pop()
        types.append(TYPES.get(kind, ""))
        if kind is float:
            column[:] = map(repr, column)
        elif kind is str:
            texts.append(column)
    if _TEXT_SPECIAL.search("".join(chain.from_iterable(texts))):
        return None
    fields = "".join(
        f"{opening.replace('%', '%%')}{kind}>%s{closing.replace('%', '%%')}"
        for (opening, closing), kind in zip(map(field_tags, keys), types, strict=True)
    )
    etag = "<ms:etag>%s</ms:etag>" if tagged else ""
    row = (
        "<d:response><d:href>%s</d:href><d:status>%s</d:status><ms:index>%s</ms:index>"
        f"{etag}<ms:data>{fields}</ms:data></d:response>"
    )
    values = (hrefs, status_lines, indexes, etags) if tagged else (hrefs, status_lines, indexes)
    return (row * len(datas)) % tuple(chain.from_iterable(zip(*values, *columns, strict=True)))


# Documents ------------------------------------------------------------------------------------


def document(body: str) -> bytes:
    return (DECLARATION + body).encode("utf-8")


def multistatus(
    results: Sequence[ItemResult],
    hrefs: Sequence[str],
    summary: Mapping[str, Any],
    non_field_key: str,
    minimal: bool = False,
    item_hrefs: Sequence[bool] = (),
    submitted: Mapping[int, Any] | None = None,
) -> str:
    """The ``DAV:multistatus`` of a batch: one ``d:response`` per item, with ``hrefs[i]``
    (``item_hrefs[i]`` where that href names the request item, not a resource), and the JSON
    body's summary in attributes of the root.

    Nothing but ``d:response`` elements sits in the root: some WebDAV clients read each child of
    ``d:multistatus`` as a response."""
    statuses = [result.status for result in results]
    responses = None
    flat = not minimal and NO_CONTENT not in statuses and not any(item_hrefs) and submitted is None
    if results and flat and min(statuses) >= 200 and max(statuses) < 300:
        lines = {code: status_line(code) for code in set(statuses)}
        responses = flat_responses(
            list(hrefs),
            [lines[code] for code in statuses],
            [result.index for result in results],
            [result.data for result in results],
            [result.etag for result in results],
        )
    if responses is None:
        marks = item_hrefs or [False] * len(results)
        parts = []
        for result, href, mark in zip(results, hrefs, marks, strict=True):
            styled = None
            if submitted is not None and not minimal:  # the propstat style
                item = submitted.get(result.index)
                styled = propstat_response(result, href, non_field_key, item, mark)
            parts.append(styled or response(result, href, non_field_key, minimal, mark))
        responses = "".join(parts)
    return f"<d:multistatus {NAMESPACES}{summary_attributes(summary)}>{responses}</d:multistatus>"


def summary_attributes(summary: Mapping[str, Any]) -> str:
    """The JSON body's ``summary`` as extension attributes of ``d:multistatus``, which WebDAV
    clients ignore (RFC 4918 §17): ``ms:by-status`` lists ``status:count`` pairs."""
    by_status = " ".join(f"{code}:{n}" for code, n in summary["by_status"].items())
    atomic = "true" if summary["atomic"] else "false"
    request = summary.get("request_id")
    return (
        f' ms:total="{summary["total"]}" ms:succeeded="{summary["succeeded"]}"'
        f' ms:failed="{summary["failed"]}" ms:atomic="{atomic}" ms:by-status="{by_status}"'
        + (f' ms:request-id="{text(request)}"' if request is not None else "")
    )


def response(
    result: ItemResult, href: str, non_field_key: str, minimal: bool = False, item: bool = False
) -> str:
    """One item's ``d:response``: its data on success (none for 204, nor where ``minimal``),
    its errors otherwise. ``item``: the href names the request item (``ms:index
    href="item"``), there being no resource."""
    head = (
        f"<d:response><d:href>{text(href)}</d:href>"
        f"<d:status>{status_line(result.status)}</d:status>"
    )
    if result.succeeded:
        body = "" if result.status == NO_CONTENT or minimal else data(result.data, DATA_TAGS)
        return f"{head}{index_element(result.index, item)}{etag_element(result)}{body}</d:response>"
    messages = list(iter_error_messages(result.errors or {}))
    description = describe_messages(messages, non_field_key) or reason_phrase(result.status)
    return (
        f"{head}<d:error>{errors(messages)}</d:error>"
        f"<d:responsedescription>{text(description)}</d:responsedescription>"
        f"{index_element(result.index, item)}</d:response>"
    )


def propstat_response(
    result: ItemResult,
    href: str,
    non_field_key: str,
    submitted: Any = None,
    item: bool = False,
) -> str | None:
    """One item's ``d:response`` in the propstat style, as PROPFIND and PROPPATCH answer: a
    success's fields as ``d:prop`` properties with its status; a failed item's invalid fields
    with their status, and every other field it submitted as 424 Failed Dependency (RFC 4918
    §9.2); every field of an item not run because another failed as 424. None where the item
    has no field to speak of (404, 403, a duplicate target, 500, a 204): the status style
    answers for it."""
    index = index_element(result.index, item)
    head = f"<d:response><d:href>{text(href)}</d:href>"
    if result.succeeded:
        if not isinstance(result.data, Mapping) or not result.data:
            return None
        props = data(result.data, ("<d:prop", "</d:prop>"))
        if result.etag is not None:  # the WebDAV property, among the others
            props = (
                props.removesuffix("</d:prop>") + etag_element(result, "d:getetag") + "</d:prop>"
            )
        line = status_line(result.status)
        return (
            f"{head}<d:propstat>{props}<d:status>{line}</d:status></d:propstat>{index}</d:response>"
        )
    messages = list(iter_error_messages(result.errors or {}))
    description = describe_messages(messages, non_field_key) or reason_phrase(result.status)
    fields = list(dict.fromkeys(path.split(".")[0] for path, _m, _c in messages))
    if any(name in ("", "detail", non_field_key) for name in fields):
        fields = []  # an error of the item as a whole
    others = (
        [str(k) for k in submitted if k not in fields] if isinstance(submitted, Mapping) else []
    )
    if fields:
        parts = [propstat(fields, result.status, description)]
        parts += [propstat(others, FAILED_DEPENDENCY)] if others else []
    elif result.status == FAILED_DEPENDENCY and others:
        parts = [propstat(others, FAILED_DEPENDENCY)]
    else:
        return None
    return (
        f"{head}{''.join(parts)}<d:error>{errors(messages)}</d:error>"
        f"<d:responsedescription>{text(description)}</d:responsedescription>{index}</d:response>"
    )


def propstat(names: Sequence[str], status: int, description: str = "") -> str:
    """A ``d:propstat`` naming the properties ``names`` (empty elements) with one status."""
    props = "".join(f"{field_tags(name)[0]}/>" for name in names)
    described = (
        f"<d:responsedescription>{text(description)}</d:responsedescription>" if description else ""
    )
    return (
        f"<d:propstat><d:prop>{props}</d:prop><d:status>{status_line(status)}</d:status>"
        f"{described}</d:propstat>"
    )


def etag_element(result: ItemResult, tag: str = "ms:etag") -> str:
    """The object's etag, where the result has one."""
    return "" if result.etag is None else f"<{tag}>{text(result.etag)}</{tag}>"


def index_element(index: int, item: bool) -> str:
    return f'<ms:index href="item">{index}</ms:index>' if item else f"<ms:index>{index}</ms:index>"


def error_document(errors_data: Any) -> str:
    """A whole-request error: ``DAV:error`` holding one ``ms:error`` per message."""
    if not isinstance(errors_data, Mapping | list):
        errors_data = {"detail": errors_data}
    return f"<d:error {NAMESPACES}>{errors(list(iter_error_messages(errors_data)))}</d:error>"


def data_document(value: Any) -> str:
    """Anything else a bulk view answers (a single create, a list or detail GET)."""
    return data(value, (f"<ms:data {NAMESPACES}", "</ms:data>"))


DATA_TAGS = ("<ms:data", "</ms:data>")
