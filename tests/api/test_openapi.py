"""GET /api/openapi.json: an OpenAPI 3 document generated from the routes and models."""

import re

import pytest

from api.models import Interests, Score

from .conftest import json_of

TEN_ROUTES = {
    ("/api/interests", "get"), ("/api/interests", "post"),
    ("/api/interests/{client_id}", "get"), ("/api/interests/{client_id}", "put"),
    ("/api/interests/{client_id}", "delete"),
    ("/api/scores", "get"), ("/api/scores", "post"),
    ("/api/scores/{client_id}", "get"), ("/api/scores/{client_id}", "put"),
    ("/api/scores/{client_id}", "delete"),
}


@pytest.fixture
def document(client) -> dict:
    response = client("GET", "/api/openapi.json")
    assert response.status == 200
    assert response.header("Content-Type") == "application/json"
    return json_of(response)


def test_document_is_openapi_3_and_describes_all_ten_routes(document):
    assert document["openapi"].startswith("3.")
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert TEN_ROUTES <= operations


def test_detail_paths_declare_client_id_as_an_integer_path_parameter(document):
    for path in ("/api/interests/{client_id}", "/api/scores/{client_id}"):
        for operation in document["paths"][path].values():
            (param,) = [p for p in operation["parameters"] if p["in"] == "path"]
            assert param["name"] == "client_id" and param["required"] is True
            assert param["schema"]["type"] == "integer"


def test_client_id_path_parameter_has_the_key_fields_own_bounds_as_the_api_behaves(document, client):
    key = Score.fields["client_id"]
    for path in ("/api/interests/{client_id}", "/api/scores/{client_id}"):
        for operation in document["paths"][path].values():
            (param,) = [p for p in operation["parameters"] if p["in"] == "path"]
            assert (param["schema"]["minimum"], param["schema"]["maximum"]) == (key.min_value, key.max_value)
    # The bounds are the API's: below the minimum and past the maximum name nothing.
    assert client("GET", "/api/scores/0").status == 404
    assert client("GET", f"/api/scores/{key.max_value + 1}").status == 404


def test_schemas_come_from_the_models_fields(document):
    schemas = document["components"]["schemas"]
    assert set(schemas["Interests"]["properties"]) == set(Interests.fields)
    assert set(schemas["Score"]["properties"]) == set(Score.fields)
    assert schemas["Score"]["properties"]["score"]["type"] == "number"
    assert schemas["Interests"]["properties"]["music"]["type"] == "boolean"
    assert "client_id" not in schemas["ScoreInput"]["required"]


def test_every_reference_points_at_a_defined_schema(document):
    defined = set(document["components"]["schemas"])

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"].rsplit("/", 1)[-1]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    assert set(refs(document["paths"])) <= defined


def test_documented_statuses_match_the_behaviour_we_test(document):
    post = document["paths"]["/api/scores"]["post"]["responses"]
    assert {"201", "400", "409", "413", "415", "503"} <= set(post)
    assert {"204", "404"} <= set(document["paths"]["/api/interests/{client_id}"]["delete"]["responses"])


def _admits(schema: dict, value: str) -> bool:
    """Does this (string) schema admit `value`? Enough of JSON Schema for the booleans' strings."""
    if "enum" in schema:
        return value in schema["enum"]
    return re.search(schema["pattern"], value) is not None  # ECMA-262 patterns are unanchored


@pytest.mark.parametrize("value, accepted", [("true", True), ("false", True), ("TRUE", True), ("False", True),
                                             ("yes", False), ("tru", False), ("truex", False), ("1", False)])
def test_the_input_schema_admits_exactly_the_boolean_strings_the_api_accepts(document, client, value, accepted):
    schema = document["components"]["schemas"]["InterestsInput"]["properties"]["travel"]
    [as_string] = [s for s in schema["oneOf"] if s["type"] == "string"]
    assert _admits(as_string, value) is accepted
    body = {"travel": value, "hitech": False, "sport": False, "music": False}
    assert client("POST", "/api/interests", body).status == (201 if accepted else 400)


def test_page_size_is_documented_as_clamped_not_bounded_as_the_api_behaves(document, client):
    (param,) = [p for p in document["paths"]["/api/scores"]["get"]["parameters"] if p["name"] == "page_size"]
    assert "maximum" not in param["schema"]      # a schema maximum would tell clients 101 is refused
    assert "clamped to 100" in param["description"]
    response = client("GET", "/api/scores?page_size=101")
    assert response.status == 200


def test_summaries_read_as_english_for_a_model_named_in_the_plural(document):
    post = document["paths"]["/api/interests"]["post"]
    assert post["summary"].startswith("Create one Interests;")
    assert post["responses"]["409"]["description"] == "one Interests with this client_id exists already"
