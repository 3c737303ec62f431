"""Routing: path templates with typed parameters, matched to endpoints.

A template such as `/api/scores/{client_id:int}` compiles to a regex plus a
converter per parameter. Matching a request gives one of three answers: no
route has this path (NotFound, 404), a route has the path but not the method
(MethodNotAllowed, 405 with `Allow`), or a full match with typed parameters.
HEAD is allowed wherever GET is (RFC 9110 §9.3.2). Templates without
parameters are found in a dict before any regex is tried; the others are
tried in order by one regex that joins them all. Knows nothing of
models, databases or sockets; an endpoint is any callable `endpoint(request)`,
and one that dispatches by verb may say, through `handler_for(method)`, which
callable answers each method, so a request skips that second dispatch.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .errors import MethodNotAllowed, NotFound

# name -> (regex fragment, converter, OpenAPI schema of the parameter)
CONVERTERS: dict[str, tuple[str, Callable[[str], object], dict]] = {
    "int": (r"[0-9]+", int, {"type": "integer", "minimum": 0}),
    "str": (r"[^/]+", str, {"type": "string"}),
}

_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?}")


def compile_path(template: str) -> tuple[re.Pattern, dict[str, Callable[[str], object]]]:
    """Turn a path template into an anchored regex and the converters of its parameters.

    A parameter without a type is a `str` (one path segment).
    >>> regex, convert = compile_path("/api/scores/{client_id:int}")
    >>> regex.pattern, convert
    ('^/api/scores/(?P<client_id>[0-9]+)\\\\Z', {'client_id': <class 'int'>})
    >>> m = regex.match("/api/scores/42"); convert["client_id"](m["client_id"])
    42
    """
    pattern, converters = _path_pattern(template)
    return re.compile("^" + pattern), converters


def _path_pattern(template: str, group_prefix: str = "") -> tuple[str, dict[str, Callable[[str], object]]]:
    """compile_path's regex text, without `^`; each parameter's group is named `group_prefix + name`."""
    pattern, converters, pos = "", {}, 0
    for m in _PARAM.finditer(template):
        name, kind = m.group(1), m.group(2) or "str"
        if kind not in CONVERTERS:
            raise ValueError(f"unknown parameter type {kind!r} in {template!r}")
        if name in converters:
            raise ValueError(f"parameter {name!r} appears twice in {template!r}")
        regex, converter, _ = CONVERTERS[kind]
        pattern += re.escape(template[pos:m.start()]) + f"(?P<{group_prefix}{name}>{regex})"
        converters[name] = converter
        pos = m.end()
    # \Z, not $: `$` also matches before a final newline, so /api/scores/1%0A would be row 1.
    return pattern + re.escape(template[pos:]) + r"\Z", converters


def alternation(routes: "list[Route]") -> tuple[re.Pattern, dict[int, tuple["Route", tuple]]]:
    """One regex that tries the templates of `routes` in order, and what its groups mean.

    Route i is alternative i, all of it in group `_i`: that group closes last, so
    `m.lastindex` says which route fit. Its parameters are the groups `_i_<name>`.
    The table maps lastindex -> (route, its (group number, name, converter)s).
    >>> routes = [Route("/a/{x:int}", print, frozenset({"GET"})), Route("/b/{y}", print, frozenset({"GET"}))]
    >>> regex, table = alternation(routes)
    >>> m = regex.match("/b/hi"); route, groups = table[m.lastindex]
    >>> route.template, [(name, m[number]) for number, name, _ in groups]
    ('/b/{y}', [('y', 'hi')])
    """
    regex = re.compile("|".join(f"(?P<_{i}>{_path_pattern(route.template, f'_{i}_')[0]})"
                                for i, route in enumerate(routes)))
    table = {}
    for i, route in enumerate(routes):
        groups = tuple((regex.groupindex[f"_{i}_{name}"], name, convert) for name, convert in route.converters)
        table[regex.groupindex[f"_{i}"]] = (route, groups)
    return regex, table


def openapi_path(template: str) -> str:
    """The template as OpenAPI writes it, without types.

    >>> openapi_path("/api/scores/{client_id:int}")
    '/api/scores/{client_id}'
    """
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", template)


def path_parameters(template: str) -> list[tuple[str, dict]]:
    """Each parameter's name and OpenAPI schema, in order.

    >>> path_parameters("/api/scores/{client_id:int}")
    [('client_id', {'type': 'integer', 'minimum': 0})]
    """
    return [(m.group(1), CONVERTERS[m.group(2) or "str"][2]) for m in _PARAM.finditer(template)]


def endpoint_methods(endpoint: object, methods: Iterable[str] | None) -> frozenset[str]:
    """The methods a route answers: given explicitly, or asked of a class-based service; HEAD follows GET."""
    if methods is None:
        methods = getattr(endpoint, "allowed_methods", None)
        if methods is None:
            raise ValueError(f"give methods= for {endpoint!r}: it does not say which it allows")
    found = {m.upper() for m in methods}
    if "GET" in found:
        found.add("HEAD")
    return frozenset(found)


def method_handlers(endpoint: Callable, methods: frozenset[str]) -> dict[str, Callable]:
    """Method -> the callable that answers it, worked out once, when the route is added.

    An endpoint with `handler_for(method)` (a class-based service) names its own
    method for each verb, or None to be called itself; any other endpoint answers all.
    """
    handler_for = getattr(endpoint, "handler_for", None)
    handlers = {}
    for method in methods:
        handler = handler_for(method) if handler_for is not None else None
        handlers[method] = endpoint if handler is None else handler
    return handlers


@dataclass
class Route:
    """One path template bound to one endpoint and the methods it answers."""

    template: str
    endpoint: Callable
    methods: frozenset[str]
    name: str = ""
    regex: re.Pattern = field(init=False, repr=False)
    # (name, converter) pairs, in the template's order
    converters: tuple[tuple[str, Callable[[str], object]], ...] = field(init=False, repr=False)
    # method -> what the App calls with the WebRequest; its keys are exactly `methods`
    handlers: dict[str, Callable] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.regex, converters = compile_path(self.template)
        self.converters = tuple(converters.items())
        self.handlers = method_handlers(self.endpoint, self.methods)

    @property
    def is_static(self) -> bool:
        return not self.converters

    def match_path(self, path: str) -> dict[str, object] | None:
        """The typed parameters if `path` fits this template, else None."""
        m = self.regex.match(path)
        if m is None:
            return None
        params = m.groupdict()  # one dict per match, converted in place
        try:
            for name, convert in self.converters:
                params[name] = convert(params[name])
        except ValueError:
            # A converter may refuse text its regex let through: int() refuses more
            # than 4300 digits. Then the path does not fit this template after all.
            return None
        return params


class Router:
    """An ordered table of routes.

    >>> r = Router()
    >>> _ = r.add("/api/scores/{client_id:int}", lambda req: None, methods=["GET"])
    >>> route, params = r.resolve("HEAD", "/api/scores/7"); params
    {'client_id': 7}
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._static: dict[str, list[Route]] = {}   # exact path -> its routes, in order
        self._dynamic: list[Route] = []             # routes with parameters, in order
        # all of _dynamic in one regex, and its lastindex -> (route, parameter groups); see alternation()
        self._alternation: re.Pattern | None = None
        self._alternatives: dict[int, tuple[Route, tuple]] = {}

    def add(self, template: str, endpoint: Callable, *, methods: Iterable[str] | None = None,
            name: str = "") -> Route:
        """Register `endpoint` for `template`; methods default to the endpoint's `allowed_methods`."""
        route = Route(template, endpoint, endpoint_methods(endpoint, methods), name)
        self.routes.append(route)
        if route.is_static:
            self._static.setdefault(template, []).append(route)
        else:
            self._dynamic.append(route)
            self._alternation, self._alternatives = alternation(self._dynamic)
        return route

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, object]]:
        """The route and typed parameters for this request, or NotFound / MethodNotAllowed.

        Exact templates are tried first: a dict lookup is cheaper than any regex.
        Then one regex call tries every template with parameters, in order (as
        bottle does): the first that fits the path is nearly always the answer.
        Only when it does not take the method are the routes tried one by one,
        since a later one may; working out the answer to a miss is left to `_no_match`.
        """
        for route in self._static.get(path, ()):
            if method in route.methods:
                return route, {}
        m = self._alternation.match(path) if self._alternation is not None else None
        if m is None:
            raise self._no_match(path)
        route, groups = self._alternatives[m.lastindex]
        if method in route.methods:
            params = {}
            try:
                for number, name, convert in groups:
                    params[name] = convert(m[number])
                return route, params
            except ValueError:  # a converter refused its text (see Route.match_path): try them all
                pass
        for route in self._dynamic:
            params = route.match_path(path)
            if params is not None and method in route.methods:
                return route, params
        raise self._no_match(path)

    def _no_match(self, path: str) -> MethodNotAllowed | NotFound:
        """405 naming every method the routes that fit `path` answer, or 404 when none fits."""
        allowed: set[str] = set()
        for route in self._static.get(path, ()):
            allowed |= route.methods
        for route in self._dynamic:
            if route.match_path(path) is not None:
                allowed |= route.methods
        if allowed:
            return MethodNotAllowed(allowed)
        return NotFound(f"no route for {path}")
