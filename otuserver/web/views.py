"""Class-based services: a method per HTTP verb, and the two generic ones bound to a Model.

`APIService` dispatches a request to the method named after its verb (HEAD
falls back to GET) and tells the router which verbs it has. The generic
`ListCreateAPIService` (GET a page, POST create) and `DetailAPIService` (GET,
PUT, DELETE one) make a new resource a few lines:

    class ScoreList(ListCreateAPIService):
        model = Score

They know the Model only through the interface below (otuserver.db.Model
provides it), never the database, and answer with JSON; errors are raised as
HTTPErrors for the app to render.

    model.pk_name                      name of the primary key and of the path parameter
    model.parse_pk(value)              the key, or None when no row can have it (→ 404)
    model.from_json(data, pk=None)     a validated instance, or a 400 naming the fields
    model.get_json(db, pk, encode)     the stored object's to_json(), as bytes `encode` writes, or None
    model.page(db, offset, limit)      (count, instances), from one snapshot
    model.delete(db, pk)               True if a row was deleted
    instance.insert(db)                store a new row (409 if the key exists)
    instance.replace(db)               True if the row existed and was replaced
    instance.pk_value, instance.to_json()
    model.json_schema(for_input=...)   for the OpenAPI document
"""

from collections.abc import Callable
from functools import cached_property
from typing import ClassVar

from ..http import Response
from .errors import NotFound
from .pagination import DEFAULT_PAGE_SIZE, MAX_DIGITS, MAX_PAGE_SIZE, paginated_body, requested_page
from .request import WebRequest
from .responses import JSONResponse, dump_json

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


class APIService:
    """Dispatch by verb: a GET request calls `self.get(request)`, and so on."""

    def __call__(self, request: WebRequest) -> Response:
        handler = self._method_for(request.method)
        if handler is None:
            raise AttributeError(f"{type(self).__name__} has no method for {request.method}")  # a 500
        return handler(request)

    def handler_for(self, method: str) -> Callable[[WebRequest], Response] | None:
        """What the router may call for `method` in place of this service (see routing.method_handlers).

        None -- call the service itself -- when a subclass puts its own __call__ in
        the way, or when the verb has no method here (the call then fails as it would).
        """
        if type(self).__call__ is not APIService.__call__:
            return None
        return self._method_for(method)

    def _method_for(self, method: str) -> Callable[[WebRequest], Response] | None:
        handler = self.handlers.get(method)
        if handler is None:  # a verb outside VERBS, routed with explicit methods=: ask by name
            handler = getattr(self, "get" if method == "HEAD" else method.lower(), None)
        return handler

    @cached_property
    def handlers(self) -> dict[str, Callable[[WebRequest], Response]]:
        """Verb -> bound method, made on first use, so a request costs one dict lookup.

        HEAD is answered by get(); the server drops the body (RFC 9110 §9.3.2).
        """
        table = {verb: getattr(self, verb.lower()) for verb in self.allowed_methods}
        if "GET" in table:
            table["HEAD"] = table["GET"]
        return table

    @property
    def allowed_methods(self) -> frozenset[str]:
        """The verbs this class defines a method for; the router adds HEAD after GET."""
        return frozenset(verb for verb in VERBS if callable(getattr(self, verb.lower(), None)))

    def describe(self, method: str) -> dict:
        """The OpenAPI operation for `method`; subclasses say more."""
        return {"responses": {"200": {"description": "OK"}}}

    def schemas(self) -> dict[str, dict]:
        """Named schemas this service refers to, for the OpenAPI components."""
        return {}


class ModelService(APIService):
    """What both generic services share: the bound Model and the database handle it is given."""

    model: ClassVar[type] = None

    def __init__(self, db: object) -> None:
        if self.model is None:
            raise TypeError(f"{type(self).__name__} must set `model`")
        self.db = db

    @property
    def label(self) -> str:
        return self.model.__name__

    def schemas(self) -> dict[str, dict]:
        return {self.label: self.model.json_schema(for_input=False),
                f"{self.label}Input": self.model.json_schema(for_input=True)}

    def _body_400(self) -> dict:
        return _error("the body is not a valid JSON object for this resource; `fields` names the problems")


