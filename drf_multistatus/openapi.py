"""OpenAPI 3 pieces for bulk operations, shared by the DRF and drf-spectacular schema classes."""

from __future__ import annotations

from typing import Any

from .actions import bulk_twin
from .namespaces import DAV_NAMESPACE, XML_MEDIA_TYPES
from .preferences import (
    HANDLING_STRICT,
    MERGE_DUPLICATES,
    RESPOND_ASYNC,
    RETURN_MINIMAL,
    TX_ROLLBACK,
)
from .settings import multistatus_settings, view_setting


def bulk_operation(view: Any, method: str) -> str | None:
    """``"create"``, ``"update"`` or ``"destroy"`` for the bulk operations of a list URL."""
    twin = bulk_twin(view, method)
    return "update" if twin == "partial_update" else twin


def prefer_parameter(view: Any, operation: str) -> dict[str, Any]:
    """The ``Prefer`` header of a bulk operation (RFC 7240): background jobs and minimal
    answers everywhere; upserts on POST where the view has ``upsert_fields``."""
    values = [RESPOND_ASYNC, RETURN_MINIMAL, HANDLING_STRICT]
    description = (
        f"`{RESPOND_ASYNC}`: run the batch as a background job (202, `Location` the job's URL; "
        f"GET it until it answers 207). `{RETURN_MINIMAL}`: successful items without `data`. "
        f"`{HANDLING_STRICT}`: 400 instead of ignoring a preference the request cannot honour."
    )
    if view_setting(view, "allow_dry_run", "ALLOW_DRY_RUN"):
        values.append(TX_ROLLBACK)
        description += (
            f" `{TX_ROLLBACK}`: a dry run — the batch runs and answers as it would, then every "
            "write is rolled back (created items have no `href`)."
        )
    fields = tuple(getattr(view, "upsert_fields", ()) or ())
    if operation == "create" and fields:
        values.append(MERGE_DUPLICATES)
        description += (
            f" `{MERGE_DUPLICATES}`: upsert by {', '.join(fields)} — an item whose key matches "
            "an object replaces it as a PUT would (200), any other is created (201); an item's "
            f"`{multistatus_settings.IF_MATCH_KEY}` holds a replacement to its etag."
        )
    description += " Answered with `Preference-Applied`; preferences combine, comma-separated."
    return {
        "name": "Prefer",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "enum": values},
        "description": description,
    }


def destroy_request_body(lookup: tuple[str, dict[str, Any]], max_items: int | None) -> dict:
    """The body of a bulk DELETE: an array of objects, each naming its target."""
    key, key_schema = lookup
    properties = {key: key_schema, multistatus_settings.IF_MATCH_KEY: PRECONDITION}
    item = {"type": "object", "properties": properties, "required": [key]}
    content = {media_type: {"schema": batch_schema(item, max_items)} for media_type in BODY_TYPES}
    content.update({media_type: {"schema": schema} for media_type, schema in FILE_BODIES.items()})
    return {"content": content, "required": True}


BODY_TYPES = ("application/json", *XML_MEDIA_TYPES)
#: Bodies that are files of items, one item a line or row, each validated as a JSON item is.
FILE_BODIES = {
    "application/x-ndjson": {
        "type": "string",
        "description": "JSON lines: one item (a JSON object) per line; blank lines are skipped.",
    },
    "text/csv": {
        "type": "string",
        "description": (
            "RFC 4180 CSV (UTF-8 unless `charset` says otherwise): a header row of field names, "
            "then one item per row. An empty cell omits its field, `\\N` is null, a many-valued "
            "field is a JSON array; `_index`, `_status` and `_errors` columns are ignored."
        ),
    },
}


