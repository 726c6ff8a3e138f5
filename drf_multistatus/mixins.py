"""Mixins that add bulk create and bulk update to a DRF generic view.

``bulk_create()``, ``bulk_update()`` and ``partial_bulk_update()`` orchestrate; every step a user
may change is a small method: ``get_bulk_items``, ``is_atomic_batch``, ``get_bulk_targets``,
``perform_bulk_create``, ``perform_bulk_update``, ``get_item_href``, ``handle_item_exception``,
``get_multistatus_status``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import DatabaseError, connections, models, router, transaction
from django.urls import NoReverseMatch
from django.utils.translation import gettext as _
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param

from .bulkwrite import can_write_in_bulk, index_unique_fields, update_rows
from .exceptions import (
    SERVER_ERROR,
    BatchTooLarge,
    FailedDependency,
    InvalidItem,
    ItemConflict,
    NotABatch,
    RequestBodyTooLarge,
    error_dict,
    item_error,
)
from .results import ItemResult, MultiStatus
from .schemas import MultiStatusSchema
from .settings import WHEN_MIXED, multistatus_settings
from .signals import bulk_request_finished

logger = logging.getLogger("drf_multistatus")


NO_MATCH = object()  # a lookup value that cannot name any object, such as "abc" for an integer pk


class _RollbackBatch(Exception):
    """Raised inside the batch transaction to undo an atomic batch that had a failure."""


class MultiStatusMixin:
    """Runs the items of a bulk request one by one and answers with a multistatus body.

    Class attributes left at ``None`` take their value from the ``DRF_MULTISTATUS`` setting.
    """

    schema = MultiStatusSchema()
    max_batch_size: int | None = None
    atomic_batch: bool | None = None
    # Write with bulk_create/bulk_update where that is provably the same as item by item.
    bulk_write: bool = True
    allow_atomic_param: bool | None = None
    outer_status: str | None = None

    request: Any
    bulk_database: str  # set by run_batch: the database alias the batch writes to
    lookup_field: str
    lookup_url_kwarg: str | None

    # Request --------------------------------------------------------------------------------

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        self.check_body_size(request)

    def check_body_size(self, request: Request) -> None:
        """Refuse a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with 413 before reading it.

        Django counts no uploaded files in that limit, so multipart bodies are left to it.
        """
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or request.content_type.startswith("multipart/"):
            return
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return
        if length > limit:
            raise RequestBodyTooLarge(length=length, limit=limit)

    def get_max_batch_size(self) -> int | None:
        if self.max_batch_size is not None:
            return self.max_batch_size
        return multistatus_settings.MAX_BATCH_SIZE

    def get_bulk_items(self, request: Request) -> list[Any]:
        """The request's items; a whole-request error if the body is not a list or too long."""
        data = request.data
        if not isinstance(data, list):
            raise NotABatch(type(data).__name__)
        limit = self.get_max_batch_size()
        if limit is not None and len(data) > limit:
            raise BatchTooLarge(count=len(data), limit=limit)
        return data

    def is_atomic_batch(self, request: Request) -> bool:
        """All-or-nothing for this request: the view's choice, or ``?atomic=`` where allowed."""
        default = self.atomic_batch
        if default is None:
            default = multistatus_settings.ATOMIC
        param = multistatus_settings.ATOMIC_PARAM
        raw = request.query_params.get(param)
        if raw is None:
            return default
        try:
            requested = serializers.BooleanField().to_internal_value(raw)
        except ValidationError as exc:
            raise ValidationError({param: exc.detail}) from exc
        allowed = self.allow_atomic_param
        if allowed is None:
            allowed = multistatus_settings.ALLOW_ATOMIC_PARAM
        if requested != default and not allowed:
            mode = _("all-or-nothing") if default else _("item by item")
            raise ValidationError(
                {param: [_("This endpoint always saves batches %(mode)s.") % {"mode": mode}]}
            )
        return requested

    # Running items ---------------------------------------------------------------------------

    def get_bulk_database(self) -> str:
        return router.db_for_write(self.get_bulk_model())

    def get_bulk_model(self) -> type[models.Model]:
        """The model the batch writes, found without calling ``get_queryset()`` where possible
        (schema generation has no real request to scope it by)."""
        queryset = getattr(self, "queryset", None)
        if queryset is not None:
            return queryset.model
        meta = getattr(self.get_serializer_class(), "Meta", None)  # type: ignore[attr-defined]
        model = getattr(meta, "model", None)
        if model is not None:
            return model
        return self.get_queryset().model  # type: ignore[attr-defined]

    def run_batch(self, process: Callable[[], list[ItemResult]]) -> MultiStatus:
        """Run ``process`` (which returns one result per item) inside one transaction.

        In an atomic batch with a failure, everything is rolled back and the items that had
        succeeded are reported 424.
        """
        atomic = self.is_atomic_batch(self.request)
        started = time.perf_counter()
        self.bulk_database = self.get_bulk_database()
        results: list[ItemResult] = []
        try:
            with transaction.atomic(using=self.bulk_database):
                results = process()
                if atomic and any(not result.succeeded for result in results):
                    raise _RollbackBatch
        except _RollbackBatch:
            results = self.fail_dependents(results)
        multistatus = MultiStatus(results=results, atomic=atomic)
        self.report_batch(multistatus, time.perf_counter() - started)
        return multistatus

    def report_batch(self, multistatus: MultiStatus, duration: float) -> None:
        """One structured log record and one ``bulk_request_finished`` signal per batch."""
        counts = multistatus.summary()
        summary = {
            "view": f"{type(self).__module__}.{type(self).__qualname__}",
            "method": self.request.method,
            "path": self.request.path,
            "items": counts["total"],
            "succeeded": counts["succeeded"],
            "failed": counts["failed"],
            "by_status": counts["by_status"],
            "atomic": multistatus.atomic,
            "duration_ms": round(duration * 1000, 3),
        }
        logger.info(
            "bulk %s %s: %d items, %d succeeded, %d failed (%s) in %.1f ms",
            summary["method"],
            summary["path"],
            summary["items"],
            summary["succeeded"],
            summary["failed"],
            ", ".join(f"{code}: {n}" for code, n in summary["by_status"].items()) or "none",
            summary["duration_ms"],
            extra={"multistatus": summary},
        )
        bulk_request_finished.send(
            sender=type(self), view=self, request=self.request, summary=summary
        )

    def run_steps(self, steps: Iterable[Callable[[], ItemResult] | ItemResult]) -> list[ItemResult]:
        """The per-item path: each step runs one item in its own savepoint (see ``run_item``), or
        is a result decided in advance (an item that could not be addressed)."""
        return [step if isinstance(step, ItemResult) else step() for step in steps]

    def validate_bulk_item(
        self,
        serializer: serializers.BaseSerializer,
        index: int,
        item: Any,
        instance: models.Model | None = None,
        href: str | None = None,
    ) -> dict[str, Any] | ItemResult:
        """Validate one item with a serializer shared by the batch, as ``is_valid()`` would:
        the validated data, or the item's failed result. Database errors propagate, so that the
        caller can fall back to the per-item path."""
        if not isinstance(item, dict):
            return self.handle_item_exception(index, not_an_object(item))
        serializer.instance = instance
        serializer.initial_data = item
        try:
            if instance is not None:
                self.check_object_permissions(self.request, instance)  # type: ignore[attr-defined]
            return serializer.run_validation(item)
        except DatabaseError:
            raise
        except Exception as exc:
            return self.handle_item_exception(index, exc, href)

    def run_item(
        self, index: int, step: Callable[[], ItemResult], href: str | None = None
    ) -> ItemResult:
        """Run one item in its own savepoint: a failure rolls back this item and nothing else."""
        try:
            with transaction.atomic(using=self.bulk_database):
                return step()
        except Exception as exc:
            return self.handle_item_exception(index, exc, href)

    def handle_item_exception(
        self, index: int, exc: Exception, href: str | None = None
    ) -> ItemResult:
        """Turn an exception raised by one item into that item's result; unknown errors are 500."""
        outcome = item_error(exc, multistatus_settings.CONFLICT_CODES)
        if outcome is None:
            logger.exception(
                "Unexpected error in item %d of %s %s",
                index,
                self.request.method,
                self.request.get_full_path(),
            )
            outcome = status.HTTP_500_INTERNAL_SERVER_ERROR, dict(SERVER_ERROR)
        code, errors = outcome
        return ItemResult(index=index, status=code, href=href, errors=errors)

    def fail_dependents(self, results: list[ItemResult]) -> list[ItemResult]:
        """Report 424 for the items of a rolled-back atomic batch that had succeeded."""
        failed = [result.index for result in results if not result.succeeded]
        message = _(
            "Not saved: this batch is all-or-nothing and %(count)d item(s) failed "
            "(first failed item: %(first)d)."
        ) % {"count": len(failed), "first": failed[0]}
        return [
            result
            if not result.succeeded
            else ItemResult(
                index=result.index,
                status=FailedDependency.status_code,
                # A created object no longer exists; an updated one is still there, unchanged.
                href=None if result.status == status.HTTP_201_CREATED else result.href,
                errors=error_dict(FailedDependency(message)),
            )
            for result in results
        ]

    # Response --------------------------------------------------------------------------------

    def get_item_href(self, instance: models.Model) -> str | None:
        """The URL of an item's object: the detail route of this viewset, when it has one."""
        if not getattr(self, "basename", None):
            return None
        kwarg = self.lookup_url_kwarg or self.lookup_field
        try:
            url = self.reverse_action(  # type: ignore[attr-defined]
                "detail", kwargs={kwarg: getattr(instance, self.lookup_field)}
            )
        except NoReverseMatch:
            return None
        # DRF's reverse() carries ?format= over from the request; a resource's URI has none.
        return remove_query_param(url, api_settings.URL_FORMAT_OVERRIDE)

    def get_multistatus_status(self, multistatus: MultiStatus) -> int:
        policy = self.outer_status or multistatus_settings.OUTER_STATUS
        statuses = {result.status for result in multistatus.results}
        if policy == WHEN_MIXED and len(statuses) == 1:
            return statuses.pop()
        return status.HTTP_207_MULTI_STATUS

    def multistatus_response(self, multistatus: MultiStatus) -> Response:
        return Response(multistatus.as_data(), status=self.get_multistatus_status(multistatus))


