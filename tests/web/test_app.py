"""The App and the generic services, called directly with a Request over a toy model."""

import logging

from otuserver.http import BadRequest, Request
from otuserver.web import APIService, App, JSONResponse, Router

from .gadgets import body_of, build_app, call


def test_post_creates_with_201_location_and_the_stored_object(app):
    response = call(app, "POST", "/gadgets", {"weight": 2, "shiny": "true"})
    assert response.status == 201
    assert response.header("Location") == "/gadgets/1"
    assert response.header("Content-Type") == "application/json"
    assert body_of(response) == {"gadget_id": 1, "weight": 2.0, "shiny": True}
    assert body_of(call(app, "GET", "/gadgets/1")) == body_of(response)


def test_list_pages_through_the_collection_in_key_order(app):
    for weight in range(5):
        call(app, "POST", "/gadgets", {"weight": weight, "shiny": False})
    first = body_of(call(app, "GET", "/gadgets?page_size=2&tag=x"))
    assert first["count"] == 5
    assert [g["gadget_id"] for g in first["results"]] == [1, 2]
    assert first["next"] == "/gadgets?page_size=2&tag=x&page=2"
    last = body_of(call(app, "GET", "/gadgets?page_size=2&page=3"))
    assert [g["gadget_id"] for g in last["results"]] == [5]
    assert last["next"] is None
    assert call(app, "GET", "/gadgets?page_size=2&page=4").status == 404


def test_put_replaces_and_delete_removes(app):
    call(app, "POST", "/gadgets", {"gadget_id": 9, "weight": 1, "shiny": True})
    replaced = call(app, "PUT", "/gadgets/9", {"weight": 5.5, "shiny": False})
    assert (replaced.status, body_of(replaced)) == (200, {"gadget_id": 9, "weight": 5.5, "shiny": False})
    deleted = call(app, "DELETE", "/gadgets/9")
    assert (deleted.status, deleted.body) == (204, b"")
    assert call(app, "GET", "/gadgets/9").status == 404


def test_validation_error_is_400_with_every_bad_field_named(app):
    response = call(app, "POST", "/gadgets", {"weight": "heavy", "colour": "red"})
    assert response.status == 400
    assert body_of(response)["fields"] == {
        "colour": "unknown field", "weight": "must be a finite number", "shiny": "is required"}


def test_head_answers_with_the_get_response_for_the_server_to_strip(app):
    call(app, "POST", "/gadgets", {"weight": 1, "shiny": True})
    get, head = call(app, "GET", "/gadgets/1"), call(app, "HEAD", "/gadgets/1")
    assert (head.status, head.headers, head.body) == (get.status, get.headers, get.body)


def test_405_is_json_and_carries_allow(app):
    response = call(app, "PATCH", "/gadgets/1", {})
    assert response.status == 405
    assert response.header("Allow") == "DELETE, GET, HEAD, PUT"
    assert "error" in body_of(response)


def test_unknown_path_is_a_404_json_body(app):
    response = call(app, "GET", "/nothing/here")
    assert response.status == 404
    assert body_of(response) == {"error": "no route for /nothing/here"}


def test_body_over_the_apps_limit_is_413(tmp_path):
    app = build_app(tmp_path / "g.sqlite3", max_body_bytes=10)
    response = call(app, "POST", "/gadgets", {"weight": 1, "shiny": True})
    assert response.status == 413


def failing_app(exc: Exception) -> App:
    router = Router()

    def boom(request):
        raise exc

    router.add("/boom", boom, methods=["GET"])
    router.add("/fine", lambda request: JSONResponse({"ok": True}), methods=["GET"])
    return App(router)


def test_unexpected_exception_is_500_json_with_the_traceback_only_in_the_log(caplog):
    app = failing_app(KeyError("secret-internal-detail"))
    with caplog.at_level(logging.ERROR, logger="otuserver.web"):
        response = app(Request("GET", "/boom"))
    assert response.status == 500
    assert body_of(response) == {"error": "internal server error"}
    assert b"secret" not in response.body
    assert "secret-internal-detail" in caplog.text and "Traceback" in caplog.text


