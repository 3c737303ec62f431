"""otuserver.bench.instructions: its request cycles still do what they say, and callgrind counts them.

The cycles are checked without valgrind (each answers its requests with the expected response);
one small count runs under callgrind, which .ci/run installs: a missing valgrind skips here and
fails under CI=true.
"""

import pytest

from otuserver.bench.docroot import small_page
from otuserver.bench.instructions import CYCLES, instructions_per_request, main, run_cycle
from tests.conftest import require_tool


@pytest.mark.parametrize("name", sorted(CYCLES))
def test_every_cycle_answers_each_of_its_requests(name, tmp_path):
    first, last = run_cycle(name, 5, tmp_path)
    for response in (first, last):
        if name == "api-post":
            assert response.startswith(b"HTTP/1.1 201 Created\r\n") and b'"score":1.5}' in response
            continue
        assert response.startswith(b"HTTP/1.1 200 OK\r\n")
        if name in ("api-get", "api-floor"):
            assert b"Content-Type: application/json" in response and b'"score":1.5' in response
        else:
            assert response.endswith(b"\r\n\r\n" + small_page())
    expected = b"Connection: close" if name == "close" else b"Connection: keep-alive"
    assert expected in last


def test_api_post_cycle_stores_a_new_row_each_time(tmp_path):
    first, last = run_cycle("api-post", 3, tmp_path)
    assert b"Location: /api/scores/1\r\n" in first and b"Location: /api/scores/3\r\n" in last


def test_api_cycle_reads_different_rows(tmp_path):
    first, last = run_cycle("api-get", 3, tmp_path)
    assert b'"client_id":1,' in first and b'"client_id":3,' in last


def test_api_floor_reads_the_same_rows_into_the_same_bytes_as_api_get(tmp_path):
    # The floor leaves out the framework, not the work: same rows, same head and body
    # (bar the Date field, which may tick between the two runs).
    def without_date(response):
        return b"\r\n".join(line for line in response.split(b"\r\n") if not line.startswith(b"Date: "))
    (tmp_path / "get").mkdir(), (tmp_path / "floor").mkdir()
    framework = run_cycle("api-get", 3, tmp_path / "get")
    floor = run_cycle("api-floor", 3, tmp_path / "floor")
    assert [without_date(r) for r in floor] == [without_date(r) for r in framework]
    assert b'"client_id":3,' in floor[-1]


def test_callgrind_counts_a_plausible_cost_per_request():
    require_tool("valgrind")
    count = instructions_per_request("keepalive-wrk", requests=50, baseline=5)
    # A bare socket echo costs a few thousand instructions, and no cycle has ever cost a million.
    assert 5_000 < count < 1_000_000


def test_cpu_time_mode_prints_a_median_per_cycle(capsys):
    assert main(["--cpu-time", "3", "--requests", "300", "--cycles", "keepalive-wrk", "api-floor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("CPU time (user + system), 3 rounds of 300 requests per cycle")
    medians = {line.split()[0]: float(line.split()[1]) for line in lines[1:]}
    assert list(medians) == ["keepalive-wrk", "api-floor"]
    # CPU time is spent, and no request of these takes a second (the measure is per request, in µs).
    assert all(0 < value < 1_000_000 for value in medians.values())
