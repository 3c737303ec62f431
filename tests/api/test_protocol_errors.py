"""Protocol errors on API targets speak the API's JSON; everywhere else they stay plain text.

The parser refuses a request before any application sees it (413, 400, 417, 431), or the
connection's read timer does (408, a body that stops arriving); the connection then asks
the application's `error_response(error, target)` hook, which httpd.py gives the /api/
targets. Over raw sockets against a real httpd.py with --max-body 100: the
status, `Connection: close`, the set of header fields and the access log line are those of the
plain-text answer, only the Content-Type and body change. An error before the request target
is known (a garbage or too-long request line) stays text/plain. Below the wire: the parser names
the failed target in every chunking, and a hook that fails falls back to text without harm.
"""

import json
import logging
import socket

import pytest

from otuserver.http import Limits, Request, Response
from otuserver.runner import start_server
from otuserver.server.config import ServerConfig
from otuserver.server.connection import Connection as ServerConnection
from otuserver.server.worker import Worker
from tests.conftest import wait_for
from tests.http.parser_feeding import chunkings, feed
from tests.server.rawhttp import Connection, build_request

from .conftest import make_site, start_api_server

MAX_BODY_BYTES = 100
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
JSON_HEADERS = {"Content-Type": JSON}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """One worker, so that every access log line of a test lands in the same log."""
    srv = start_api_server(tmp_path_factory.mktemp("api-protocol-errors"), workers=1,
                           max_body=MAX_BODY_BYTES)
    yield srv
    srv.stop()


def exchange(srv, raw: bytes):
    """Send `raw`, read the one response, and check that the server closes the connection."""
    with Connection(srv) as conn:
        conn.send(raw)
        response = conn.read_response()
        assert response.header("Connection") == "close"
        assert conn.closed_by_server(within=3.0)
    return response


def assert_json_error(response, status: int) -> dict:
    assert response.status == status, response.body
    assert response.header("Content-Type") == JSON
    payload = json.loads(response.body)
    assert isinstance(payload.get("error"), str) and payload["error"]
    return payload


def assert_text_error(response, status: int) -> None:
    assert response.status == status, response.body
    assert response.header("Content-Type") == TEXT
    assert response.body.startswith(f"{status} ".encode())


def oversized_post(target: str) -> bytes:
    return build_request("POST", target, headers={**JSON_HEADERS, "Content-Length": str(MAX_BODY_BYTES + 1)},
                         body=b"1" * (MAX_BODY_BYTES + 1))


def chunked_post(target: str, body: bytes) -> bytes:
    return build_request("POST", target, headers={**JSON_HEADERS, "Transfer-Encoding": "chunked"}, body=body)


# -- over the wire ------------------------------------------------------------------------------------

def test_oversized_post_to_the_api_gets_413_as_json_and_close(small):
    response = exchange(small, oversized_post("/api/scores"))
    payload = assert_json_error(response, 413)
    assert str(MAX_BODY_BYTES) in payload["error"]
    # The access log line is the one a refused request always gets: no request, the status, the body size.
    line = f'"-" 413 {len(response.body)} "-" "-"'
    assert wait_for(lambda: line in small.log(), within=3.0), small.log()[-2000:]


def test_oversized_post_to_a_static_path_stays_413_plain_text(small):
    assert_text_error(exchange(small, oversized_post("/hello.txt")), 413)


def test_json_and_text_answers_carry_the_same_fields(small):
    api = exchange(small, oversized_post("/api/scores"))
    static = exchange(small, oversized_post("/hello.txt"))
    assert [name for name, _ in api.headers] == [name for name, _ in static.headers]
    assert int(api.header("Content-Length")) == len(api.body)


