"""The XML facts every XML module shares: namespaces and which media types are XML."""

from __future__ import annotations

DAV_NAMESPACE = "DAV:"
XML_NAMESPACE = "urn:drf-multistatus"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
XSD_NAMESPACE = "http://www.w3.org/2001/XMLSchema"

#: The XML media types the renderers answer and the parsers read.
XML_MEDIA_TYPES = ("application/xml", "text/xml")


def is_xml_media_type(media_type: str) -> bool:
    """``application/xml``, ``text/xml`` or any ``+xml`` type, parameters ignored."""
    base = media_type.split(";", 1)[0].strip().lower()
    return base in XML_MEDIA_TYPES or base.endswith("+xml")
