"""System checks for bulk views registered in the URLconf."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core import checks
from django.urls import URLPattern, URLResolver, get_resolver

from . import tasks
from .generics import MultiStatusMixin, declared_model


def bulk_views() -> Iterator[type]:
    """Every view class of the root URLconf that mixes in ``MultiStatusMixin``."""
    seen: set[type] = set()

    def walk(patterns: Any) -> Iterator[type]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None)
                if (
                    isinstance(view, type)
                    and issubclass(view, MultiStatusMixin)
                    and view not in seen
                ):
                    seen.add(view)
                    yield view

    yield from walk(get_resolver().url_patterns)


@checks.register(checks.Tags.urls)
def check_upsert_fields(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``upsert_fields`` must be a unique field, or the fields of a unique constraint, of a
    view that can also update."""
    errors: list[checks.CheckMessage] = []
    for view in bulk_views():
        fields = tuple(getattr(view, "upsert_fields", ()) or ())
        if not fields:
            continue
        name = f"{view.__module__}.{view.__qualname__}"
        problem = upsert_problem(view, fields)
        if problem:
            errors.append(
                checks.Error(
                    f"{name}.upsert_fields = {fields!r}: {problem}",
                    hint="Name a unique field, or the fields of a unique constraint, of the model.",
                    obj=view,
                    id="drf_multistatus.E001",
                )
            )
    return errors


def upsert_problem(view: type, fields: tuple[str, ...]) -> str | None:
    if not hasattr(view, "perform_bulk_update"):
        return "an upsert updates too; add BulkUpdateModelMixin to the view."
    model = declared_model(view)
    if model is None:
        return None  # the model is known only per request
    return key_problem(model, fields)


def key_problem(model: Any, fields: tuple[str, ...]) -> str | None:
    """None when ``fields`` are one unique field or exactly the fields of a unique constraint."""
    meta = model._meta
    concrete = {field.name: field for field in meta.concrete_fields}
    unknown = [name for name in fields if name not in concrete]
    if unknown:
        return f"{meta.label} has no field {', '.join(map(repr, unknown))}."
    if len(fields) == 1 and concrete[fields[0]].unique:
        return None
    unique_sets = [set(together) for together in meta.unique_together]
    unique_sets += [set(constraint.fields) for constraint in meta.total_unique_constraints]
    if set(fields) in unique_sets:
        return None
    return f"these fields are not unique together in {meta.label}."


@checks.register(checks.Tags.urls)
def check_task_framework(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Background jobs need Django's task framework: without it, ``Prefer: respond-async`` is
    ignored (bulk requests run at once)."""
    if tasks.available() or next(bulk_views(), None) is None:
        return []
    return [
        checks.Warning(
            f"Prefer: respond-async is ignored by the bulk views: {tasks.UNAVAILABLE}.",
            hint="On Django 5.2, pip install django-tasks and add 'django_tasks' to "
            "INSTALLED_APPS; set TASKS to a backend that loads.",
            id="drf_multistatus.W001",
        )
    ]
