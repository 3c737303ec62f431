"""Fixtures for the scoring API: the app called directly on a SQLite file of the test's own, and
real httpd.py servers whose database lives in a temporary folder (never api/scores.sqlite3).

The live servers have their own tiny document root, so these tests need no http-test-suite data.
"""

import json
from pathlib import Path

import pytest

from api import create_app
from otuserver.http import Request
from otuserver.runner import ServerProcess, start_server

LIVE_MAX_BODY_BYTES = 4096
RESOURCES = ["interests", "scores"]

# A valid body for each resource, and what the API stores for it.
VALID_BODY = {
    "interests": {"travel": True, "hitech": False, "sport": "true", "music": "false"},
    "scores": {"score": 4.25},
}
STORED = {
    "interests": {"travel": True, "hitech": False, "sport": True, "music": False},
    "scores": {"score": 4.25},
}
OTHER_BODY = {
    "interests": {"travel": False, "hitech": True, "sport": False, "music": True},
    "scores": {"score": -1},
}


class DirectClient:
    """Sends Requests straight to the app object: no sockets, same statuses and bodies."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, method: str, target: str, body: object = None, *,
                 content_type: str = "application/json", headers=()):
        fields = [("Host", "test"), *headers]
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            fields.append(("Content-Type", content_type))
        return self.app(Request(method, target, headers=fields, body=data))


def json_of(response) -> object:
    return json.loads(response.body)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "data" / "scores.sqlite3"


@pytest.fixture
def client(db_path) -> DirectClient:
    return DirectClient(create_app(str(db_path), max_body_bytes=LIVE_MAX_BODY_BYTES))


def make_site(base: Path) -> Path:
    root = base / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello\n")
    return root


def start_api_server(base: Path, workers: int = 2, max_body: int = LIVE_MAX_BODY_BYTES) -> ServerProcess:
    """A real httpd.py with its database at base/db/scores.sqlite3 (the folder does not exist yet)."""
    return start_server(root=make_site(base), workers=workers, log_dir=base,
                        extra_args=["--db", str(base / "db" / "scores.sqlite3"), "--max-body", str(max_body)])


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> ServerProcess:
    """One API server for a test module; tests that need an empty database take `fresh_live`."""
    srv = start_api_server(tmp_path_factory.mktemp("api-live"))
    yield srv
    srv.stop()


@pytest.fixture
def fresh_live(tmp_path) -> ServerProcess:
    srv = start_api_server(tmp_path)
    yield srv
    srv.stop()
