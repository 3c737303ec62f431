"""The `app` fixture: the toy gadget API on a SQLite file in the test's own tmp_path."""

import pytest

from otuserver.web import App

from .gadgets import build_app


@pytest.fixture
def app(tmp_path) -> App:
    return build_app(tmp_path / "gadgets.sqlite3")
