"""WebRequest.json(): the decoded body, or an error that tells the client what is wrong (415 / 400)."""

import json
import sys

import pytest

from otuserver.http import HTTPError, Request
from otuserver.web import WebRequest


def json_request(body: bytes, content_type: str | None = "application/json") -> WebRequest:
    headers = [("Content-Type", content_type)] if content_type else []
    return WebRequest(Request("POST", "/api/x", headers=headers, body=body))


def error_of(request: WebRequest) -> HTTPError:
    with pytest.raises(HTTPError) as caught:
        request.json()
    return caught.value


def test_json_body_is_decoded():
    assert json_request(b'{"a": [1, true, null]}').json() == {"a": [1, True, None]}


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON",
                                          "application/problem+json"])
def test_json_media_type_is_recognised_with_parameters_any_case_or_json_suffix(content_type):
    assert json_request(b"{}", content_type).json() == {}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_body_that_is_not_json_is_415_naming_what_arrived(content_type):
    error = error_of(json_request(b"{}", content_type))
    assert error.status == 415
    assert (content_type or "none").split(";")[0] in error.detail


@pytest.mark.parametrize("body, words", [
    (b"", "empty"),
    (b"   \r\n", "empty"),
    (b"{\"a\": 1", "invalid JSON"),
    (b"\xff\xfe{}", "UTF-8"),
    (b"NaN", "NaN"),
    (b"[Infinity]", "Infinity"),
    (b"{\"a\": 1} trailing", "invalid JSON"),
    (b"\xef\xbb\xbf{\"a\": 1}", "byte order mark"),
])
def test_bad_json_body_is_400_naming_the_problem(body, words):
    error = error_of(json_request(body))
    assert error.status == 400
    assert words in error.detail


def test_json_is_decoded_once_and_remembered():
    request = json_request(b"[1]")
    assert request.json() is request.json()


def test_protocol_fields_pass_through_and_path_params_are_kept():
    raw = Request("GET", "/api/scores/7?page=2&page=3", headers=[("Host", "h")])
    request = WebRequest(raw, {"client_id": 7})
    assert (request.method, request.path, request.query_string) == ("GET", "/api/scores/7", "page=2&page=3")
    assert request.query_params == {"page": ["2", "3"]}
    assert request.query_value("page") == "3"
    assert request.headers.get("host") == "h"
    assert request.path_params == {"client_id": 7}


@pytest.mark.parametrize("body", [rb'{"\ud800": 1}', rb'{"a": "x\udfff"}', rb'[["\udc00\ud800"]]'])
def test_a_lone_surrogate_escape_is_400_because_no_character_has_it(body):
    # RFC 8259 §8.2 leaves such strings unpredictable; UTF-8 cannot even encode one,
    # so echoing it back (an unknown field's name) would fail when the answer is written.
    error = error_of(json_request(body))
    assert error.status == 400
    assert "surrogate" in error.detail


@pytest.mark.parametrize("body, value", [
    (rb'["\ud83d\ude00"]', ["\U0001F600"]),   # a pair is one character
    (rb'["\\ud800"]', ["\\ud800"]),           # an escaped backslash, then plain letters
    (rb'["\u00fc"]', ["ü"]),
])
def test_escapes_that_make_characters_are_decoded(body, value):
    assert json_request(body).json() == value


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 100_000], ids=["arrays", "objects"])
def test_json_nested_too_deeply_to_decode_is_400_not_500(body):
    error = error_of(json_request(body))
    assert error.status == 400
    assert "nested too deeply" in error.detail


def test_a_number_too_long_to_read_is_400_without_advice_meant_for_programmers():
    # CPython refuses to read an int of more than sys.get_int_max_str_digits() digits; its
    # message tells a programmer to raise that limit, which says nothing to a client.
    error = error_of(json_request(b'{"score": ' + b"9" * 5000 + b"}"))
    assert error.status == 400
    assert error.detail == f"invalid JSON: a number has more than {sys.get_int_max_str_digits()} digits"


@pytest.mark.parametrize("body", [b'{"a": 1} x', b'  {"a": 1}  x', b"1 2", b'{"a": 1}\n\n  }', b" [1",
                                  b"\x0c{}", b'{"a" 1}', b"tru"])
def test_invalid_json_is_described_in_the_words_and_place_the_json_module_gives(body):
    with pytest.raises(ValueError) as expected:
        json.loads(body.decode())
    assert error_of(json_request(body)).detail == f"invalid JSON: {expected.value}"


@pytest.mark.parametrize("body, value", [(b' \t\r\n{"a": 1} \n', {"a": 1}), (b"7", 7), (b'"s"', "s")])
def test_json_whitespace_around_the_value_is_allowed(body, value):
    assert json_request(body).json() == value


@pytest.mark.parametrize("body, name", [(b'{"score": 1, "score": 2}', "score"),
                                        (b'[{"a": {"b": 1, "b": 1}}]', "b"),
                                        (b'{"\\u0061": 1, "a": 2}', "a")])
def test_a_name_twice_in_one_object_is_400_naming_it(body, name):
    # RFC 8259 §4: receivers then disagree on the value (the first? the last?); I-JSON
    # (RFC 7493 §2.3) forbids it, and a client that sends it has a bug worth hearing about.
    error = error_of(json_request(body))
    assert error.status == 400
    assert f"duplicate name {name!r}" in error.detail


def test_the_same_name_in_different_objects_is_fine():
    assert json_request(b'[{"a": 1}, {"a": 2, "b": {"a": 3}}]').json() == [{"a": 1}, {"a": 2, "b": {"a": 3}}]
