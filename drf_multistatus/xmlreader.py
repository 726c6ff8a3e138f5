"""Reading XML safely, and the project's XML data format back into Python values.

Needs lxml but not Django, so that ``drf_multistatus.client`` can use it anywhere.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from .namespaces import XML_NAMESPACE, XSD_NAMESPACE, XSI_NAMESPACE

XSI_NIL = f"{{{XSI_NAMESPACE}}}nil"
XSI_TYPE = f"{{{XSI_NAMESPACE}}}type"
ITEM = f"{{{XML_NAMESPACE}}}item"
FIELD = f"{{{XML_NAMESPACE}}}field"


# "<!DOCTYPE" as it appears in the encodings a body is likely to use; a DTD in any other encoding
# is caught after parsing (and libxml2 refuses entity amplification on its own).
_DOCTYPE_MARKERS = tuple(
    "<!DOCTYPE".encode(encoding)
    for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)


class UnsafeXML(ValueError):
    """A document with a DTD: entity expansion (billion laughs) and external entities (XXE)
    start there, so none is accepted."""


def parse(content: bytes) -> etree._Element:
    """Parse ``content`` with no DTD, no entity expansion, no network access.

    Raises ``UnsafeXML`` for a document with a DOCTYPE and ``lxml.etree.XMLSyntaxError`` for one
    that is not well-formed.
    """
    if any(marker in content for marker in _DOCTYPE_MARKERS):
        raise UnsafeXML("DTDs and entity declarations are not allowed.")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    root = etree.fromstring(content, parser)
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXML("DTDs and entity declarations are not allowed.")
    return root


def element_data(element: etree._Element) -> Any:
    """The value an element of the ``urn:drf-multistatus`` data format holds.

    ``ms:item`` children make a list; other children a dict keyed by local name (or by the
    ``name`` attribute of ``ms:field``); ``xsi:nil="true"`` is None; ``xsi:type`` gives
    ``xsd:integer``, ``xsd:double`` and ``xsd:boolean`` values and empty ``ms:map`` /
    ``ms:list``; anything else is its text.
    """
    if element.get(XSI_NIL) == "true":
        return None
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        return typed(element)
    if all(child.tag == ITEM for child in children):
        return [element_data(child) for child in children]
    return {
        (child.get("name", "") if child.tag == FIELD else etree.QName(child).localname): (
            element_data(child)
        )
        for child in children
    }


def typed(element: etree._Element) -> Any:
    """The value of an element without children, as its ``xsi:type`` says (its text when it
    says nothing this format knows, or the text does not fit the type)."""
    value = element.text or ""
    declared = element.get(XSI_TYPE)
    if not declared:
        return value
    prefix, _, name = declared.rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    if namespace == XML_NAMESPACE and name in EMPTY:
        return EMPTY[name]()
    if namespace != XSD_NAMESPACE or name not in XSD_TYPES:
        return value
    try:
        return XSD_TYPES[name](value.strip())
    except ValueError:
        return value


def boolean(text: str) -> bool:
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(text)


XSD_TYPES: dict[str, Any] = {"integer": int, "double": float, "boolean": boolean}
EMPTY: dict[str, Any] = {"map": dict, "list": list}