@pytest.mark.parametrize("raw, status", [
    pytest.param(chunked_post("/api/scores", b"zz\r\n{}\r\n0\r\n\r\n"), 400, id="bad_chunk_size_line"),
    pytest.param(chunked_post("/api/scores", b"2\r\n{}XX0\r\n\r\n"), 400, id="chunk_data_without_crlf"),
    pytest.param(chunked_post("/api/scores", b"%x\r\n" % (MAX_BODY_BYTES + 1) + b"1" * (MAX_BODY_BYTES + 1)),
                 413, id="chunked_body_over_the_limit"),
    pytest.param(build_request("GET", "/api/scores", headers={"Bad Name": "x"}), 400, id="invalid_field_name"),
    pytest.param(build_request("GET", "/api/scores", headers={"X-A": "a\x01b"}), 400, id="control_in_value"),
    pytest.param(build_request("GET", "/api/scores", headers=[(f"X-{i}", "v") for i in range(101)]),
                 431, id="too_many_fields"),
    pytest.param(build_request("POST", "/api/scores", headers={**JSON_HEADERS, "Content-Length": "2",
                                                               "Expect": "200-ok"}, body=b"{}"),
                 417, id="expectation_other_than_100_continue"),
    pytest.param(build_request("POST", "/api/scores", headers={"Content-Length": "2, 3"}, body=b"{}"),
                 400, id="conflicting_content_length"),
    pytest.param(build_request("GET", "/api/scores?page=2", host="bad host"), 400, id="invalid_host_with_query"),
    pytest.param(build_request("GET", "/api/%zz"), 400, id="undecodable_api_path"),
    pytest.param(build_request("GET", "/%61pi/scores", headers={"X-A": "a\x01b"}), 400,
                 id="percent_encoded_api_prefix"),
    pytest.param(oversized_post("/api"), 413, id="the_api_root_itself"),
])
def test_protocol_errors_on_api_targets_are_json(small, raw, status):
    assert_json_error(exchange(small, raw), status)


@pytest.mark.parametrize("raw, status", [
    pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400, id="garbage_request_line"),
    pytest.param(b"GET /api/scores\r\nHost: a\r\n\r\n", 400, id="request_line_without_version"),
    pytest.param(build_request("GET", "/api/" + "a" * 100_000), 414, id="too_long_request_line"),
    pytest.param(build_request("GET", "/api/scores", version="HTTP/2.0"), 505, id="unsupported_version"),
    pytest.param(build_request("GET", "/apiary", headers={"Bad Name": "x"}), 400, id="static_path_like_the_api"),
    pytest.param(chunked_post("/hello.txt", b"zz\r\n\r\n"), 400, id="bad_chunked_body_to_a_static_path"),
])
def test_protocol_errors_without_a_known_api_target_stay_plain_text(small, raw, status):
    assert_text_error(exchange(small, raw), status)


def test_a_body_that_stops_arriving_at_the_api_gets_408_as_json(tmp_path):
    with start_server(root=make_site(tmp_path), workers=1, log_dir=tmp_path,
                      extra_args=["--request-timeout", "1"]) as srv:
        head = build_request("POST", "/api/scores", headers={**JSON_HEADERS, "Content-Length": "50"})
        assert_json_error(exchange(srv, head + b'{"score": 1'), 408)


# -- below the wire -----------------------------------------------------------------------------------

SMALL = Limits(max_body_bytes=MAX_BODY_BYTES, max_header_fields=4)


@pytest.mark.parametrize("raw, status, target", [
    pytest.param(oversized_post("/api/scores?x=1"), 413, "/api/scores?x=1", id="content_length_over_the_limit"),
    pytest.param(build_request("GET", "/api/a", headers={"Bad Name": "x"}), 400, "/api/a", id="invalid_field"),
    pytest.param(build_request("GET", "/api/b", headers=[(f"X-{i}", "v") for i in range(5)]), 431, "/api/b",
                 id="too_many_fields"),
    pytest.param(build_request("GET", "/api/c", headers={"Expect": "200-ok"}), 417, "/api/c", id="expectation"),
    pytest.param(build_request("GET", "/api/d", host="bad host"), 400, "/api/d", id="invalid_host"),
    pytest.param(chunked_post("/api/e", b"2\r\n{}XX"), 400, "/api/e", id="bad_chunked_framing"),
    pytest.param(build_request("GET", "/api/f") + b"garbage\r\n\r\n", 400, None,
                 id="garbage_after_a_good_request"),
    pytest.param(b"GARBAGE\r\n\r\n", 400, None, id="garbage_request_line"),
    pytest.param(build_request("GET", "/api/" + "a" * 9000), 414, None, id="too_long_request_line"),
])
def test_the_parser_names_the_failed_target_in_every_chunking(raw, status, target):
    for label, pieces in chunkings(raw):
        outcome = feed(pieces, SMALL)
        assert outcome.status == status, label
        assert outcome.parser.target == target, label


