"""JSON responses: compact strict UTF-8 bodies, Content-Type first, an application's headers after it."""

import json

import pytest

from otuserver.http import Response
from otuserver.web import JSONResponse
from otuserver.web import responses
from otuserver.web.responses import dump_json


def test_json_is_compact_utf8_and_keeps_key_order():
    assert dump_json({"b": 1, "a": [True, None, 2.5], "name": "ü€"}) == (
        '{"b":1,"a":[true,null,2.5],"name":"ü€"}'.encode("utf-8"))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused_because_json_has_no_such_numbers(value):
    with pytest.raises(ValueError):
        dump_json({"score": value})


def test_an_object_json_cannot_hold_is_a_type_error():
    with pytest.raises(TypeError):
        dump_json({"when": object()})


def test_an_encoding_error_leaves_the_encoder_usable_for_the_next_response():
    shared = {"x": 1}
    with pytest.raises(ValueError):
        dump_json([shared, float("nan")])
    assert dump_json([shared, shared]) == b'[{"x":1},{"x":1}]'


def test_content_type_comes_first_and_the_applications_headers_follow():
    response = JSONResponse({"ok": True}, status=201, headers=[("Location", "/api/scores/1")])
    assert response.headers == [("Content-Type", "application/json"), ("Location", "/api/scores/1")]
    assert json.loads(response.body) == {"ok": True}


def test_responses_do_not_share_one_header_list():
    first, second = JSONResponse(1), JSONResponse(2)
    first.headers.append(("X-Extra", "1"))
    assert second.headers == [("Content-Type", "application/json")]


def test_without_the_c_accelerator_the_bytes_are_the_same(monkeypatch):
    data = {"client_id": 7, "score": 2.5, "name": "ü", "tags": [True, None]}
    fast = dump_json(data)
    monkeypatch.setattr(responses, "_C_ENCODER", None)
    assert dump_json(data) == fast


@pytest.mark.parametrize("status", [200, 404])
def test_an_encoded_response_is_the_one_init_would_build_with_data_none(status):
    # encoded() sets the slots itself; a slot it forgot would raise AttributeError here.
    made, encoded = JSONResponse({"ok": True}, status=status), JSONResponse.encoded(b'{"ok":true}', status)
    for slot in ("status", "headers", "body", "_wire_head"):
        assert getattr(encoded, slot) == getattr(made, slot)
    assert encoded.data is None
    assert encoded.wire_head() == made.wire_head()
    other = JSONResponse.encoded(b"1")
    other.headers.append(("X-Extra", "1"))  # each has a header list of its own
    assert encoded.headers == [("Content-Type", "application/json")]


@pytest.mark.parametrize("status, headers", [
    (200, []), (201, [("Location", "/api/scores/7")]), (201, [("Location", "/a%20b/1?x=1")]),
    (404, []), (405, [("Allow", "GET, HEAD")]), (201, [("Location", "/x"), ("X-Other", "1")]),
])
def test_a_json_head_is_the_same_bytes_the_protocol_renders(status, headers):
    response = JSONResponse({"client_id": 7, "score": 1.5}, status=status, headers=headers)
    assert response.wire_head() == Response(status, list(response.headers), response.body).wire_head()


@pytest.mark.parametrize("location", ["/a\r\nSet-Cookie: x=1", "/a\nb", "/a\x00", "/ж"])
def test_a_location_that_would_break_the_head_is_still_refused(location):
    with pytest.raises(ValueError):
        JSONResponse({}, status=201, headers=[("Location", location)]).wire_head()
