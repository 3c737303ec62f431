"""The scoring API's ten operations (five per resource) called directly: the CRUD walk and every error."""

import sqlite3

import pytest

from api import create_app

from .conftest import OTHER_BODY, RESOURCES, STORED, VALID_BODY, DirectClient, json_of


@pytest.mark.parametrize("resource", RESOURCES)
def test_full_crud_walk(client, resource):
    created = client("POST", f"/api/{resource}", VALID_BODY[resource])
    assert created.status == 201
    assert created.header("Location") == f"/api/{resource}/1"
    assert json_of(created) == {"client_id": 1, **STORED[resource]}

    assert json_of(client("GET", f"/api/{resource}/1")) == {"client_id": 1, **STORED[resource]}
    listed = json_of(client("GET", f"/api/{resource}"))
    assert listed == {"count": 1, "next": None, "previous": None,
                      "results": [{"client_id": 1, **STORED[resource]}]}

    replaced = client("PUT", f"/api/{resource}/1", OTHER_BODY[resource])
    assert replaced.status == 200
    assert json_of(client("GET", f"/api/{resource}/1")) == json_of(replaced)

    deleted = client("DELETE", f"/api/{resource}/1")
    assert (deleted.status, deleted.body) == (204, b"")
    assert client("GET", f"/api/{resource}/1").status == 404


@pytest.mark.parametrize("resource", RESOURCES)
def test_get_answers_the_same_bytes_and_head_as_the_created_object(client, resource):
    created = client("POST", f"/api/{resource}", {"client_id": 3, **VALID_BODY[resource]})
    got = client("GET", f"/api/{resource}/3")
    assert (got.status, got.headers, got.body) == (200, created.headers[:1], created.body)
    assert got.wire_head() == b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(
        created.body)


@pytest.mark.parametrize("resource", RESOURCES)
def test_post_with_a_client_id_uses_it_and_the_next_free_one_follows(client, resource):
    assert client("POST", f"/api/{resource}", {"client_id": 41, **VALID_BODY[resource]}).status == 201
    following = client("POST", f"/api/{resource}", VALID_BODY[resource])
    assert json_of(following)["client_id"] == 42


@pytest.mark.parametrize("resource", RESOURCES)
def test_post_of_an_existing_client_id_is_409(client, resource):
    client("POST", f"/api/{resource}", {"client_id": 3, **VALID_BODY[resource]})
    response = client("POST", f"/api/{resource}", {"client_id": 3, **OTHER_BODY[resource]})
    assert response.status == 409
    assert "already exists" in json_of(response)["error"]


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_missing_client_id_is_404(client, resource, method):
    body = VALID_BODY[resource] if method == "PUT" else None
    response = client(method, f"/api/{resource}/77", body)
    assert response.status == 404
    assert json_of(response) == {"error": f"no {'Interests' if resource == 'interests' else 'Score'} "
                                          "with client_id 77"}


@pytest.mark.parametrize("resource", RESOURCES)
def test_put_with_a_different_client_id_in_the_body_is_400(client, resource):
    client("POST", f"/api/{resource}", {"client_id": 1, **VALID_BODY[resource]})
    response = client("PUT", f"/api/{resource}/1", {"client_id": 2, **VALID_BODY[resource]})
    assert response.status == 400
    assert "client_id" in json_of(response)["fields"]


@pytest.mark.parametrize("field, value", [("music", 1), ("music", "yes"), ("music", None), ("travel", [])])
def test_interests_refuse_non_booleans_naming_the_field(client, field, value):
    body = {**VALID_BODY["interests"], field: value}
    response = client("POST", "/api/interests", body)
    assert response.status == 400
    assert json_of(response)["fields"] == {field: "must be a boolean"}


@pytest.mark.parametrize("raw", [b'{"score": NaN}', b'{"score": Infinity}', b'{"score": 1e999}',
                                 b'{"score": "3.5"}', b'{"score": true}', b'{"score": null}'])
def test_scores_refuse_anything_but_a_finite_number(client, raw):
    response = client("POST", "/api/scores", raw)
    assert response.status == 400
    assert "score" in json_of(response).get("fields", {}) or "invalid JSON" in json_of(response)["error"]


def test_integer_score_is_stored_as_a_real(client):
    assert json_of(client("POST", "/api/scores", {"score": 3}))["score"] == 3.0


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("body, problem", [
    ({}, "is required"),
    ({"nonsense": 1}, "unknown field"),
])
def test_missing_and_unknown_fields_are_400_with_fields(client, resource, body, problem):
    response = client("POST", f"/api/{resource}", {**VALID_BODY[resource], **body} if body else body)
    assert response.status == 400
    payload = json_of(response)
    assert set(payload) == {"error", "fields"}
    assert problem in payload["fields"].values()


def test_an_unknown_field_named_by_a_lone_surrogate_is_400_json_not_500(client):
    response = client("POST", "/api/scores", rb'{"score": 1, "\ud800": 1}')
    assert response.status == 400
    assert "surrogate" in json_of(response)["error"]


