"""Request-target helpers: split, percent-decode once, parse and build queries."""

import pytest

from otuserver.http import BadRequest
from otuserver.http.urls import encode_query, parse_query, percent_decode, split_target


@pytest.mark.parametrize("target, expected", [
    ("/", ("/", "")),
    ("/a?b=c", ("/a", "b=c")),
    ("/a?", ("/a", "")),
    ("/a?b?c", ("/a", "b?c")),
])
def test_split_target_cuts_at_the_first_question_mark(target, expected):
    assert split_target(target) == expected


@pytest.mark.parametrize("text, expected", [
    ("/plain", "/plain"),
    ("/space%20in%20name.txt", "/space in name.txt"),
    ("/%D1%84%d0%b0", "/фа"),
    ("/double%2520", "/double%20"),           # decoded exactly once
    ("/%2e%2e/%2E%2E", "/../.."),            # decoded; refusing dot segments is the file server's job
    ("/a%2Fb", "/a/b"),
    ("/a+b", "/a+b"),                        # a plus is a plus in a path
])
def test_percent_decode(text, expected):
    assert percent_decode(text) == expected


@pytest.mark.parametrize("text", [
    "/%", "/%4", "/%zz", "/%4g", "/%ff", "/%c0%af", "/%e2%82", "/%ed%a0%80", "/%f8%88%80%80%80",
])
def test_bad_escapes_and_invalid_utf8_are_bad_requests(text):
    with pytest.raises(BadRequest) as error:
        percent_decode(text)
    assert error.value.status == 400


def test_plus_is_space_only_when_asked():
    assert percent_decode("a+b%2B", plus_is_space=True) == "a b+"


def test_parse_query_keeps_repeats_empties_and_order():
    assert parse_query("b=2&a=1&b=3&&c&d=") == {"b": ["2", "3"], "a": ["1"], "c": [""], "d": [""]}


def test_parse_query_decodes_names_and_values():
    assert parse_query("na%20me=v+a%26l") == {"na me": ["v a&l"]}


def test_parse_query_with_a_bad_escape_is_400():
    with pytest.raises(BadRequest):
        parse_query("a=%zz")


@pytest.mark.parametrize("params", [
    {"page": "3"}, {"q": ["a b", "ü", "&=+%"]}, {"ключ": "значение"}, {"": ""},
])
def test_encode_query_is_the_inverse_of_parse_query(params):
    expected = {name: [v] if isinstance(v, str) else v for name, v in params.items()}
    assert parse_query(encode_query(params)) == expected
