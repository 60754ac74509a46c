"""OpenAPI post-processing (drf-spectacular): every operation documents the problem documents it can
answer with (auror.rest), so a client knows the shape of a 400 or a 404 as well as of a 200, and a
schema-driven fuzzer (tests/test_schemathesis.py) can hold every answer to the schema."""

from __future__ import annotations

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details. A 400 names every bad field in `invalid_params` (dotted paths, "
                   "e.g. `persons.0.height_cm`) and the first one in `detail`.",
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string", "example": "Invalid request"},
        "status": {"type": "integer", "example": 400},
        "detail": {"type": "string", "example": "store: No store with code NOPE-9."},
        "errors": {"type": "object", "additionalProperties": True,
                   "description": "DRF's own shape of the validation errors (400 only)."},
        "invalid_params": {
            "type": "array",
            "items": {"type": "object", "required": ["name", "reason"],
                      "properties": {"name": {"type": "string"}, "reason": {"type": "string"},
                                     "in": {"type": "string"}}},
        },
    },
    "required": ["type", "title", "status"],
}

# What every operation may answer besides its own responses: refused input, no or a bad token, a
# role or tenant that may not, a method or media type the route does not take, and a server error.
COMMON = {
    "400": "Invalid request: the fields at fault are named.",
    "401": "Not authenticated: no token, or a bad one.",
    "403": "Your role may not do this.",
    "404": "No such record, or not one you may see (the same answer).",
    "405": "The route does not take this method.",
    "406": "No answer in a media type the Accept header allows.",
    "415": "The body's media type is not one the route reads.",
    "500": "An error the server did not expect; logged.",
}


def problem_responses(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry: add the Problem schema and the common problem responses."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in COMMON.items():
                existing = responses.get(status)
                if existing is None:
                    responses[status] = {"description": description,
                                         "content": {PROBLEM_MEDIA_TYPE: {"schema": ref}}}
                elif "content" not in existing:
                    existing["content"] = {PROBLEM_MEDIA_TYPE: {"schema": ref}}
    return result
