"""The bulk actions: their names, the single-object action each one answers to, and the view as
a single-object request sees it.

A viewset's ``action`` is what permission classes, ``get_permissions()``,
``get_serializer_class()`` and ``get_queryset()`` look at. During a bulk request it is a
:class:`BulkAction`: it equals both its own name and its single-object twin's, so a policy written
for ``update`` holds for a bulk PUT, and one that names ``bulk_update`` still works.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from rest_framework.request import Request, clone_request

if TYPE_CHECKING:
    from .context import BulkView

#: Methods of a list URL that a bulk viewset answers with a batch, and the handler for each.
#: POST goes to DRF's ``create``, which hands a list to ``bulk_create``.
LIST_ROUTES = {"put": "bulk_update", "patch": "partial_bulk_update", "delete": "bulk_destroy"}

#: Handler of each bulk method of a list URL (POST included).
HANDLERS = {"POST": "bulk_create", **{m.upper(): action for m, action in LIST_ROUTES.items()}}

#: The single-object action each bulk action answers to; a bulk POST is DRF's ``create``.
TWINS = {
    "bulk_create": "create",
    "bulk_update": "update",
    "partial_bulk_update": "partial_update",
    "bulk_destroy": "destroy",
}


def bulk_twin(view: Any, method: str) -> str | None:
    """The single-object action the items of a bulk request on a list URL stand for
    (``create``, ``update``, ``partial_update``, ``destroy``); None for any other request."""
    handler = HANDLERS.get(method.upper())
    if handler is None or not has_bulk_handler(view, handler):
        return None
    action = getattr(view, "action", None)
    if getattr(action, "bulk_name", action) in (handler, TWINS[handler]):
        return TWINS[handler]
    return None


def has_bulk_handler(view: Any, handler: str) -> bool:
    """Whether ``view`` is a list URL whose viewset has the bulk ``handler``."""
    return getattr(view, "detail", None) is False and callable(getattr(view, handler, None))


class BulkAction(str):
    """The action name of a bulk request: the single-object twin's name (``partial_update``)
    that also compares equal to the bulk name (``partial_bulk_update``).

    ``==``, ``in`` on a list or tuple, and ``match`` see both names; a set or dict lookup, which
    hashes, sees the twin's. ``bulk_name`` is the bulk action's own name.
    """

    bulk_name: str

    def __new__(cls, bulk_name: str) -> BulkAction:
        action = super().__new__(cls, TWINS[bulk_name])
        action.bulk_name = bulk_name
        return action

    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other) or self.bulk_name == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__

    def __reduce__(self) -> Any:
        return (BulkAction, (self.bulk_name,))


class ActingAs:
    """The view as the single-object request ``method`` on ``action`` would find it: while
    entered, ``view.action`` is ``action`` and ``view.request`` a clone of the request with that
    method (DRF's ``clone_request``, made once). So the queryset, permission classes and
    serializer a project wrote for that request judge the items that stand for it — an upsert's
    replacements as a PUT, say.

    Reentrant in sequence (per item), not nested."""

    def __init__(self, view: BulkView, action: str, method: str) -> None:
        self.view = view
        self.action = action
        request = view.request
        self.request: Request = (
            request if request.method == method else clone_request(request, method)
        )
        self.saved: tuple[Request, str | None] | None = None

    def __enter__(self) -> BulkView:
        self.saved = (self.view.request, self.view.action)
        self.view.request, self.view.action = self.request, self.action
        return self.view

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.saved is not None
        self.view.request, self.view.action = self.saved
