"""The scoring API through a real httpd.py: the CRUD walk, the errors, pagination and HEAD on the wire.

The server's database lives in a temporary folder that does not exist when it starts; its document
root holds one file, to show that static paths keep their own rules beside /api/.
"""

import socket
from pathlib import Path

import pytest
import requests

from .conftest import LIVE_MAX_BODY_BYTES, OTHER_BODY, RESOURCES, STORED, VALID_BODY


@pytest.mark.parametrize("resource", RESOURCES)
def test_full_crud_walk_over_http(live, resource):
    base = f"{live.base_url}/api/{resource}"
    created = requests.post(base, json=VALID_BODY[resource], timeout=5)
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    assert created.headers["Location"] == f"/api/{resource}/{client_id}"
    assert created.json() == {"client_id": client_id, **STORED[resource]}

    assert requests.get(f"{base}/{client_id}", timeout=5).json() == created.json()
    replaced = requests.put(f"{base}/{client_id}", json=OTHER_BODY[resource], timeout=5)
    assert replaced.status_code == 200
    assert requests.get(f"{base}/{client_id}", timeout=5).json() == replaced.json()

    assert requests.post(base, json={"client_id": client_id, **VALID_BODY[resource]}, timeout=5).status_code == 409
    assert requests.delete(f"{base}/{client_id}", timeout=5).status_code == 204
    assert requests.get(f"{base}/{client_id}", timeout=5).status_code == 404
    assert requests.delete(f"{base}/{client_id}", timeout=5).status_code == 404
    assert requests.put(f"{base}/{client_id}", json=OTHER_BODY[resource], timeout=5).status_code == 404


@pytest.mark.parametrize("kwargs, status, words", [
    ({"json": {"travel": True}}, 400, "is required"),
    ({"json": [1]}, 400, "JSON object"),
    ({"data": b"{oops", "headers": {"Content-Type": "application/json"}}, 400, "invalid JSON"),
    ({"data": b"travel=1"}, 415, "application/json"),
    ({"json": {"travel": True, "hitech": 1, "sport": True, "music": True}}, 400, "must be a boolean"),
])
def test_errors_over_http_are_json_naming_the_problem(live, kwargs, status, words):
    response = requests.post(f"{live.base_url}/api/interests", timeout=5, **kwargs)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert words in response.text


@pytest.mark.parametrize("path", ["/api/scores/1%0A", "/api/scores/1%0D%0A", "/api/scores%0A"])
def test_a_percent_encoded_line_end_after_a_route_is_404(live, path):
    # A regex anchored with `$` would let the decoded "\n" through and answer row 1.
    requests.post(f"{live.base_url}/api/scores", json={"client_id": 1, "score": 2.5}, timeout=5)
    response = requests.get(f"{live.base_url}{path}", timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"


def test_wrong_method_over_http_is_405_with_allow(live):
    response = requests.patch(f"{live.base_url}/api/scores/1", json={}, timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, HEAD, PUT"


def test_a_body_over_max_body_is_413(live):
    response = requests.post(f"{live.base_url}/api/scores", timeout=5,
                             data=b"[" + b"1," * LIVE_MAX_BODY_BYTES + b"1]",
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_pagination_over_http(fresh_live):
    base = f"{fresh_live.base_url}/api/scores"
    with requests.Session() as session:
        for i in range(7):
            assert session.post(base, json={"score": i}, timeout=5).status_code == 201
        page = session.get(base, params={"page": 2, "page_size": 3, "sort": "x"}, timeout=5).json()
        assert page["count"] == 7
        assert [r["client_id"] for r in page["results"]] == [4, 5, 6]
        assert page["next"] == "/api/scores?page=3&page_size=3&sort=x"
        assert page["previous"] == "/api/scores?page=1&page_size=3&sort=x"
        last = session.get(fresh_live.base_url + page["next"], timeout=5).json()
        assert last["next"] is None and [r["client_id"] for r in last["results"]] == [7]
        assert session.get(base, params={"page": 4, "page_size": 3}, timeout=5).status_code == 404
        assert session.get(base, params={"page_size": "lots"}, timeout=5).status_code == 400


def raw_exchange(srv, request: bytes) -> bytes:
    """Send raw bytes with Connection: close and read until the server closes."""
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def split_head(response: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


@pytest.mark.parametrize("path", ["/api/scores", "/api/openapi.json", "/api"])
def test_head_has_the_get_headers_and_no_body(live, path):
    get_lines, get_body = split_head(raw_exchange(
        live, f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()))
    head_lines, head_body = split_head(raw_exchange(
        live, f"HEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()))
    assert get_lines[0] == head_lines[0] == b"HTTP/1.1 200 OK"
    assert head_body == b"" and get_body != b""

    def fields_but_date(lines):
        # Date may tick over between the two requests; every other field must be identical.
        return sorted(line for line in lines[1:] if not line.lower().startswith(b"date:"))

    assert fields_but_date(get_lines) == fields_but_date(head_lines)


def test_openapi_document_is_served(live):
    response = requests.get(f"{live.base_url}/api/openapi.json", timeout=5)
    assert response.status_code == 200
    assert "/api/scores/{client_id}" in response.json()["paths"]


def test_static_paths_keep_their_rules_beside_the_api(live):
    assert requests.get(f"{live.base_url}/hello.txt", timeout=5).text == "hello\n"
    assert requests.post(f"{live.base_url}/hello.txt", json={}, timeout=5).status_code == 405
    assert requests.get(f"{live.base_url}/apiary", timeout=5).status_code == 404


def test_the_database_was_created_in_a_folder_that_did_not_exist(live):
    requests.get(f"{live.base_url}/api/scores", timeout=5)
    db_arg = live.args[live.args.index("--db") + 1]
    assert Path(db_arg).is_file()
