"""What every bulk verb is: a strategy the engine (``drf_multistatus.engine``) runs. It finds each
item's target, judges and applies each item as the single-object request it stands for, and,
where that is provably the same, hands the engine a writer that does it for all items at once.

An operation holds no state of its own beyond what it was made with: a run's parameters are its
:class:`~drf_multistatus.context.BatchContext`, and the set-based path's state lives in the
:class:`BulkWriter` made for that run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from django.db import models
from rest_framework import status

from .. import etags
from ..context import BatchContext, BulkView, Key
from ..results import ItemResult
from ..targets import KeyReader, Target, TargetLookup, Targets


@dataclass(frozen=True)
class Retry:
    """Try an item once more, against ``target``."""

    target: Target


class BulkWriter(Protocol):
    """The set-based path of one run: judges each item (its target authorized already) as
    ``Operation.apply`` would and returns the object to write (raising where the item fails),
    then writes them all at once."""

    def accept(self, index: int, item: Any, target: Any) -> models.Model: ...

    def write(self, objs: list[models.Model]) -> None: ...

    def result(self, index: int, obj: models.Model) -> ItemResult: ...


class Operation:
    """One verb applied to every item of a batch: ``Create(view, items)``.

    Subclasses say how items name their targets (``find_targets``), how one item is applied as
    its single-object request (``apply``) and, where they have a set-based path, when it is the
    same (``can_write_in_bulk``, one predicate) and how it writes (``bulk_writer``).
    """

    #: The verb in messages: "the object to update".
    verb: ClassVar[str] = ""
    #: The status of an item that succeeded.
    success_status: ClassVar[int] = status.HTTP_200_OK
    #: The RFC 7240 preference this operation honours, for ``Preference-Applied``.
    preference_applied: ClassVar[str | None] = None

    def __init__(self, view: BulkView, items: Iterable[Any]) -> None:
        self.view = view
        self.items = items  # a list; for a background job, maybe a batch read as it is stored

    def options(self) -> dict[str, Any]:
        """The keyword arguments this operation was made with, to make it again for a job."""
        return {}

    def check_permissions(self, view: BulkView) -> None:
        """The request-level checks of the single-object requests the items stand for. DRF's
        ``initial()`` made the request's own already; a background job makes them again, now,
        for every chunk."""
        view.check_permissions(view.request)

    # Targets ---------------------------------------------------------------------------------

    def key_reader(self, view: BulkView) -> KeyReader | None:
        """How items name their targets: by the view's lookup field."""
        model = view.get_bulk_model()
        return KeyReader(model, (view.lookup_field,), (view.get_item_lookup_key(),), self.verb)

    def lookup(self, context: BatchContext) -> TargetLookup:
        """The targets, found through the view's ``filter_queryset(get_queryset())``; locked
        where the view says so, or where an item's ``If-Match`` must be compared under a lock."""
        view = context.view
        return self.lookup_in(context, view.filter_queryset(view.get_queryset()))

    def lookup_in(self, context: BatchContext, queryset: models.QuerySet[Any]) -> TargetLookup:
        reader = self.key_reader(context.view)
        assert reader is not None
        return TargetLookup(
            queryset,
            reader.fields,
            reader.keys,
            verb=reader.verb,
            lock=context.view.lock_bulk_targets or etags.guarded(context.items),
            database=context.database,
        )

    def named(self, context: BatchContext) -> Mapping[Key, int]:
        """The targets the items name, by key, read without a query (for the chunks of a
        resumed job that ran before)."""
        reader = self.key_reader(context.view)
        return reader.named(context.items, context.item_indexes, context.seen) if reader else {}

    def find_targets(self, context: BatchContext, savepoint: bool = True) -> Targets:
        """Per item: its target object, ``None`` (no target: a create), or the exception that
        answers for it. Without ``savepoint``, a refused lookup raises (the engine then runs
        inside a savepoint of its own)."""
        lookup = self.lookup(context)
        return lookup.find(context.items, context.item_indexes, context.seen, savepoint)

    # Per item --------------------------------------------------------------------------------

    def authorize(self, context: BatchContext, target: Any) -> None:
        """The object-level checks of the single-object request an item stands for, made on its
        target before anything else is (its ``If-Match`` included), as DRF's ``get_object()``
        makes them: ``check_object_permissions`` for an object; nothing for a create."""
        if isinstance(target, models.Model):
            view = context.view
            view.check_object_permissions(view.request, target)

    def apply(self, context: BatchContext, index: int, item: Any, target: Any) -> ItemResult:
        """Apply the verb to one item, through the view's serializer and hooks; its target has
        passed ``authorize``."""
        raise NotImplementedError

    def retry(
        self, context: BatchContext, item: Any, target: Target, result: ItemResult
    ) -> Retry | None:
        """Whether an item's failure deserves another attempt: one the database gave up on to
        resolve a deadlock (503) does, against its target as the database now holds it."""
        if result.status != status.HTTP_503_SERVICE_UNAVAILABLE:
            return None
        if isinstance(target, models.Model):
            target.refresh_from_db(using=context.database)
        return Retry(target)

    def write_order(self, context: BatchContext, positions: range) -> Sequence[int]:
        """The order the set-based write puts rows in, for the per-item path that takes over
        where the database refused it: the request's."""
        return positions

    # Set-based -------------------------------------------------------------------------------

    def can_write_in_bulk(self, context: BatchContext) -> bool:
        """Whether writing every item at once is provably the same as ``apply`` to each."""
        return False

    def bulk_writer(self, context: BatchContext, targets: Targets) -> BulkWriter:
        """The writer of one run's set-based path, for the items' ``targets``."""
        raise NotImplementedError
