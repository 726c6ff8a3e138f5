"""What every bulk verb shares: per item, through the view's own serializer and hooks; or set-based
where provably the same, falling back to the per-item path from the first item the database
refuses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, models
from rest_framework import status

from ..results import ItemResult
from ..targets import TargetLookup

if TYPE_CHECKING:
    from ..batch import Batch

Target = models.Model | Exception | None


class Operation:
    """One verb applied to every item of a batch, for ``view``.

    Subclasses say how to find each item's target (``find_targets``), how to apply the verb to one
    item (``apply``) and, where they have a set-based path, when it applies (``can_run_in_bulk``),
    how to accept one item for it (``accept``) and how to write all accepted items (``write``).
    """

    #: The status of an item that succeeded.
    success_status: int = status.HTTP_200_OK
    #: The verb in messages: "the object to update".
    verb = ""
    #: The RFC 7240 preference this operation honours, for ``Preference-Applied``.
    preference_applied: str | None = None

    #: A background job runs a batch in chunks: ``offset`` is the index of ``items[0]`` in the
    #: batch, ``seen`` the targets earlier chunks named (by key, with their index).
    offset = 0
    seen: dict[Any, int] | None = None

    def __init__(self, view: Any, items: Sequence[Any]) -> None:
        self.view = view
        self.items = items
        self.model: type[models.Model] = view.get_bulk_model()

    def options(self) -> dict[str, Any]:
        """The keyword arguments this operation was made with, to make it again for a job."""
        return {}

    def run(self, batch: Batch) -> list[ItemResult]:
        self.batch = batch
        self.targets = self.get_lookup_for(batch.database)
        if self.items and self.can_run_in_bulk():
            return self.run_in_bulk()
        return self.run_per_item(0)

    # Per item --------------------------------------------------------------------------------

    def run_per_item(self, start: int) -> list[ItemResult]:
        """Items from ``start`` on, each in its own savepoint (targets looked up afresh), in
        ``write_order``; the results in request order."""
        targets = self.find_targets()
        indexes = range(start, len(self.items))
        results = {
            i: self.run_item(i, self.items[i], targets[i]) for i in self.write_order(indexes)
        }
        return [results[i] for i in indexes]

    def write_order(self, indexes: range) -> Sequence[int]:
        """The order items are written in: the request's."""
        return indexes

    def run_item(self, index: int, item: Any, target: Target) -> ItemResult:
        if isinstance(target, Exception):
            return self.batch.fail(index, target)
        return self.batch.run_item(index, self.href(target), self.apply, index, item, target)

    def apply(self, index: int, item: Any, target: Any) -> ItemResult:
        """Apply the verb to one item, through the view's serializer and hooks."""
        raise NotImplementedError

    # Set-based -------------------------------------------------------------------------------

    def can_run_in_bulk(self) -> bool:
        return False

    def run_in_bulk(self) -> list[ItemResult]:
        """Accept every item as the per-item path would judge it, then write all accepted items
        at once. Should the database refuse, the items from the first accepted one on take the
        per-item path."""
        results: list[ItemResult | None] = [None] * len(self.items)
        accepted: list[tuple[int, models.Model]] = []
        try:
            with self.batch.savepoint():
                self.prepare()
                targets = self.find_targets(savepoint=False)
                for index, (item, target) in enumerate(zip(self.items, targets, strict=True)):
                    if isinstance(target, Exception):
                        results[index] = self.batch.fail(index, target)
                        continue
                    try:
                        accepted.append((index, self.accept(index, item, target)))
                    except DatabaseError:
                        raise
                    except Exception as exc:
                        results[index] = self.batch.fail(index, exc, self.href(target))
        except DatabaseError:
            return self.run_per_item(0)
        if accepted:
            try:
                with self.batch.savepoint():
                    self.write([obj for _index, obj in accepted])
            except Exception:
                first = accepted[0][0]
                return [*results[:first], *self.run_per_item(first)]  # type: ignore[list-item]
        for index, obj in accepted:
            results[index] = self.written(index, obj)
        return results  # type: ignore[return-value]

    def prepare(self) -> None:
        """Look at the batch as a whole (uniqueness, say), before the targets are looked up: a
        row a concurrent request commits in between is then found as a target."""

    def accept(self, index: int, item: Any, target: Any) -> models.Model:
        """Judge one item as ``apply`` would and return the object to write; raise if it fails."""
        raise NotImplementedError

    def write(self, objs: list[models.Model]) -> None:
        raise NotImplementedError

    def written(self, index: int, obj: models.Model) -> ItemResult:
        return ItemResult(index=index, status=self.success_status, href=self.href(obj))

    # Targets and hrefs -----------------------------------------------------------------------

    def get_lookup(self) -> TargetLookup | None:
        """How items name their targets: by the view's lookup field, through the view's
        ``filter_queryset(get_queryset())``."""
        return self.lookup((self.view.lookup_field,), (self.view.get_item_lookup_key(),))

    def find_targets(self, savepoint: bool = True) -> list[Target]:
        """Per item: its target object, ``None`` (no target: a create), or the exception that
        answers for it."""
        assert self.targets is not None
        return self.targets.find(  # type: ignore[return-value]
            self.items, self.verb, savepoint, self.seen, self.offset
        )

    def remember_targets(self, seen: dict[Any, int]) -> None:
        """Add the keys these items name to ``seen`` (for the chunks that follow)."""
        lookup = self.get_lookup_for(self.view.get_bulk_database())
        if lookup is None:
            return
        for index, key in enumerate(lookup.read_keys(self.items, self.verb, False), self.offset):
            if isinstance(key, tuple):
                seen.setdefault(key, index)

    def lookup(self, fields: Sequence[str], keys: Sequence[str]) -> TargetLookup:
        return TargetLookup(
            self.view.filter_queryset(self.view.get_queryset()),
            fields,
            keys,
            lock=self.view.lock_bulk_targets,
            database=self.database,
        )

    def get_lookup_for(self, database: str) -> TargetLookup | None:
        self.database = database
        return self.get_lookup()

    def href(self, obj: Any) -> str | None:
        return self.view.get_item_href(obj) if isinstance(obj, models.Model) else None