class ListCreateAPIService(ModelService):
    """GET a page of the collection; POST a new member (201 with Location)."""

    default_page_size: ClassVar[int] = DEFAULT_PAGE_SIZE
    max_page_size: ClassVar[int] = MAX_PAGE_SIZE

    def get(self, request: WebRequest) -> Response:
        page = requested_page(request.query_params, default_size=self.default_page_size,
                              max_size=self.max_page_size)
        count, items = self.model.page(self.db, page.offset, page.size)
        body = paginated_body(request.encoded_path, request.query_params, page, count,
                              [item.to_json() for item in items])
        return JSONResponse(body)

    def post(self, request: WebRequest) -> Response:
        instance = self.model.from_json(request.json())
        instance.insert(self.db)
        return JSONResponse(instance.to_json(), status=201,
                            headers=[("Location", self.location(request, instance))])

    def location(self, request: WebRequest, instance: object) -> str:
        """Where the new member lives: the collection's path, as it arrived, plus its key.

        The key goes in as str() writes it: right for the integer keys the Fields here make
        (a text key would need percent-encoding first).
        """
        return f"{request.encoded_path.rstrip('/')}/{instance.pk_value}"

    def describe(self, method: str) -> dict:
        if method == "GET":
            return {
                "summary": f"List {self.label} records, a page at a time",
                "parameters": [
                    {"name": "page", "in": "query", "schema": {
                        "type": "integer", "minimum": 1, "maximum": 10 ** MAX_DIGITS - 1, "default": 1}},
                    # Not "maximum": a larger page_size is accepted and clamped, not refused.
                    {"name": "page_size", "in": "query",
                     "description": f"records per page; a larger value is clamped to {self.max_page_size}",
                     "schema": {"type": "integer", "minimum": 1, "default": self.default_page_size}},
                ],
                "responses": {
                    "200": {"description": "one page", "content": _json_content(_page_schema(self.label))},
                    "400": _error("page or page_size is not a positive integer"),
                    "404": _error("the page is past the end"),
                },
            }
        return {
            "summary": (f"Create one {self.label}; {self.model.pk_name} is optional, "
                        "and the database picks one when it is absent"),
            "requestBody": {"required": True, "content": _json_content(_ref(f"{self.label}Input"))},
            "responses": {
                "201": {"description": "created; Location names the new resource",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "content": _json_content(_ref(self.label))},
                "400": self._body_400(),
                "409": _error(f"one {self.label} with this {self.model.pk_name} exists already"),
                "413": _error("the body is larger than the server accepts"),
                "415": _error("the body is not application/json"),
                "503": _error("the database is busy; retry after Retry-After seconds"),
            },
        }


def _page_schema(label: str) -> dict:
    link = {"type": "string", "nullable": True}
    return {"type": "object", "required": ["count", "next", "previous", "results"], "properties": {
        "count": {"type": "integer"}, "next": link, "previous": link,
        "results": {"type": "array", "items": _ref(label)}}}


class DetailAPIService(ModelService):
    """GET, PUT (replace) and DELETE one member, found by the path parameter named like the key."""

    def get(self, request: WebRequest) -> Response:
        pk = self._pk(request)
        # The stored object as JSON, with no instance in between when the model can skip it.
        body = self.model.get_json(self.db, pk, dump_json)
        if body is None:
            raise self._missing(pk)
        return JSONResponse.encoded(body)

    def put(self, request: WebRequest) -> Response:
        pk = self._pk(request)
        instance = self.model.from_json(request.json(), pk=pk)
        if not instance.replace(self.db):
            raise self._missing(pk)
        return JSONResponse(instance.to_json())

    def delete(self, request: WebRequest) -> Response:
        pk = self._pk(request)
        if not self.model.delete(self.db, pk):
            raise self._missing(pk)
        return Response(204)

    def _pk(self, request: WebRequest) -> object:
        raw = request.path_params[self.model.pk_name]
        pk = self.model.parse_pk(raw)
        if pk is None:
            # A key no row can have (say, past SQLite's 64-bit range) names nothing.
            raise self._missing(raw)
        return pk

    def _missing(self, pk: object) -> NotFound:
        return NotFound(f"no {self.label} with {self.model.pk_name} {pk}")

    def describe(self, method: str) -> dict:
        operation = self._describe_verb(method)
        operation["parameters"] = [self._key_parameter()]
        return operation

    def _key_parameter(self) -> dict:
        """The path parameter named like the key, bounded as the key field is.

        The router's `int` admits 0 and any length; parse_pk turns those into a 404,
        so the document states the field's own minimum and maximum instead.
        """
        schema = dict(self.model.json_schema()["properties"][self.model.pk_name])
        schema.pop("description", None)  # written for a body ("optional on create"), not a path
        return {"name": self.model.pk_name, "in": "path", "required": True, "schema": schema,
                "description": f"the {self.model.pk_name} of one {self.label}"}

    def _describe_verb(self, method: str) -> dict:
        missing = _error(f"no {self.label} with this {self.model.pk_name}")
        if method == "GET":
            return {"summary": f"Read one {self.label}", "responses": {
                "200": {"description": "found", "content": _json_content(_ref(self.label))}, "404": missing}}
        if method == "PUT":
            return {
                "summary": f"Replace one {self.label}; a {self.model.pk_name} in the body must match the path",
                "requestBody": {"required": True, "content": _json_content(_ref(f"{self.label}Input"))},
                "responses": {
                    "200": {"description": "replaced", "content": _json_content(_ref(self.label))},
                    "400": self._body_400(), "404": missing,
                    "413": _error("the body is larger than the server accepts"),
                    "415": _error("the body is not application/json"),
                    "503": _error("the database is busy; retry after Retry-After seconds"),
                }}
        return {"summary": f"Delete one {self.label}", "responses": {
            "204": {"description": "deleted"}, "404": missing,
            "503": _error("the database is busy; retry after Retry-After seconds")}}