def test_a_parsed_request_leaves_no_target_behind():
    outcome = feed([build_request("GET", "/api/a") + b"GET /api/b HTTP/1.1\r\n"])
    assert [r.target for r in outcome.requests] == ["/api/a"]
    assert outcome.parser.target == "/api/b"  # the next head is under way (a 408 would name it)
    assert feed([build_request("GET", "/api/a")]).parser.target is None


def plain_app(request: Request) -> Response:
    return Response(200, [("Content-Type", TEXT)], b"ok\n")


def app_with_hook(hook):
    """An application offering `hook` as its error_response, as httpd.build_app's does."""
    def app(request: Request) -> Response:
        return plain_app(request)
    app.error_response = hook
    return app


@pytest.fixture
def worker():
    """A real Worker, not booted (no signals, no heartbeat), with a 100-byte body limit."""
    listener = socket.create_server(("127.0.0.1", 0))
    config = ServerConfig(workers=1, access_log="off", limits=Limits(max_body_bytes=MAX_BODY_BYTES))
    yield Worker(listener, plain_app, config, master_pid=0)
    listener.close()


def answer(worker, raw: bytes) -> bytes:
    """What one Connection of `worker` sends back for `raw`, over a socketpair."""
    ours, client = socket.socketpair()
    ours.setblocking(False)
    client.settimeout(5)
    conn = ServerConnection(ours, "127.0.0.1", worker)
    try:
        client.sendall(raw)
        conn.on_event(0)
        return client.recv(65536)
    finally:
        client.close()
        conn.close()


def raising_hook(error, target):
    raise RuntimeError("the hook is broken")


@pytest.mark.parametrize("hook, logged", [
    pytest.param(raising_hook, True, id="raises"),
    pytest.param(lambda error, target: Response(500, [("Content-Type", JSON)], b"{}"), True, id="other_status"),
    pytest.param(lambda error, target: Response(error.status, [("Bad Name", "x")], b"{}"), True,
                 id="unsendable_head"),
    pytest.param(lambda error, target: None, False, id="declines"),
])
def test_a_hook_that_fails_or_declines_falls_back_to_text(worker, caplog, hook, logged):
    worker.app = app_with_hook(hook)
    with caplog.at_level(logging.ERROR, logger="otuserver.connection"):
        data = answer(worker, oversized_post("/api/scores"))
    assert data.startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert f"\r\nContent-Type: {TEXT}\r\n".encode() in data and b"\r\nConnection: close\r\n" in data
    assert bool(caplog.records) == logged
    # The worker goes on: its next connection is answered as usual.
    assert answer(worker, build_request("GET", "/")).startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_hook_is_asked_only_once_the_target_is_known(worker):
    asked = []
    worker.app = app_with_hook(lambda error, target: asked.append((error.status, target)))
    assert answer(worker, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert answer(worker, oversized_post("/x?y")).startswith(b"HTTP/1.1 413 ")
    assert asked == [(413, "/x?y")]


def test_an_app_without_a_hook_answers_in_text(worker):
    data = answer(worker, oversized_post("/api/scores"))
    assert data.startswith(b"HTTP/1.1 413 ") and f"Content-Type: {TEXT}".encode() in data
