"""An OpenAPI 3 document generated from a Router, never written by hand.

Paths and their typed parameters come from the route templates (an endpoint
may describe a path parameter more closely); each operation comes from its
endpoint's `describe(method)` and the named schemas
from its `schemas()` (the generic services build both from their Model).
Endpoints that say nothing get a bare "200 OK". HEAD is left out: OpenAPI
readers infer it from GET. Knows nothing of databases or sockets.
"""

from .request import WebRequest
from .responses import JSONResponse
from .routing import Router, openapi_path, path_parameters

OPENAPI_VERSION = "3.0.3"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what went wrong, for a person to read"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "field name -> what is wrong with it (validation errors only)"},
    },
}


def _operation(route, method: str) -> dict:
    describe = getattr(route.endpoint, "describe", None)
    operation = dict(describe(method)) if describe else {"responses": {"200": {"description": "OK"}}}
    operation["parameters"] = _parameters(route.template, operation.get("parameters", []))
    if not operation["parameters"]:
        del operation["parameters"]
    if route.name:
        operation.setdefault("operationId", f"{route.name}_{method.lower()}")
    return operation


def _parameters(template: str, described: list[dict]) -> list[dict]:
    """The template's path parameters, then the endpoint's others; the endpoint's word wins.

    The router knows only a parameter's converter (`int`: any digits); an endpoint
    may know more (a key field's bounds) and describe the parameter itself.
    OpenAPI 3.0.3 §4.7.12: a parameter is unique by name and location, and a path
    one must name an expression of the template, so one the template lacks is left out.
    >>> own = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    >>> [p["schema"] for p in _parameters("/t/{id:int}", [own])]
    [{'type': 'integer', 'minimum': 1}]
    """
    own = {(p["name"], p["in"]): p for p in described}
    in_path = [own.pop((name, "path"), {"name": name, "in": "path", "required": True, "schema": schema})
               for name, schema in path_parameters(template)]
    return in_path + [p for (_, where), p in own.items() if where != "path"]


def openapi_document(router: Router, *, title: str, version: str, description: str = "") -> dict:
    """The OpenAPI 3 document for every route of `router`.

    >>> r = Router()
    >>> _ = r.add("/api/ping", lambda req: None, methods=["GET"])
    >>> openapi_document(r, title="t", version="1")["paths"]
    {'/api/ping': {'get': {'responses': {'200': {'description': 'OK'}}}}}
    """
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {"Error": ERROR_SCHEMA}
    for route in router.routes:
        item = paths.setdefault(openapi_path(route.template), {})
        for method in sorted(route.methods - {"HEAD"}):
            item[method.lower()] = _operation(route, method)
        schemas.update(getattr(route.endpoint, "schemas", dict)())
    info = {"title": title, "version": version}
    if description:
        info["description"] = description
    return {"openapi": OPENAPI_VERSION, "info": info, "paths": paths, "components": {"schemas": schemas}}


class OpenAPIEndpoint:
    """Serves the document for a router; built on first request, when every route is registered."""

    allowed_methods = frozenset({"GET"})

    def __init__(self, router: Router, *, title: str, version: str, description: str = "") -> None:
        self.router = router
        self.info = {"title": title, "version": version, "description": description}
        self._document: dict | None = None

    def __call__(self, request: WebRequest) -> JSONResponse:
        if self._document is None:
            self._document = openapi_document(self.router, **self.info)
        return JSONResponse(self._document)

    def describe(self, method: str) -> dict:
        return {"summary": "This document", "responses": {"200": {"description": "the OpenAPI document"}}}
