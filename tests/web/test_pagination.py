"""Pagination: reading ?page&page_size, and the count/next/previous/results body with its links."""

import pytest

from otuserver.http import HTTPError
from otuserver.web import Page
from otuserver.web.pagination import paginated_body, requested_page


def test_defaults_are_page_one_of_twenty():
    assert requested_page({}) == Page(1, 20)


def test_page_size_above_the_maximum_is_clamped_to_one_hundred():
    assert requested_page({"page_size": ["1000"]}).size == 100


@pytest.mark.parametrize("digits", [10, 20, 5000])
def test_a_page_size_of_any_length_above_the_maximum_is_clamped_too(digits):
    assert requested_page({"page_size": ["9" * digits]}).size == 100


def test_a_page_number_too_long_to_exist_is_400_saying_so_not_calling_it_no_integer():
    with pytest.raises(HTTPError) as caught:
        requested_page({"page": ["9" * 10]})
    assert caught.value.status == 400
    assert "at most 9 digits" in caught.value.detail


def test_leading_zeros_do_not_count_as_digits():
    assert requested_page({"page": ["0" * 20 + "3"], "page_size": ["0" * 20 + "5"]}) == Page(3, 5)


@pytest.mark.parametrize("name, value", [("page", "x"), ("page", "0"), ("page", "-1"), ("page", ""),
                                         ("page", "1.5"), ("page_size", "0"), ("page_size", "ten"),
                                         ("page", "²"), ("page", "99999999999999999999")])
def test_a_page_or_size_that_is_not_a_positive_integer_is_400_naming_it(name, value):
    with pytest.raises(HTTPError) as caught:
        requested_page({name: [value]})
    assert caught.value.status == 400
    assert name in caught.value.detail


def test_middle_page_links_both_ways_and_keeps_other_parameters():
    params = {"q": ["a b"], "page": ["2"], "page_size": ["10"]}
    body = paginated_body("/api/scores", params, Page(2, 10), 25, ["x"])
    assert body == {"count": 25, "results": ["x"],
                    "next": "/api/scores?q=a+b&page=3&page_size=10",
                    "previous": "/api/scores?q=a+b&page=1&page_size=10"}


def test_last_page_has_no_next_and_first_page_no_previous():
    only = paginated_body("/api/scores", {}, Page(1, 20), 20, [])
    assert only["next"] is None and only["previous"] is None


def test_page_past_the_end_is_404():
    with pytest.raises(HTTPError) as caught:
        paginated_body("/api/scores", {}, Page(3, 10), 20, [])
    assert caught.value.status == 404


def test_first_page_of_an_empty_collection_is_an_empty_page_not_404():
    assert paginated_body("/api/scores", {}, Page(1, 20), 0, []) == {
        "count": 0, "next": None, "previous": None, "results": []}
