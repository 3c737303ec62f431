"""Headers: case-insensitive, order-keeping, repeated fields kept apart."""

from otuserver.http import Headers, header_tokens


def test_names_are_case_insensitive_and_stored_lower_case():
    headers = Headers([("Content-Type", "text/html")])
    assert headers["content-type"] == headers.get("CONTENT-TYPE") == "text/html"
    assert "Content-TYPE" in headers and headers.items() == [("content-type", "text/html")]


def test_repeated_fields_are_joined_by_get_and_kept_apart_by_get_all():
    headers = Headers([("Accept", "a"), ("X", "1"), ("accept", "b")])
    assert headers.get("accept") == "a, b"
    assert headers.get_all("ACCEPT") == ["a", "b"]
    assert list(headers) == [("accept", "a"), ("x", "1"), ("accept", "b")] and len(headers) == 3


def test_missing_field_gives_the_default():
    headers = Headers()
    assert headers.get("host") is None and headers.get("host", "x") == "x"
    assert headers.get_all("host") == [] and "host" not in headers and 42 not in headers


def test_equality_compares_fields_in_order():
    assert Headers([("A", "1"), ("b", "2")]) == Headers([("a", "1"), ("B", "2")])
    assert Headers([("a", "1"), ("b", "2")]) != Headers([("b", "2"), ("a", "1")])


def test_header_tokens_are_lower_cased_and_trimmed():
    assert header_tokens(" Keep-Alive ,, Upgrade,") == {"keep-alive", "upgrade"}
    assert header_tokens(None) == set() and header_tokens("") == set()
