"""Routing: templates with typed parameters, and the three answers a match can give (404, 405, found)."""

import pytest

from otuserver.web import APIService, MethodNotAllowed, NotFound, Router, compile_path
from otuserver.web.routing import openapi_path


def endpoint(request):
    return None


def test_int_parameter_is_converted_to_an_int():
    router = Router()
    router.add("/api/scores/{client_id:int}", endpoint, methods=["GET"])
    _, params = router.resolve("GET", "/api/scores/42")
    assert params == {"client_id": 42}


def test_untyped_parameter_is_one_path_segment_of_text():
    regex, converters = compile_path("/files/{name}")
    assert regex.match("/files/a.txt")["name"] == "a.txt"
    assert regex.match("/files/a/b") is None
    assert converters == {"name": str}


@pytest.mark.parametrize("path", ["/api/scores/abc", "/api/scores/-1", "/api/scores/", "/api/scores/1/x",
                                  "/api/scores/1.5", "/api/scoresX", "/other",
                                  "/api/scores/1\n", "/api/scores\n"])
def test_paths_that_do_not_fit_any_template_are_404(path):
    router = Router()
    router.add("/api/scores", endpoint, methods=["GET"])
    router.add("/api/scores/{client_id:int}", endpoint, methods=["GET"])
    with pytest.raises(NotFound):
        router.resolve("GET", path)


def test_wrong_method_is_405_listing_every_method_of_that_path():
    router = Router()
    router.add("/api/scores/{client_id:int}", endpoint, methods=["GET", "DELETE"])
    router.add("/api/scores/{client_id:int}", endpoint, methods=["PUT"])
    with pytest.raises(MethodNotAllowed) as caught:
        router.resolve("POST", "/api/scores/1")
    assert caught.value.status == 405
    assert dict(caught.value.headers)["Allow"] == "DELETE, GET, HEAD, PUT"


def test_head_is_allowed_wherever_get_is():
    router = Router()
    route = router.add("/api/ping", endpoint, methods=["GET"])
    assert router.resolve("HEAD", "/api/ping")[0] is route


def test_head_is_not_allowed_without_get():
    router = Router()
    router.add("/api/items", endpoint, methods=["POST"])
    with pytest.raises(MethodNotAllowed):
        router.resolve("HEAD", "/api/items")


def test_a_static_template_wins_over_an_earlier_parameterised_one():
    router = Router()
    router.add("/api/{name}", endpoint, methods=["GET"], name="any")
    static = router.add("/api/openapi.json", endpoint, methods=["GET"], name="doc")
    assert router.resolve("GET", "/api/openapi.json")[0] is static


def test_methods_default_to_the_endpoints_allowed_methods():
    class Service:
        allowed_methods = frozenset({"GET", "POST"})

        def __call__(self, request):
            return None

    route = Router().add("/x", Service())
    assert route.methods == {"GET", "HEAD", "POST"}


def test_an_endpoint_that_names_no_methods_is_refused_at_registration():
    with pytest.raises(ValueError):
        Router().add("/x", endpoint)


def test_unknown_parameter_type_is_refused_at_registration():
    with pytest.raises(ValueError, match="unknown parameter type"):
        compile_path("/x/{id:uuid}")


def test_regex_characters_in_a_template_are_literal():
    regex, _ = compile_path("/api/openapi.json")
    assert regex.match("/api/openapi.json")
    assert not regex.match("/api/openapiXjson")


def test_openapi_path_drops_the_types():
    assert openapi_path("/api/interests/{client_id:int}") == "/api/interests/{client_id}"


def test_405_lists_the_methods_of_static_and_parameterised_templates_that_fit():
    router = Router()
    router.add("/api/openapi.json", endpoint, methods=["GET"])
    post = router.add("/api/{name}", endpoint, methods=["POST"])
    assert router.resolve("POST", "/api/openapi.json")[0] is post
    with pytest.raises(MethodNotAllowed) as caught:
        router.resolve("DELETE", "/api/openapi.json")
    assert dict(caught.value.headers)["Allow"] == "GET, HEAD, POST"


def test_a_route_calls_a_plain_function_endpoint_for_every_method():
    route = Router().add("/x", endpoint, methods=["GET", "POST"])
    assert route.handlers == {"GET": endpoint, "HEAD": endpoint, "POST": endpoint}


def test_a_route_to_a_service_calls_its_verb_method_directly_and_head_calls_get():
    class Service(APIService):
        def get(self, request):
            return None

        def delete(self, request):
            return None

    service = Service()
    route = Router().add("/x", service)
    assert route.handlers == {"GET": service.get, "HEAD": service.get, "DELETE": service.delete}


def test_the_first_route_that_fits_path_and_method_wins_even_after_one_that_fits_the_path_only():
    router = Router()
    router.add("/api/{name}", endpoint, methods=["POST"])
    second = router.add("/api/{name}", endpoint, methods=["GET"])
    assert router.resolve("GET", "/api/x") == (second, {"name": "x"})


@pytest.mark.parametrize("path, template, params", [
    ("/api/a", "/api/{name}", {"name": "a"}),
    ("/api/a/x", "/api/{name}/x", {"name": "a"}),          # the first template fits a prefix only
    ("/api/7/x", "/api/{name}/x", {"name": "7"}),          # order wins over a more specific type
    ("/api/7/8", "/api/{number:int}/{other:int}", {"number": 7, "other": 8}),
])
def test_the_first_parameterised_template_in_order_that_fits_the_whole_path_wins(path, template, params):
    router = Router()
    for each in ("/api/{name}", "/api/{name}/x", "/api/{number:int}/x", "/api/{number:int}/{other:int}"):
        router.add(each, endpoint, methods=["GET"])
    route, found = router.resolve("GET", path)
    assert (route.template, found) == (template, params)


def test_a_route_added_later_is_found_too():
    router = Router()
    router.add("/a/{x:int}", endpoint, methods=["GET"])
    later = router.add("/b/{x:int}", endpoint, methods=["GET"])
    assert router.resolve("GET", "/b/3") == (later, {"x": 3})
    with pytest.raises(NotFound):
        router.resolve("GET", "/c/3")


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_an_int_parameter_too_long_to_convert_is_404_not_a_crash(method):
    # int() refuses more than 4300 digits (sys.get_int_max_str_digits); no key is that long.
    router = Router()
    router.add("/api/scores/{client_id:int}", endpoint, methods=["GET"])
    with pytest.raises(NotFound):
        router.resolve(method, "/api/scores/" + "9" * 5000)


def test_a_converter_that_refuses_its_text_lets_a_later_route_answer():
    router = Router()
    router.add("/n/{x:int}", endpoint, methods=["GET"])
    router.add("/n/{x}", endpoint, methods=["GET"], name="text")
    route, params = router.resolve("GET", "/n/" + "9" * 5000)
    assert route.name == "text" and params == {"x": "9" * 5000}
