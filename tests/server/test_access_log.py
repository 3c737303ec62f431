"""AccessLog on its own: the combined format, and writes that stop part-way (a signal, a full disk)."""

import os
import re

from otuserver.http import Request
from otuserver.server import access_log
from otuserver.server.access_log import AccessLog

COMBINED = re.compile(r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
                      r'"GET /a HTTP/1\.1" 200 (\d+) "-" "t/1"$')


def request() -> Request:
    return Request("GET", "/a", headers=[("Host", "x"), ("User-Agent", "t/1")])


def lines_of(path) -> list[str]:
    return path.read_text().splitlines()


def test_a_line_is_in_nginx_combined_format_and_written_on_flush(tmp_path):
    log = AccessLog(str(tmp_path / "access.log"))
    log.record("127.0.0.1", request(), 200, 612)
    assert (tmp_path / "access.log").read_text() == ""  # buffered until the loop's turn ends
    log.flush()
    (line,) = lines_of(tmp_path / "access.log")
    assert COMBINED.match(line)[1] == "612"


def test_a_write_that_stops_part_way_is_finished_by_the_next_writes(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(access_log.os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    log = AccessLog(str(tmp_path / "access.log"))
    for size in (1, 22, 333):
        log.record("127.0.0.1", request(), 200, size)
    log.flush()
    assert [COMBINED.match(line)[1] for line in lines_of(tmp_path / "access.log")] == ["1", "22", "333"]


def test_a_full_disk_drops_lines_without_raising_and_the_next_line_starts_on_its_own(tmp_path, monkeypatch):
    real_write = os.write
    calls = []

    def disk_full_after_ten_bytes(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:10]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(access_log.os, "write", disk_full_after_ten_bytes)
    log = AccessLog(str(tmp_path / "access.log"))
    log.record("127.0.0.1", request(), 200, 1)
    log.flush()  # ten bytes of the line, then ENOSPC: dropped, not raised
    monkeypatch.setattr(access_log.os, "write", real_write)  # space again
    log.record("127.0.0.1", request(), 200, 2)
    log.flush()
    cut, whole = lines_of(tmp_path / "access.log")
    assert cut == "127.0.0.1 " and COMBINED.match(whole)[1] == "2"
