"""drf-spectacular support: bulk operations appear as arrays in and 207 multistatus out.

Imported by the app's ``ready()`` only when drf-spectacular is installed.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter
from rest_framework.settings import api_settings

from .. import openapi


class SpectacularBulkAutoSchema(AutoSchema):
    """drf-spectacular's ``AutoSchema`` with the bulk operations described."""

    view: Any

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        operation = openapi.bulk_operation(self.view, self.method)
        if operation == "destroy":
            return f"{operation_id.removesuffix('_destroy')}_bulk_destroy"
        if operation != "update":
            return operation_id
        base = operation_id.removesuffix("_partial_update").removesuffix("_update")
        return f"{base}_bulk_{'partial_' if self.method == 'PATCH' else ''}update"

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        operation = openapi.bulk_operation(self.view, self.method)
        if operation:
            prefer = openapi.prefer_parameter(self.view, operation)
            parameters.append(
                OpenApiParameter(
                    prefer["name"],
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    enum=prefer["schema"]["enum"],
                    description=prefer["description"],
                )
            )
        for header in openapi.conditional_parameters(self.view, self.method):
            parameters.append(
                OpenApiParameter(
                    header["name"],
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description=header["description"],
                )
            )
        return parameters

    def _get_request_body(self, direction: Any = "request") -> Any:
        operation = openapi.bulk_operation(self.view, self.method)
        max_items = self.view.get_max_batch_size() if operation else None
        if operation == "destroy":
            return openapi.destroy_request_body(self.lookup_schema(), max_items)
        body = super()._get_request_body(direction)
        if body and operation:
            lookup = self.lookup_schema() if operation == "update" else None
            openapi.bulk_request_content(body["content"], operation, lookup, max_items)
        return body

    def lookup_schema(self) -> tuple[str, dict[str, Any]]:
        key = self.view.get_item_lookup_key()
        model = self.view.get_bulk_model()
        field = model._meta.pk if self.view.lookup_field == "pk" else model._meta.get_field(key)
        schema = dict(self._map_model_field(field, direction="request"))
        schema.pop("readOnly", None)  # read-only in the serializer, but it names the target here
        return key, schema

    def _get_response_bodies(self, direction: Any = "response") -> Any:
        responses = super()._get_response_bodies(direction)
        operation = openapi.bulk_operation(self.view, self.method)
        max_items = self.view.get_max_batch_size() if operation else None
        if operation == "destroy":
            return openapi.bulk_responses(
                responses, operation, openapi.multistatus_schema(None), max_items
            )
        serializer = self.get_response_serializers()
        if not operation or serializer is None:
            return openapi.conditional_responses(self.view, self.method, responses)
        data = self.resolve_serializer(serializer, "response").ref
        name = f"{self._get_serializer_name(serializer, 'response')}MultiStatus"
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=name,
            schema=openapi.multistatus_schema(data),
        )
        self.registry.register_on_missing(component)
        return openapi.bulk_responses(responses, operation, component.ref, max_items)


class MultiStatusViewExtension(OpenApiViewExtension):
    """Gives every bulk view a bulk-aware schema, keeping the project's own ``AutoSchema``
    subclass when it has one."""

    target_class = "drf_multistatus.generics.MultiStatusMixin"
    match_subclasses = True

    def view_replacement(self) -> type:
        base: Any = api_settings.DEFAULT_SCHEMA_CLASS
        if not (isinstance(base, type) and issubclass(base, AutoSchema)):
            base = AutoSchema
        schema_class = type(f"Bulk{base.__name__}", (SpectacularBulkAutoSchema, base), {})
        return type(self.target.__name__, (self.target,), {"schema": schema_class()})
