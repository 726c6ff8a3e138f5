"""The names of the bulk actions, and the single-object action each one answers to.

A viewset's ``action`` is what permission classes, ``get_permissions()``,
``get_serializer_class()`` and ``get_queryset()`` look at. During a bulk request it is a
:class:`BulkAction`: it equals both its own name and its single-object twin's, so a policy written
for ``update`` holds for a bulk PUT, and one that names ``bulk_update`` still works.
"""

from __future__ import annotations

from typing import Any

#: Methods of a list URL that a bulk viewset answers with a batch, and the handler for each.
#: POST goes to DRF's ``create``, which hands a list to ``bulk_create``.
LIST_ROUTES = {"put": "bulk_update", "patch": "partial_bulk_update", "delete": "bulk_destroy"}

#: Handler of each bulk method of a list URL (POST included).
HANDLERS = {"POST": "bulk_create", **{m.upper(): action for m, action in LIST_ROUTES.items()}}

#: The single-object action each bulk action of a list route answers to. (A bulk POST is DRF's
#: ``create`` already.)
TWINS = {
    "bulk_update": "update",
    "partial_bulk_update": "partial_update",
    "bulk_destroy": "destroy",
}


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