def not_an_object(item: Any) -> InvalidItem:
    return InvalidItem(
        {
            api_settings.NON_FIELD_ERRORS_KEY: [
                ErrorDetail(
                    _("Invalid data. Expected a dictionary, but got %(datatype)s.")
                    % {"datatype": type(item).__name__},
                    code="invalid",
                )
            ]
        }
    )


class BulkCreateModelMixin(MultiStatusMixin, mixins.CreateModelMixin):
    """POST of a list creates each item; POST of an object stays DRF's single create."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if isinstance(request.data, list):
            return self.bulk_create(request, *args, **kwargs)
        return super().create(request, *args, **kwargs)

    def bulk_create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        items = self.get_bulk_items(request)
        return self.multistatus_response(self.run_batch(lambda: self.create_items(items)))

    def create_items(self, items: Sequence[Any]) -> list[ItemResult]:
        serializer = self.get_serializer()  # type: ignore[attr-defined]
        connection = connections[self.bulk_database]
        if (
            can_write_in_bulk(self, serializer, creating=True)
            and connection.features.can_return_rows_from_bulk_insert
        ):
            return self.create_in_bulk(items, serializer)
        return self.run_steps(self.create_step(index, item) for index, item in enumerate(items))

    def create_in_bulk(
        self, items: Sequence[Any], serializer: serializers.ModelSerializer
    ) -> list[ItemResult]:
        """Validate every item with uniqueness checked batch-wide, then insert the valid ones
        with one ``bulk_create``. Should the database refuse (a concurrent writer won a unique
        value), the items from the first refused one on take the per-item path."""
        model = cast("type[models.Model]", serializer.Meta.model)
        database = self.bulk_database
        results: list[ItemResult | None] = [None] * len(items)
        accepted: list[tuple[int, models.Model]] = []
        try:
            with transaction.atomic(using=database):
                indexes = index_unique_fields(serializer, model)
                for name, _source, index in indexes:
                    index.prefetch(item.get(name) for item in items if isinstance(item, dict))
                for position, item in enumerate(items):
                    outcome = self.validate_bulk_item(serializer, position, item)
                    if isinstance(outcome, ItemResult):
                        results[position] = outcome
                        continue
                    for _name, source, index in indexes:
                        if source in outcome:
                            index.claim(outcome[source], ("new", position))
                    accepted.append((position, model(**outcome)))
        except DatabaseError:
            return self.run_steps(self.create_step(i, item) for i, item in enumerate(items))
        if accepted:
            try:
                with transaction.atomic(using=database):
                    model._default_manager.bulk_create([obj for _position, obj in accepted])
            except DatabaseError:
                first = accepted[0][0]
                rest = self.run_steps(
                    self.create_step(i, items[i]) for i in range(first, len(items))
                )
                return [*results[:first], *rest]  # type: ignore[list-item]
        for position, obj in accepted:
            results[position] = ItemResult(
                index=position,
                status=status.HTTP_201_CREATED,
                href=self.get_item_href(obj),
                data=serializer.to_representation(obj),
            )
        return results  # type: ignore[return-value]

    def create_step(self, index: int, item: Any) -> Callable[[], ItemResult] | ItemResult:
        if not isinstance(item, dict):
            return self.handle_item_exception(index, not_an_object(item))
        step = functools.partial(self.create_item, index, item)
        return functools.partial(self.run_item, index, step)

    def create_item(self, index: int, item: dict[str, Any]) -> ItemResult:
        serializer = self.get_serializer(data=item)  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        self.perform_bulk_create(serializer)
        return ItemResult(
            index=index,
            status=status.HTTP_201_CREATED,
            href=self.get_item_href(serializer.instance),
            data=serializer.data,
        )

    def perform_bulk_create(self, serializer: serializers.BaseSerializer) -> None:
        """Save one item of a bulk create; by default the view's own ``perform_create``."""
        self.perform_create(serializer)  # type: ignore[misc]


