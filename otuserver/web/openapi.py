"""An OpenAPI 3 document generated from a Router, never written by hand.

Paths and their typed parameters come from the route templates; each
operation comes from its endpoint's `describe(method)` and the named schemas
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
    parameters = [{"name": name, "in": "path", "required": True, "schema": schema}
                  for name, schema in path_parameters(route.template)]
    operation["parameters"] = parameters + operation.get("parameters", [])
    if not operation["parameters"]:
        del operation["parameters"]
    if route.name:
        operation.setdefault("operationId", f"{route.name}_{method.lower()}")
    return operation


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
