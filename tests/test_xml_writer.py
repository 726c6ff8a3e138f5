"""The XML renderer writes text directly; here it is compared with the same document built as an
lxml tree, element by element, for arbitrary results (canonical XML, so formatting aside)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from rest_framework.exceptions import ErrorDetail
from rest_framework.test import APIRequestFactory

from drf_multistatus.hrefs import response_hrefs
from drf_multistatus.namespaces import DAV_NAMESPACE, XML_NAMESPACE, XSD_NAMESPACE, XSI_NAMESPACE
from drf_multistatus.renderers import MultiStatusXMLRenderer, reason_phrase, status_line
from drf_multistatus.results import ItemResult, MultiStatus, describe_errors, iter_error_messages

NSMAP = {"d": DAV_NAMESPACE, "ms": XML_NAMESPACE, "xsi": XSI_NAMESPACE, "xsd": XSD_NAMESPACE}
FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(value) -> str:
    return FORBIDDEN.sub("\ufffd", str(value))


def dav(name):
    return f"{{{DAV_NAMESPACE}}}{name}"


def ms(name):
    return f"{{{XML_NAMESPACE}}}{name}"


XSI_TYPE = f"{{{XSI_NAMESPACE}}}type"


def fill(element, value):
    if value is None:
        element.set(f"{{{XSI_NAMESPACE}}}nil", "true")
    elif isinstance(value, bool):
        element.set(XSI_TYPE, "xsd:boolean")
        element.text = "true" if value else "false"
    elif isinstance(value, int | float):
        element.set(XSI_TYPE, "xsd:integer" if isinstance(value, int) else "xsd:double")
        element.text = repr(value)
    elif isinstance(value, Mapping) and not value:
        element.set(XSI_TYPE, "ms:map")
    elif isinstance(value, list | tuple) and not value:
        element.set(XSI_TYPE, "ms:list")
    elif isinstance(value, Mapping):
        for key, member in value.items():
            key = str(key)
            try:
                if key[:3].lower() == "xml" or key in ("item", "field"):
                    raise ValueError
                child = etree.SubElement(element, ms(key))
            except ValueError:
                child = etree.SubElement(element, ms("field"))
                child.set("name", clean(key))
            fill(child, member)
    elif isinstance(value, list | tuple):
        for member in value:
            fill(etree.SubElement(element, ms("item")), member)
    else:
        element.text = clean(value)


def reference(multistatus: MultiStatus, hrefs: list[str]) -> bytes:
    root = etree.Element(dav("multistatus"), nsmap=NSMAP)
    for result, href in zip(multistatus.results, hrefs, strict=True):
        response = etree.SubElement(root, dav("response"))
        etree.SubElement(response, dav("href")).text = clean(href)
        etree.SubElement(response, dav("status")).text = status_line(result.status)
        if not result.succeeded:
            error = etree.SubElement(response, dav("error"))
            for path, message, code in iter_error_messages(result.errors or {}):
                child = etree.SubElement(error, ms("error"))
                if path and path != "detail":
                    child.set("field", clean(path))
                if code:
                    child.set("code", clean(code))
                child.text = clean(message)
            description = describe_errors(result.errors) or reason_phrase(result.status)
            etree.SubElement(response, dav("responsedescription")).text = clean(description)
        index = etree.SubElement(response, ms("index"))
        index.text = str(result.index)
        if result.href is None:
            index.set("href", "item")
        if result.succeeded:
            fill(etree.SubElement(response, ms("data")), result.data)
    summary = multistatus.summary()
    root.set(ms("total"), str(summary["total"]))
    root.set(ms("succeeded"), str(summary["succeeded"]))
    root.set(ms("failed"), str(summary["failed"]))
    root.set(ms("atomic"), "true" if summary["atomic"] else "false")
    root.set(ms("by-status"), " ".join(f"{code}:{n}" for code, n in summary["by_status"].items()))
    return etree.tostring(root, method="c14n")


def canonical(content: bytes) -> bytes:
    return etree.tostring(etree.fromstring(content), method="c14n")


def fields_sorted(content: bytes) -> bytes:
    """The document with the fields of every ms:data in name order: ms:data is a map."""
    root = etree.fromstring(content)
    for data in root.iter(f"{{{XML_NAMESPACE}}}data"):
        data[:] = sorted(data, key=lambda child: child.tag)
    return etree.tostring(root, method="c14n")


hostile = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(["\x00", "\ud800", "\uffff", "&", "<", ">", '"', "\r", "%s", "%"]),
    ),
    max_size=12,
).map("".join)
keys = st.one_of(
    st.sampled_from(["id", "name", "email", "xmlish", "1st", "a b", "é", "item", "field"]), hostile
)
scalars = st.one_of(hostile, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=8,
)
flat_row = st.fixed_dictionaries(
    {"id": st.integers(), "name": hostile, "age": st.integers() | st.floats(allow_nan=False)}
)
errors = st.dictionaries(
    keys,
    st.lists(
        st.builds(ErrorDetail, hostile, code=st.sampled_from(["invalid", "unique", "a\x00b"])),
        min_size=1,
        max_size=2,
    ),
    min_size=1,
    max_size=2,
)


@st.composite
def results(draw, data=values):
    n = draw(st.integers(0, 6))
    out = []
    for index in range(n):
        if draw(st.booleans()):
            status = draw(st.sampled_from([200, 201]))
            out.append(
                ItemResult(index, status, href=f"http://testserver/x/{index}/", data=draw(data))
            )
        else:
            status = draw(st.sampled_from([400, 404, 409, 422, 424, 500]))
            out.append(ItemResult(index, status, errors=draw(errors)))
    return MultiStatus(results=out)


def render(multistatus: MultiStatus) -> tuple[bytes, list[str]]:
    renderer = MultiStatusXMLRenderer()
    request = APIRequestFactory().post("/x/")
    content = renderer.render(multistatus.as_data(), renderer_context={"request": request})
    hrefs = response_hrefs(multistatus.results, "http://testserver/x/")
    return content, [href for href, _names_item in hrefs]


@settings(max_examples=300, deadline=None)
@given(results())
def test_written_document_equals_the_lxml_tree(multistatus):
    content, hrefs = render(multistatus)
    assert canonical(content) == reference(multistatus, hrefs)


@settings(max_examples=200, deadline=None)
@given(st.lists(flat_row, min_size=1, max_size=8), st.sampled_from([200, 201]))
def test_flat_rows_path_equals_the_lxml_tree(rows, status):
    multistatus = MultiStatus(
        results=[
            ItemResult(i, status, href=f"http://testserver/x/{i}/", data=row)
            for i, row in enumerate(rows)
        ]
    )
    content, hrefs = render(multistatus)
    assert fields_sorted(content) == fields_sorted(reference(multistatus, hrefs))