def bulk_request_content(
    content: dict[str, Any],
    operation: str,
    lookup: tuple[str, dict[str, Any]] | None,
    max_items: int | None,
) -> None:
    """Turn a request body's per-media-type schemas into bulk ones, in place: an array of items
    (each with its lookup field, for updates), or for a create one object or such an array."""
    if operation == "update":  # an array cannot be sent as a form
        for media_type in [m for m in content if is_form_media_type(m)]:
            del content[media_type]
    for media_type, media in content.items():
        if media_type in FILE_BODIES:
            media["schema"] = dict(FILE_BODIES[media_type])
            continue
        if is_form_media_type(media_type):
            continue
        item = media["schema"]
        if lookup:
            item = with_lookup(item, *lookup)
        batch = batch_schema(item, max_items)
        media["schema"] = {"oneOf": [item, batch]} if operation == "create" else batch


def bulk_responses(
    responses: dict[str, Any], operation: str, result: dict[str, Any], max_items: int | None
) -> dict[str, Any]:
    """The responses of a bulk operation whose 207 JSON body has the ``result`` schema."""
    bulk = {
        "207": multistatus_response(result),
        "202": JOB_ACCEPTED,
        **whole_request_errors(max_items),
    }
    return {**responses, **bulk} if operation == "create" else bulk


def is_form_media_type(media_type: str) -> bool:
    """Forms carry one object, never an array: bulk bodies are JSON or XML only."""
    return media_type.startswith(("application/x-www-form-urlencoded", "multipart/"))


def batch_schema(item: dict[str, Any], max_items: int | None) -> dict[str, Any]:
    """The request body of a bulk operation: an array of items."""
    schema: dict[str, Any] = {"type": "array", "items": item}
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema


def lookup_schema(model: Any, key: str) -> dict[str, Any]:
    """A plain schema for the lookup field ``key`` of ``model`` (DRF's AutoSchema has no model
    field mapping; drf-spectacular uses its own)."""
    field = model._meta.get_field(key)
    internal = field.get_internal_type()
    if internal.endswith(("AutoField", "IntegerField")):
        return {"type": "integer"}
    if internal == "UUIDField":
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def with_lookup(item: dict[str, Any], key: str, key_schema: dict[str, Any]) -> dict[str, Any]:
    """An update item: the serializer's input plus the lookup field that names its target, and
    the precondition it may be held to."""
    properties = {key: key_schema, multistatus_settings.IF_MATCH_KEY: PRECONDITION}
    return {"allOf": [item, {"type": "object", "properties": properties, "required": [key]}]}


PRECONDITION = {
    "type": "string",
    "description": (
        "If-Match for this item: the etag its object must still have (from a result's `etag` "
        'or a GET\'s `ETag`, quoted), or `"*"` for any existing object. Otherwise the item is '
        "412 and unchanged (the others of an atomic batch 424)."
    ),
}


