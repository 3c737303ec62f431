"""The scoring API: interests and scores on SQLite, served under /api/.

`create_app(db_path, max_body_bytes)` is what httpd.py calls in the master
before it forks (and again when SIGHUP reloads the settings): it builds the
routes and an Engine, which creates the file, its folder and the tables when
missing and then closes its connection, so none crosses the fork. Each worker
opens its own connection on its first API request.
The package knows nothing of sockets or processes: httpd.py mounts the app.
"""

import os

from otuserver.db import BUSY_TIMEOUT_S, Engine
from otuserver.web import App

from .models import MODELS
from .routes import build_router

DEFAULT_MAX_BODY_BYTES = 1 << 20


def create_app(db_path: str | os.PathLike, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, *,
               busy_timeout_s: float = BUSY_TIMEOUT_S) -> App:
    """The API application for the database at `db_path`, which is checked first (see above).

    `busy_timeout_s` is how long a write waits for another worker's lock before
    answering 503; tests shorten it, httpd.py keeps the default.
    """
    engine = Engine(db_path, models=MODELS, busy_timeout_s=busy_timeout_s)
    # Fail at start-up (OSError, sqlite3.Error), not with a 500 on every request, when the
    # folder cannot be made or the file cannot be opened, written or given its tables.
    engine.check()
    return App(build_router(engine), max_body_bytes=max_body_bytes)


__all__ = ["create_app"]
