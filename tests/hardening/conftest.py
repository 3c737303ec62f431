"""Helpers and fixtures for issue 5's integration proof: slow clients, faults, signals, daemon control,
data safety and path traversal against real httpd.py processes on 127.0.0.1.

Servers come from tests/conftest.py's `server_factory` (stopped after each test, stragglers killed);
what is added here is polling (`wait_for`), views of a process from /proc (`alive`, `rss_kib`,
`socket_count`), the worker pids of a master, and the 954 KB page of the http-test-suite.
Every helper is bounded in time: nothing here waits without a deadline.
"""

import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import remember_children

BIG_TARGET = "/httptest/wikipedia_russia.html"   # the 954 KB page of the http-test-suite


def wait_for(predicate, within: float, step: float = 0.02):
    """Poll `predicate` until it returns something truthy or `within` seconds pass; return its last value."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie has exited, whatever kill(0) says)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def rss_kib(pid: int) -> int:
    """The resident set size of `pid` in KiB (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def socket_count(pid: int) -> int:
    """How many sockets `pid` holds open (its connections plus the listener)."""
    count = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
            except OSError:
                pass  # closed while we looked
    except OSError:
        pass
    return count


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
