"""Request and Response messages, keep-alive rules and response rendering."""

import pytest

from otuserver.http import BadRequest, Request, Response, status_allows_body, wants_keep_alive
from otuserver.http.messages import render_fields


def test_request_decodes_its_path_and_splits_the_query():
    request = Request("GET", "/a%20b/c?x=1&y=%C3%BC", headers=[("Host", "h")])
    assert (request.path, request.query_string) == ("/a b/c", "x=1&y=%C3%BC")
    assert request.query_params == {"x": ["1"], "y": ["ü"]}


def test_request_with_nul_in_its_path_is_400():
    with pytest.raises(BadRequest):
        Request("GET", "/a%00b")


@pytest.mark.parametrize("version, connection, expected", [
    ("HTTP/1.1", None, True), ("HTTP/1.1", "close", False), ("HTTP/1.1", "Upgrade, Close", False),
    ("HTTP/1.1", "keep-alive", True), ("HTTP/1.0", None, False), ("HTTP/1.0", "Keep-Alive", True),
    ("HTTP/1.0", "keep-alive, close", False),
])
def test_keep_alive_rules(version, connection, expected):
    assert wants_keep_alive(version, connection) is expected


@pytest.mark.parametrize("status, allowed", [(100, False), (200, True), (204, False), (304, False), (404, True)])
def test_which_statuses_carry_a_body(status, allowed):
    assert status_allows_body(status) is allowed


def test_wire_head_writes_status_line_fields_and_content_length():
    assert Response(405, [("Allow", "GET, HEAD")]).wire_head() == (
        b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n")


def test_wire_head_with_an_unknown_status_still_renders():
    assert Response(599).wire_head() == b"HTTP/1.1 599 Unknown\r\nContent-Length: 0\r\n"


def test_latin1_value_is_rendered_as_latin1():
    assert render_fields([("X", "café")]) == b"X: caf\xe9\r\n"


def test_rendered_fields_are_remembered_within_a_bound_and_one_offs_do_not_stay():
    from otuserver.http import messages
    messages._RENDERED.clear()
    render_fields([("Content-Type", "application/json")])
    for i in range(messages._MAX_RENDERED * 2):  # a Location per new resource, never seen again
        assert render_fields([("Location", f"/api/scores/{i}")]) == b"Location: /api/scores/%d\r\n" % i
        assert len(messages._RENDERED) <= messages._MAX_RENDERED
    assert ("Location", "/api/scores/0") not in messages._RENDERED
    render_fields([("Content-Type", "application/json")])  # the usual field is remembered again
    assert ("Content-Type", "application/json") in messages._RENDERED


@pytest.mark.parametrize("name, value", [
    ("X", "a\r\nSet-Cookie: evil=1"), ("X", "a\nb"), ("X", "a\rb"), ("X", "a\x00b"),
    ("X\r\nEvil", "1"), ("Bad Name", "1"), ("Colon:", "1"), ("", "1"),
])
def test_response_splitting_is_refused(name, value):
    with pytest.raises(ValueError):
        Response(200, [(name, value)]).wire_head()


def test_response_adds_content_length_when_the_status_has_a_body():
    assert Response(200, [("Content-Type", "text/plain")], b"hi").wire_head() == (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n")
    assert Response(304, [("ETag", '"x"')]).wire_head() == b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n'


def test_response_header_lookup_is_case_insensitive():
    response = Response(200, [("Content-Type", "a"), ("content-type", "b")])
    assert response.header("CONTENT-TYPE") == "a" and response.header("x") is None