def test_a_body_nested_too_deeply_is_400_json_not_500(client):
    response = client("POST", "/api/scores", b"[" * 4000)  # within the live servers' 4096-byte limit
    assert response.status == 400
    assert "nested too deeply" in json_of(response)["error"]


def test_a_field_sent_twice_is_400_not_silently_the_last_value(client):
    response = client("POST", "/api/scores", b'{"score": 1, "score": 2}')
    assert response.status == 400
    assert "duplicate name 'score'" in json_of(response)["error"]
    assert json_of(client("GET", "/api/scores"))["count"] == 0


@pytest.mark.parametrize("raw, words", [(b"[1, 2]", "JSON object"), (b'"text"', "JSON object"),
                                        (b"{not json", "invalid JSON"), (b"", "empty")])
def test_a_body_that_is_not_a_json_object_is_400(client, raw, words):
    response = client("POST", "/api/scores", raw)
    assert response.status == 400
    assert words in json_of(response)["error"]


@pytest.mark.parametrize("method, path", [("POST", "/api/scores"), ("PUT", "/api/interests/1")])
def test_a_body_that_is_not_application_json_is_415(client, method, path):
    response = client(method, path, b"score=1", content_type="application/x-www-form-urlencoded")
    assert response.status == 415


def test_a_body_over_the_limit_is_413(client):
    response = client("POST", "/api/scores", {"score": 1, "pad": "x" * 5000})
    assert response.status == 413


@pytest.mark.parametrize("method, path, allow", [
    ("DELETE", "/api/scores", "GET, HEAD, POST"),
    ("POST", "/api/interests/1", "DELETE, GET, HEAD, PUT"),
    ("PUT", "/api/openapi.json", "GET, HEAD"),
])
def test_wrong_method_is_405_with_allow(client, method, path, allow):
    response = client(method, path)
    assert response.status == 405
    assert response.header("Allow") == allow


@pytest.mark.parametrize("path", ["/api/nothing", "/api/scores/abc", "/api/scores/1/2", "/api/score"])
def test_unknown_api_paths_are_404_json(client, path):
    response = client("GET", path)
    assert response.status == 404
    assert "error" in json_of(response)


def test_a_client_id_too_big_for_sqlite_is_404_not_500(client):
    assert client("GET", f"/api/scores/{2 ** 64}").status == 404


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_client_id_too_long_to_be_a_number_is_404_not_500(client, method):
    response = client(method, "/api/scores/" + "9" * 5000, {"score": 1} if method == "PUT" else None)
    assert response.status == 404
    assert "error" in json_of(response)


def test_pagination_over_the_api(client):
    for i in range(25):
        client("POST", "/api/scores", {"score": i})
    page2 = json_of(client("GET", "/api/scores?page=2&page_size=10"))
    assert page2["count"] == 25
    assert [row["client_id"] for row in page2["results"]] == list(range(11, 21))
    assert page2["next"] == "/api/scores?page=3&page_size=10"
    assert page2["previous"] == "/api/scores?page=1&page_size=10"
    assert len(json_of(client("GET", "/api/scores"))["results"]) == 20
    assert client("GET", "/api/scores?page=4&page_size=10").status == 404
    assert client("GET", "/api/scores?page=two").status == 400


def test_the_database_file_folder_and_tables_are_made_when_the_app_is_created(tmp_path):
    db_path = tmp_path / "new" / "folder" / "scores.sqlite3"
    create_app(str(db_path))
    with sqlite3.connect(db_path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"score", "interests"} <= tables


@pytest.mark.parametrize("make", [
    pytest.param(lambda path: path.write_text("not a database, but a text file longer than a header" * 10),
                 id="a-text-file"),
    pytest.param(lambda path: path.mkdir(), id="a-directory"),
])
def test_a_database_path_that_cannot_be_used_fails_when_the_app_is_created_not_per_request(tmp_path, make):
    # Before, the server started and every API request answered 500; httpd.py now reports it at start.
    db_path = tmp_path / "scores.sqlite3"
    make(db_path)
    with pytest.raises(sqlite3.Error):
        create_app(str(db_path))


@pytest.mark.parametrize("path", ["/api", "/api/"])
def test_api_root_lists_the_resources(client, path):
    assert json_of(client("GET", path)) == {
        "interests": "/api/interests", "scores": "/api/scores", "openapi": "/api/openapi.json"}


def test_a_write_blocked_past_the_busy_timeout_is_503_with_retry_after_and_stores_nothing(db_path):
    client = DirectClient(create_app(str(db_path), busy_timeout_s=0.1))
    assert client("GET", "/api/scores").status == 200  # creates the file and tables
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another worker holding the write lock
    try:
        response = client("POST", "/api/scores", {"client_id": 5, "score": 1})
        assert response.status == 503
        assert response.header("Retry-After") == "1"
        assert "busy" in json_of(response)["error"]
        assert client("GET", "/api/scores").status == 200  # WAL: reading still works meanwhile
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert client("GET", "/api/scores/5").status == 404
    assert client("POST", "/api/scores", {"client_id": 5, "score": 1}).status == 201