def test_app_keeps_serving_after_an_unexpected_exception():
    app = failing_app(RuntimeError("boom"))
    assert app(Request("GET", "/boom")).status == 500
    assert app(Request("GET", "/fine")).status == 200


def test_http_error_raised_in_a_handler_renders_as_json_with_its_status():
    response = failing_app(BadRequest("no good"))(Request("GET", "/boom"))
    assert (response.status, body_of(response)) == (400, {"error": "no good"})


def test_a_service_dispatches_each_verb_to_its_method_and_head_to_get():
    class Echo(APIService):
        def get(self, request):
            return JSONResponse("get")

        def options(self, request):  # not in VERBS: reachable only with explicit methods=
            return JSONResponse("options")

    router = Router()
    router.add("/echo", Echo(), methods=["GET", "OPTIONS"])
    app = App(router)
    assert [body_of(app(Request(verb, "/echo"))) for verb in ("GET", "HEAD", "OPTIONS")] == [
        "get", "get", "options"]


def test_openapi_document_is_built_from_the_routes_and_the_model(app):
    document = body_of(call(app, "GET", "/openapi.json"))
    assert set(document["paths"]) == {"/gadgets", "/gadgets/{gadget_id}", "/openapi.json"}
    assert set(document["paths"]["/gadgets/{gadget_id}"]) == {"get", "put", "delete"}
    assert document["components"]["schemas"]["Gadget"]["required"] == ["gadget_id", "weight", "shiny"]
    assert document["components"]["schemas"]["GadgetInput"]["required"] == ["weight", "shiny"]


def test_openapi_describes_a_path_parameter_naming_the_key_by_the_key_field_once(app):
    document = body_of(call(app, "GET", "/openapi.json"))
    for operation in document["paths"]["/gadgets/{gadget_id}"].values():
        params = [(p["name"], p["in"]) for p in operation["parameters"]]
        assert params == [("gadget_id", "path")]    # OpenAPI 3.0.3: unique by name and location
        (param,) = operation["parameters"]
        assert param["required"] is True
        assert param["schema"]["type"] == "integer" and param["schema"]["minimum"] == 1
        assert param["schema"]["maximum"] == (1 << 63) - 1


def test_a_service_with_its_own_call_is_called_itself_and_not_bypassed():
    class Guarded(APIService):
        def __call__(self, request):
            return JSONResponse("guarded")

        def get(self, request):
            return JSONResponse("get")

    router = Router()
    router.add("/guarded", Guarded())
    assert body_of(App(router)(Request("GET", "/guarded"))) == "guarded"


def test_a_verb_routed_to_a_service_without_its_method_is_a_500():
    class OnlyGet(APIService):
        def get(self, request):
            return JSONResponse("get")

    router = Router()
    router.add("/only-get", OnlyGet(), methods=["GET", "PATCH"])
    app = App(router)
    assert app(Request("PATCH", "/only-get")).status == 500
    assert body_of(app(Request("HEAD", "/only-get"))) == "get"


def shelf_app(db_path) -> App:
    """Gadgets under a collection path with a parameter, as a nested resource would be."""
    from otuserver.db import Engine
    from .gadgets import Gadget, GadgetList
    router = Router()
    router.add("/shelves/{shelf}/gadgets", GadgetList(Engine(db_path, models=[Gadget])))
    return App(router)


def test_location_and_page_links_keep_the_path_percent_encoded_as_it_arrived(tmp_path):
    # The decoded path may hold a space, a non-Latin letter or CR LF (%0D%0A): none may go
    # into a header or a link as is; the path as the client sent it is a URI already.
    app = shelf_app(tmp_path / "shelf.sqlite3")
    shelf = "/shelves/a%20%D0%B6%0D%0A/gadgets"
    created = call(app, "POST", shelf, {"weight": 1, "shiny": True})
    assert created.status == 201
    assert created.header("Location") == shelf + "/1"
    assert b"\r\nLocation: " + shelf.encode() + b"/1\r\n" in created.wire_head()
    call(app, "POST", shelf, {"weight": 2, "shiny": True})
    page = body_of(call(app, "GET", shelf + "?page_size=1"))
    assert page["next"] == shelf + "?page_size=1&page=2"
