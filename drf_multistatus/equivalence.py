"""When writing a batch at once is provably the same as saving it item by item.

Decided per request from the classes involved: the view saves (or deletes) with DRF's own
``perform_*`` hooks and ours, the serializer is a plain ``ModelSerializer`` writing no nested
fields and no to-many relations but many-to-many sets through Django's own tables (with no
``m2m_changed`` receivers), and the model has behaviour DRF cannot see neither in ``save()`` /
``delete()`` nor in ``pre_save`` / ``post_save`` receivers. Anything else takes the per-item path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models
from django.db.models import signals
from rest_framework import mixins, serializers

from .relations import set_fields

F = TypeVar("F", bound=Callable[..., Any])

DRF_HOOKS = {
    "perform_create": mixins.CreateModelMixin.perform_create,
    "perform_update": mixins.UpdateModelMixin.perform_update,
    "perform_destroy": mixins.DestroyModelMixin.perform_destroy,
}


def default_hook(method: F) -> F:
    """Marks one of our ``perform_bulk_*`` hooks: a view that overrides it has its own."""
    method.is_default_hook = True  # type: ignore[attr-defined]
    return method


def hooks_unchanged(view: Any, *names: str) -> bool:
    """True when the view keeps DRF's and our own versions of every hook in ``names``."""
    view_class = type(view)
    for name in names:
        hook = getattr(view_class, name, None)
        if hook is not DRF_HOOKS.get(name) and not getattr(hook, "is_default_hook", False):
            return False
    return True


def writes_relations(serializer: serializers.Serializer, model: type[models.Model]) -> bool:
    """True when a writable field is a nested serializer, or a to-many relation other than a
    many-to-many set written in bulk (``relations.set_fields``)."""
    sets = set_fields(serializer, model)
    return any(
        not field.read_only
        and (
            isinstance(field, serializers.BaseSerializer)
            or (isinstance(field, serializers.ManyRelatedField) and field.source not in sets)
        )
        for field in serializer.fields.values()
    )


def is_plain_model(model: type[models.Model]) -> bool:
    return (
        model.save is models.Model.save
        and not model._meta.parents
        and not signals.pre_save.has_listeners(model)
        and not signals.post_save.has_listeners(model)
    )


def can_save_in_bulk(
    view: Any,
    serializer: serializers.BaseSerializer,
    hooks: tuple[str, ...],
    methods: tuple[str, ...],
) -> bool:
    """Whether saving every item at once is the same as saving each in turn, for a view whose
    ``hooks`` save through the serializer's ``methods`` (``create``, ``update``)."""
    if not getattr(view, "bulk_write", True) or not isinstance(
        serializer, serializers.ModelSerializer
    ):
        return False
    serializer_class = type(serializer)
    return (
        hooks_unchanged(view, *hooks)
        and all(
            getattr(serializer_class, method) is getattr(serializers.ModelSerializer, method)
            for method in methods
        )
        and serializer_class.save is serializers.BaseSerializer.save
        and is_plain_model(serializer.Meta.model)
        and not writes_relations(serializer, serializer.Meta.model)
    )


def can_delete_in_bulk(view: Any, model: type[models.Model], hooks: tuple[str, ...]) -> bool:
    """Whether one ``QuerySet.delete()`` is the same as deleting each object in turn: the same
    collector runs, with the same cascades and delete signals, unless ``delete()`` or a hook is
    the project's own."""
    return (
        getattr(view, "bulk_write", True)
        and hooks_unchanged(view, *hooks)
        and model.delete is models.Model.delete
    )