class BulkUpdateModelMixin(MultiStatusMixin, mixins.UpdateModelMixin):
    """PUT or PATCH of a list updates each item's target, named by the view's lookup field."""

    lock_bulk_targets: bool = True

    def bulk_update(
        self, request: Request, *args: Any, partial: bool = False, **kwargs: Any
    ) -> Response:
        items = self.get_bulk_items(request)
        return self.multistatus_response(self.run_batch(lambda: self.update_items(items, partial)))

    def partial_bulk_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.bulk_update(request, *args, partial=True, **kwargs)

    def update_items(self, items: Sequence[Any], partial: bool) -> list[ItemResult]:
        targets = self.get_bulk_targets(items)
        serializer = self.get_serializer(partial=partial)  # type: ignore[attr-defined]
        if can_write_in_bulk(self, serializer, creating=False):
            return self.update_in_bulk(items, targets, serializer, partial)
        return self.run_steps(self.update_steps(items, targets, partial))

    def update_steps(
        self, items: Sequence[Any], targets: Sequence[models.Model | Exception], partial: bool
    ) -> Iterator[Callable[[], ItemResult] | ItemResult]:
        for index, (item, target) in enumerate(zip(items, targets, strict=True)):
            yield self.update_step(index, item, target, partial)

    def update_in_bulk(
        self,
        items: Sequence[Any],
        targets: list[models.Model | Exception],
        serializer: serializers.ModelSerializer,
        partial: bool,
    ) -> list[ItemResult]:
        """Validate every item with uniqueness checked batch-wide, then write every field of the
        valid ones in one statement (see ``update_rows``), as ``save()`` would. Should the
        database refuse, the items from the first refused one on take the per-item path."""
        model = cast("type[models.Model]", serializer.Meta.model)
        database = self.bulk_database
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        results: list[ItemResult | None] = [None] * len(items)
        accepted: list[tuple[int, models.Model]] = []
        try:
            with transaction.atomic(using=database):
                indexes = index_unique_fields(serializer, model)
                for name, source, index in indexes:
                    for target in targets:
                        if not isinstance(target, Exception):
                            index.claim(getattr(target, source), target.pk)
                    index.prefetch(item.get(name) for item in items if isinstance(item, dict))
                for position, (item, target) in enumerate(zip(items, targets, strict=True)):
                    if isinstance(target, Exception):
                        results[position] = self.handle_item_exception(position, target)
                        continue
                    href = self.get_item_href(target)
                    outcome = self.validate_bulk_item(serializer, position, item, target, href)
                    if isinstance(outcome, ItemResult):
                        results[position] = outcome
                        continue
                    previous = {source: getattr(target, source) for _n, source, _i in indexes}
                    for attr, value in outcome.items():
                        setattr(target, attr, value)
                    for _name, source, index in indexes:
                        index.claim(getattr(target, source), target.pk, previous[source])
                    accepted.append((position, target))
        except DatabaseError:
            return self.run_steps(self.update_steps(items, self.get_bulk_targets(items), partial))
        if accepted and fields:
            objs = [obj for _position, obj in accepted]
            for obj in objs:
                for field in fields:  # what save() does before writing: auto_now and the like
                    setattr(obj, field.attname, field.pre_save(obj, False))
            try:
                with transaction.atomic(using=database):
                    update_rows(model, objs, fields, database)
            except DatabaseError:
                first = accepted[0][0]
                fresh = self.get_bulk_targets(items)
                rest = self.run_steps(
                    self.update_step(i, items[i], fresh[i], partial)
                    for i in range(first, len(items))
                )
                return [*results[:first], *rest]  # type: ignore[list-item]
        for position, obj in accepted:
            if getattr(obj, "_prefetched_objects_cache", None):
                obj._prefetched_objects_cache = {}  # type: ignore[attr-defined]
            results[position] = ItemResult(
                index=position,
                status=status.HTTP_200_OK,
                href=self.get_item_href(obj),
                data=serializer.to_representation(obj),
            )
        return results  # type: ignore[return-value]

    def get_item_lookup_key(self) -> str:
        """The key that names an item's target: the lookup field, ``pk`` read as the pk's name."""
        if self.lookup_field == "pk":
            return self.get_bulk_model()._meta.pk.name
        return self.lookup_field

    def get_bulk_targets(self, items: Sequence[Any]) -> list[models.Model | Exception]:
        """Each item's target object, or the exception that says why it has none.

        All targets come from ``filter_queryset(get_queryset())`` in one query, so the view's
        scoping rules apply; an item naming an object outside it gets 404, as a detail URL would.
        With ``lock_bulk_targets`` they are locked (``SELECT ... FOR UPDATE``, in primary key
        order) until the batch commits, so concurrent batches neither deadlock on them nor
        overwrite each other's changes with stale values.
        """
        key = self.get_item_lookup_key()
        model = self.get_bulk_model()
        to_python = self._lookup_converter(model)
        lookups: list[Any] = []
        first_index: dict[Any, int] = {}
        for index, item in enumerate(items):
            lookups.append(self._item_lookup(index, item, key, to_python, first_index))
        values = [v for v in lookups if v is not NO_MATCH and not isinstance(v, Exception)]
        not_found = _("No %(model)s matches the given query.") % {"model": model._meta.object_name}
        queryset = self.filter_queryset(self.get_queryset())  # type: ignore[attr-defined]
        if self.lock_bulk_targets:
            queryset = queryset.select_for_update(of=("self",)).order_by("pk")
        found = {
            to_python(getattr(obj, self.lookup_field)): obj
            for obj in queryset.filter(**{f"{self.lookup_field}__in": values})
        }
        return [
            value if isinstance(value, Exception) else found.get(value, NotFound(not_found))
            for value in lookups
        ]

    def _lookup_converter(self, model: type[models.Model]) -> Callable[[Any], Any]:
        """The model field's ``to_python``, refusing integers the database cannot hold (which
        would fail the whole lookup query instead of matching nothing)."""
        try:
            field = (
                model._meta.pk
                if self.lookup_field == "pk"
                else model._meta.get_field(self.lookup_field)
            )
        except FieldDoesNotExist:
            return lambda value: value
        bounds = [
            validator
            for validator in getattr(field, "validators", [])
            if isinstance(validator, MinValueValidator | MaxValueValidator)
        ]

        def to_python(value: Any) -> Any:
            value = field.to_python(value)  # type: ignore[union-attr]
            for validator in bounds:
                validator(value)
            return value

        return to_python

    @staticmethod
    def _item_lookup(
        index: int,
        item: Any,
        key: str,
        to_python: Callable[[Any], Any],
        first_index: dict[Any, int],
    ) -> Any:
        if not isinstance(item, dict):
            return not_an_object(item)
        if key not in item:
            return InvalidItem(
                {
                    key: [
                        ErrorDetail(
                            _("This field is required to name the object to update."),
                            code="required",
                        )
                    ]
                }
            )
        raw = item[key]
        if isinstance(raw, bool | dict | list) or (isinstance(raw, float) and not raw.is_integer()):
            return NO_MATCH
        try:
            value = to_python(raw)
            hash(value)
        except (TypeError, ValueError, DjangoValidationError):
            return NO_MATCH
        if value in first_index:
            return ItemConflict(
                {
                    key: [
                        ErrorDetail(
                            _("Item %(index)d of this batch already targets this object.")
                            % {"index": first_index[value]},
                            code="duplicate_target",
                        )
                    ]
                }
            )
        first_index[value] = index
        return value

    def update_step(
        self, index: int, item: Any, target: models.Model | Exception, partial_update: bool
    ) -> Callable[[], ItemResult] | ItemResult:
        if isinstance(target, Exception):
            return self.handle_item_exception(index, target)
        step = functools.partial(self.update_item, index, item, target, partial_update)
        return functools.partial(self.run_item, index, step, self.get_item_href(target))

    def update_item(
        self, index: int, item: dict[str, Any], instance: models.Model, partial: bool
    ) -> ItemResult:
        self.check_object_permissions(self.request, instance)  # type: ignore[attr-defined]
        serializer = self.get_serializer(instance, data=item, partial=partial)  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        self.perform_bulk_update(serializer)
        if getattr(instance, "_prefetched_objects_cache", None):
            instance._prefetched_objects_cache = {}  # type: ignore[attr-defined]
        return ItemResult(
            index=index,
            status=status.HTTP_200_OK,
            href=self.get_item_href(serializer.instance),
            data=serializer.data,
        )

    def perform_bulk_update(self, serializer: serializers.BaseSerializer) -> None:
        """Save one item of a bulk update; by default the view's own ``perform_update``."""
        self.perform_update(serializer)  # type: ignore[misc]
