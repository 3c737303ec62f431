"""Helpers and fixtures for issue 5's integration proof: slow clients, faults, signals, daemon control,
data safety and path traversal against real httpd.py processes on 127.0.0.1.

Servers come from tests/conftest.py's `server_factory` (stopped after each test, stragglers killed);
what is added here is polling (`wait_for`), views of a process from /proc (`alive`, `rss_kib`,
`socket_count`), the worker pids of a master, and the 954 KB page of the http-test-suite.
Every helper is bounded in time: nothing here waits without a deadline.
"""

import os
import signal

import pytest

from otuserver.runner import alive, rss_kib, socket_count  # noqa: F401 (re-exported for the tests)
from tests.conftest import remember_children, wait_for  # noqa: F401

BIG_TARGET = "/httptest/wikipedia_russia.html"   # the 954 KB page of the http-test-suite


def workers_of(srv, count: int, within: float = 5.0) -> list[int]:
    """The pids of `srv`'s workers once there are exactly `count` of them (noted for cleanup)."""
    wait_for(lambda: len(remember_children(srv.pid)) == count, within)
    pids = remember_children(srv.pid)
    assert len(pids) == count, f"expected {count} workers, saw {pids}"
    return pids


def kill_quietly(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def big_bytes(httptest_source) -> bytes:
    """The bytes of the 954 KB page, as a download must reproduce them."""
    return (httptest_source / "wikipedia_russia.html").read_bytes()
