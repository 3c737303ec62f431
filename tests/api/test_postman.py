"""The Postman collection in api/ is replayed, request by request, against a live server on an empty
database; each answer must have the status, JSON body and Location its example response documents,
so the collection cannot rot."""

import json
import re

import requests

from otuserver.runner import REPO_ROOT

COLLECTION = REPO_ROOT / "api" / "postman_collection.json"
TEN_ROUTES = {
    ("POST", "/api/interests"), ("GET", "/api/interests"), ("GET", "/api/interests/{id}"),
    ("PUT", "/api/interests/{id}"), ("DELETE", "/api/interests/{id}"),
    ("POST", "/api/scores"), ("GET", "/api/scores"), ("GET", "/api/scores/{id}"),
    ("PUT", "/api/scores/{id}"), ("DELETE", "/api/scores/{id}"),
}


def collection() -> dict:
    return json.loads(COLLECTION.read_text(encoding="utf-8"))


def requests_in_order(node: dict):
    """Every request item, depth first, in the order Postman's runner sends them."""
    for child in node.get("item", []):
        if "request" in child:
            yield child
        else:
            yield from requests_in_order(child)


def documented_status(item: dict) -> int:
    """The status the item's example response gives; its pm.test script must say the same."""
    status = item["response"][0]["code"]
    script = "\n".join(item["event"][0]["script"]["exec"])
    assert f"to.have.status({status})" in script, f"{item['name']}: test script and example disagree"
    return status


def documented_answer(item: dict) -> tuple[object, str | None]:
    """The example response's JSON body (None when it shows none) and its Location, if any."""
    example = item["response"][0]
    body = json.loads(example["body"]) if example.get("body") else None
    location = next((h["value"] for h in example.get("header", []) if h["key"] == "Location"), None)
    return body, location


def route_of(item: dict) -> tuple[str, str]:
    path = "/" + "/".join(item["request"]["url"]["path"])
    return item["request"]["method"], re.sub(r"/\d+$", "/{id}", path)


def test_collection_is_v2_1_with_a_base_url_variable():
    data = collection()
    assert data["info"]["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    assert {v["key"] for v in data["variable"]} == {"baseUrl"}
    for item in requests_in_order(data):
        assert item["request"]["url"]["raw"].startswith("{{baseUrl}}/api")


def test_collection_covers_all_ten_routes():
    assert TEN_ROUTES <= {route_of(item) for item in requests_in_order(collection())}


def test_every_request_with_a_body_sends_json_with_an_example():
    for item in requests_in_order(collection()):
        request = item["request"]
        if request["method"] in ("POST", "PUT"):
            assert {"key": "Content-Type", "value": "application/json"} in request["header"]
            json.loads(request["body"]["raw"])


def test_replaying_the_collection_gives_every_documented_status_body_and_location(fresh_live):
    failures = []
    with requests.Session() as session:
        for item in requests_in_order(collection()):
            request = item["request"]
            url = request["url"]["raw"].replace("{{baseUrl}}", fresh_live.base_url)
            headers = {h["key"]: h["value"] for h in request["header"]}
            body = request.get("body", {}).get("raw")
            response = session.request(request["method"], url, headers=headers,
                                       data=body.encode() if body else None, timeout=10)
            expected = documented_status(item)
            if response.status_code != expected:
                failures.append(f"{item['name']}: {response.status_code} != {expected}: {response.text[:200]}")
            body, location = documented_answer(item)
            if body is not None and response.json() != body:
                failures.append(f"{item['name']}: body {response.text[:200]} != the example's {body}")
            if location is not None and response.headers.get("Location") != location:
                failures.append(f"{item['name']}: Location {response.headers.get('Location')} != {location}")
    assert not failures, "\n".join(failures)


def test_most_examples_show_a_body_so_the_replay_checks_what_clients_read():
    # The OpenAPI document's example is left out on purpose (it is long and generated).
    items = list(requests_in_order(collection()))
    shown = [item for item in items if documented_answer(item)[0] is not None]
    assert len(shown) >= len(items) - 3, [item["name"] for item in items if item not in shown]

