"""The tiny web framework: routing, class-based services, pagination, JSON in and out.

It stands on otuserver.http (Request, Response, HTTPError) and knows no socket
and no database: the generic services reach their Model through a small
interface (see views.py) that otuserver.db.Model provides. An App is the
callable `app(request) -> Response` that the server calls.
"""

from .app import App
from .errors import MethodNotAllowed, NotFound, UnsupportedMediaType, error_response
from .openapi import OpenAPIEndpoint, openapi_document
from .pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from .request import WebRequest
from .responses import JSONResponse, Response
from .routing import Route, Router, compile_path
from .views import APIService, DetailAPIService, ListCreateAPIService

__all__ = [
    "App", "MethodNotAllowed", "NotFound", "UnsupportedMediaType", "error_response",
    "OpenAPIEndpoint", "openapi_document", "DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Page",
    "WebRequest", "JSONResponse", "Response", "Route", "Router", "compile_path",
    "APIService", "DetailAPIService", "ListCreateAPIService",
]
