"""The http-test-suite's load run, `ab -n 50000 -c 100 -r` against `/`, checked for behaviour, not speed:
every request completes, none fails, none gets a non-2xx answer. A shorter keep-alive run (`-k`, which
ab sends as HTTP/1.0 with Connection: keep-alive) checks the same under persistent connections.

The server runs with the access log off, so the run measures serving rather than logging.
"""

import re
import subprocess

import pytest

from tests.conftest import require_tool

pytestmark = pytest.mark.slow

AB_TIMEOUT_S = 300


def parse_ab_report(report: str) -> dict[str, int]:
    """The counters of an ab report that say whether the run went right (a missing one counts as 0:
    ab prints "Non-2xx responses" and "Keep-Alive requests" only when they are not zero).

    >>> parse_ab_report("Complete requests:      50000\\nFailed requests:        0\\n")
    {'complete': 50000, 'failed': 0, 'non_2xx': 0, 'write_errors': 0, 'keep_alive': 0}
    >>> parse_ab_report("Complete requests: 10\\nFailed requests: 2\\n   (Connect: 0, Length: 2)\\nNon-2xx responses: 3")["non_2xx"]
    3
    """
    fields = {"complete": "Complete requests", "failed": "Failed requests", "non_2xx": "Non-2xx responses",
              "write_errors": "Write errors", "keep_alive": "Keep-Alive requests"}
    counts = {}
    for key, label in fields.items():
        match = re.search(rf"^{re.escape(label)}:\s+(\d+)", report, re.MULTILINE)
        counts[key] = int(match.group(1)) if match else 0
    if not re.search(r"^Complete requests:", report, re.MULTILINE):
        raise ValueError(f"not an ab report:\n{report}")
    return counts


def run_ab(url: str, *options: str) -> dict[str, int]:
    ab = require_tool("ab")
    result = subprocess.run([ab, *options, url], capture_output=True, text=True, timeout=AB_TIMEOUT_S)
    assert result.returncode == 0, f"ab failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return parse_ab_report(result.stdout)


@pytest.fixture
def quiet_server(server_factory):
    require_tool("ab")                      # before starting anything: a skip should cost nothing
    return server_factory(workers=2, extra_args=["--access-log", "off"])


def test_ab_50000_requests_at_concurrency_100_all_succeed(quiet_server):
    counts = run_ab(quiet_server.base_url + "/", "-n", "50000", "-c", "100", "-r")
    assert counts["complete"] == 50000
    assert counts["failed"] == 0
    assert counts["non_2xx"] == 0
    assert counts["write_errors"] == 0
    assert quiet_server.proc.poll() is None, "the server died under load"


def test_ab_with_keep_alive_reuses_connections_and_all_succeed(quiet_server):
    counts = run_ab(quiet_server.base_url + "/httptest/dir2/page.html", "-n", "20000", "-c", "50", "-k", "-r")
    assert counts["complete"] == 20000
    assert counts["failed"] == 0
    assert counts["non_2xx"] == 0
    # Every request but each connection's first rides on a kept-alive connection.
    assert counts["keep_alive"] >= 20000 - 50
