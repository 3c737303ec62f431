"""The Postman collection in api/ is replayed, request by request, against a live server on an empty
database; each answer must have the status the collection documents, so the collection cannot rot."""

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


def test_replaying_the_collection_gives_every_documented_status(fresh_live):
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
    assert not failures, "\n".join(failures)

