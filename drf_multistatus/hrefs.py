"""The hrefs of a batch's items: the URL of each item's object, and, in XML, where an item has no
object, the URL that names the request item (``<request URL>~item/N``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urldefrag

from django.db import models
from django.urls import NoReverseMatch
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param

from .results import ItemResult
from .settings import multistatus_settings

# Reversed once per request to learn the shape of the detail URL: digits, which most lookup
# patterns accept.
PLACEHOLDER = "9" * 19
UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")  # characters reverse() leaves as they are


class DetailHrefs:
    """The detail URLs of a viewset's objects. The URL is reversed once and split around its
    lookup value: a value that needs no quoting and matches the route's pattern is put in
    between, which is what ``reverse()`` would return, some twenty times faster."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self.kwarg = view.lookup_url_kwarg or view.lookup_field
        self.pattern = re.compile(getattr(view, "lookup_value_regex", "[^/.]+"))
        url = self.reverse(PLACEHOLDER) if getattr(view, "basename", None) else None
        self.template = url.split(PLACEHOLDER) if url and url.count(PLACEHOLDER) == 1 else None

    def __call__(self, instance: models.Model) -> str | None:
        if not getattr(self.view, "basename", None):
            return None
        value = getattr(instance, self.view.lookup_field)
        text = str(value)
        if self.template and UNRESERVED.fullmatch(text) and self.pattern.fullmatch(text):
            return f"{self.template[0]}{text}{self.template[1]}"
        return self.reverse(value)

    def reverse(self, value: Any) -> str | None:
        try:
            url = self.view.reverse_action("detail", kwargs={self.kwarg: value})
        except NoReverseMatch:
            return None
        # DRF's reverse() carries ?format= over from the request; a resource's URI has none.
        return remove_query_param(url, api_settings.URL_FORMAT_OVERRIDE)


def item_uri(index: int, base: str) -> str:
    """``<request URL>~item/<index>``: a path of its own, which path-keyed WebDAV clients keep
    apart from the others; dereferenced, a 404 that says what it names (the bulk routers'
    ``item_reference`` route)."""
    if not base.endswith("/"):
        base += "/"
    return f"{base}{quote(multistatus_settings.ITEM_PATH, safe='~')}/{index}"


def response_hrefs(
    results: Sequence[ItemResult], base: str, absolute: Callable[[str], str] | None = None
) -> list[tuple[str, bool]]:
    """Every item's XML href, and whether it names the request item rather than a resource.

    Every href is an absolute URI without fragment (RFC 4918 §8.3, §14.7), never repeated: an
    item without an object, or naming one an earlier item listed, gets its request-item URI.
    ``absolute`` makes a relative href absolute; ``base`` is the bulk request's URL."""
    hrefs = [result.href or "" for result in results]
    if (
        all(href.startswith(("http://", "https://")) for href in hrefs)
        and len(set(hrefs)) == len(hrefs)
        and "#" not in "".join(hrefs)
    ):
        return [(href, False) for href in hrefs]
    seen: set[str] = set()
    found = []
    for result in results:
        href = urldefrag(result.href or "")[0]
        if href and absolute is not None and not href.startswith(("http://", "https://")):
            href = absolute(href)
        names_item = not href or href in seen
        if names_item:
            href = item_uri(result.index, base)
        seen.add(href)
        found.append((href, names_item))
    return found