def multistatus_schema(data: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON body of a 207 answer whose successful items carry ``data`` (None: no data, as
    the 204 items of a bulk delete)."""
    properties: dict[str, Any] = {
        "index": {"type": "integer", "minimum": 0},
        "status": {"type": "integer", "minimum": 200, "maximum": 599},
        "href": {"type": "string", "format": "uri"},
        "etag": {
            "type": "string",
            "description": (
                "After a 200 or 201: the object's entity tag, which the item's next guarded "
                "write names in its If-Match."
            ),
        },
    }
    properties["status"]["description"] = (
        "The item's status, as its single-object request would answer (412: its If-Match "
        "named a stale etag; 424: not run because another item of an atomic batch failed)."
    )
    if data is not None:
        properties["data"] = data
    properties["errors"] = {"type": "object", "additionalProperties": True}
    properties["code"] = {
        "type": "string",
        "description": "The code of a failure of the item as a whole (not_found, cancelled…).",
    }
    return {
        "type": "object",
        "required": ["results", "summary"],
        "properties": {
            "results": {
                "type": "array",
                "description": "One result per request item, in request order.",
                "items": {
                    "type": "object",
                    "required": ["index", "status"],
                    "properties": properties,
                },
            },
            "summary": {
                "type": "object",
                "required": ["total", "succeeded", "failed", "atomic", "by_status"],
                "properties": {
                    "total": {"type": "integer"},
                    "succeeded": {"type": "integer"},
                    "failed": {"type": "integer"},
                    "atomic": {"type": "boolean"},
                    "by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
                },
            },
        },
    }


XML_MULTISTATUS = {
    "type": "object",
    "description": (
        "An RFC 4918 DAV:multistatus document: one d:response per item with d:href, d:status, "
        "d:error and d:responsedescription on failure (or, in the propstat style, fields as "
        "d:propstat properties), and ms:index / ms:data (namespace urn:drf-multistatus); the "
        "summary in ms: attributes of the root."
    ),
    "xml": {"name": "multistatus", "namespace": DAV_NAMESPACE, "prefix": "d"},
}

JOB_ACCEPTED = {
    "description": (
        "Prefer: respond-async — the batch runs as a background job. `Location` is the job's URL: "
        "GET answers 200 with this state while it runs (with `Retry-After`), then 207 with the "
        "body the synchronous request would have given; DELETE cancels it."
    ),
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "state": {
                        "type": "string",
                        "enum": ["queued", "running", "finished", "cancelled", "failed"],
                    },
                    "total": {"type": "integer"},
                    "done": {"type": "integer"},
                    "by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "cancel_requested": {"type": "boolean"},
                    "href": {"type": "string", "format": "uri"},
                },
            }
        }
    },
}

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}


def multistatus_response(json_schema: dict[str, Any]) -> dict[str, Any]:
    content = {"application/json": {"schema": json_schema}}
    content.update({media_type: {"schema": XML_MULTISTATUS} for media_type in XML_MEDIA_TYPES})
    return {
        "description": "Multi-Status: one result per item; read every item's status.",
        "content": content,
    }


def whole_request_errors(max_items: int | None) -> dict[str, Any]:
    limit = f"more than {max_items} items, or " if max_items is not None else ""
    content = {"application/json": {"schema": ERROR}}
    return {
        "400": {
            "description": "Not a list of items, or not parseable; no item was processed.",
            "content": content,
        },
        "415": {
            "description": "A content type the view does not read; no item was processed.",
            "content": content,
        },
        "413": {
            "description": f"Too large: {limit}a body over the server's limit.",
            "content": content,
        },
    }


# Conditional single-object requests -----------------------------------------------------------

ETAG_HEADER = {
    "description": "The object's entity tag, as bulk results carry it.",
    "schema": {"type": "string"},
}


def conditional_parameters(view: Any, method: str) -> list[dict[str, Any]]:
    """``If-None-Match`` on a detail GET, ``If-Match`` on a detail PUT, PATCH or DELETE."""
    if not getattr(view, "detail", False):
        return []
    if method == "GET":
        name, description = "If-None-Match", "304 Not Modified where the object has this etag."
    elif method in ("PUT", "PATCH", "DELETE"):
        name = "If-Match"
        description = (
            "412 Precondition Failed, nothing written, unless the object has this etag "
            "(If-None-Match is honoured too)."
        )
    else:
        return []
    return [
        {
            "name": name,
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": description,
        }
    ]


def conditional_responses(view: Any, method: str, responses: dict[str, Any]) -> dict[str, Any]:
    """A detail operation's responses with the ``ETag`` header (GET, PATCH) and 304 or 412."""
    if not conditional_parameters(view, method):
        return responses
    responses = dict(responses)
    if "200" in responses and method in ("GET", "PATCH"):  # a PUT's 200 carries none
        ok = dict(responses["200"])
        ok["headers"] = {**ok.get("headers", {}), "ETag": ETAG_HEADER}
        responses["200"] = ok
    if method == "GET":
        responses["304"] = {"description": "Not Modified: the object still has that etag."}
    else:
        responses["412"] = {
            "description": "Precondition Failed: the object no longer has that etag.",
            "content": {"application/json": {"schema": ERROR}},
        }
    return responses
