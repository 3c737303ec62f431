"""The scoring API's URL table: four resource routes, the index and the OpenAPI document.

Each model has a list route (GET, POST) and a detail route (GET, PUT, DELETE):
ten operations in all, HEAD following GET. Every path starts with /api because
httpd.py hands this app the full path of /api and of any request under /api/.
The path parameter is named after the models' primary key, which is how
DetailAPIService finds it. Which model a service serves is services.py's
business; this table knows only paths and names.
"""

from otuserver.db import Engine
from otuserver.web import JSONResponse, OpenAPIEndpoint, Router, WebRequest

from .services import InterestsDetail, InterestsList, ScoreDetail, ScoreList

API_TITLE = "OTUServer scoring API"
API_VERSION = "1.0.0"

INDEX = {
    "interests": "/api/interests",
    "scores": "/api/scores",
    "openapi": "/api/openapi.json",
}


def index(request: WebRequest) -> JSONResponse:
    """GET /api: where the resources are, so the API can be explored from its root."""
    return JSONResponse(INDEX)


def build_router(db: Engine) -> Router:
    """All the API's routes, with services bound to `db`."""
    router = Router()
    router.add("/api", index, methods=["GET"], name="index")
    router.add("/api/", index, methods=["GET"], name="index_slash")
    router.add("/api/interests", InterestsList(db), name="interests_list")
    router.add("/api/interests/{client_id:int}", InterestsDetail(db), name="interests_detail")
    router.add("/api/scores", ScoreList(db), name="scores_list")
    router.add("/api/scores/{client_id:int}", ScoreDetail(db), name="scores_detail")
    router.add("/api/openapi.json", OpenAPIEndpoint(
        router, title=API_TITLE, version=API_VERSION,
        description="Client interests and scores, served by OTUServer's tiny framework on SQLite."),
        name="openapi")
    return router
