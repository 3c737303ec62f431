"""A toy resource for the framework tests: a Model, its two generic services and an App on a
SQLite file of the test's own, plus `call` to send it a Request directly (no sockets)."""

import json

from otuserver.db import BooleanField, Engine, IntegerField, Model, RealField
from otuserver.http import Request
from otuserver.web import App, DetailAPIService, ListCreateAPIService, OpenAPIEndpoint, Router


class Gadget(Model):
    table = "gadget"
    gadget_id = IntegerField(primary_key=True, min_value=1)
    weight = RealField()
    shiny = BooleanField()


class GadgetList(ListCreateAPIService):
    model = Gadget


class GadgetDetail(DetailAPIService):
    model = Gadget


def build_app(db_path, **app_options) -> App:
    engine = Engine(db_path, models=[Gadget])
    router = Router()
    router.add("/gadgets", GadgetList(engine))
    router.add("/gadgets/{gadget_id:int}", GadgetDetail(engine))
    router.add("/openapi.json", OpenAPIEndpoint(router, title="gadgets", version="0"))
    return App(router, **app_options)


def call(app, method: str, target: str, body: object = None, content_type: str = "application/json"):
    """Call the app like the server would; `body` is JSON-encoded unless it is already bytes."""
    headers = [("Host", "test")]
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.append(("Content-Type", content_type))
    return app(Request(method, target, headers=headers, body=data))


def body_of(response) -> object:
    return json.loads(response.body)
