"""The access log, in nginx's *combined* format, one line per response.

    127.0.0.1 - - [28/Nov/2026:23:21:04 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"

Lines are buffered and written once per event-loop turn with one os.write to a
descriptor opened O_APPEND, so the workers' lines never interleave mid-line.
It knows the Request's fields and nothing of sockets.
"""

import os
import sys
import time

from ..http import Request

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class AccessLog:
    """Writes combined-format lines to a path, or to stderr for "-"."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._pending: list[str] = []
        self._second = -1
        self._stamp = ""
        self._fd = -1
        self._line_cut = False  # a failed write left a line without its end
        self.reopen()

    def reopen(self) -> None:
        """(Re)open the file, e.g. after logrotate moved it away (SIGUSR1)."""
        if self.target == "-":
            self._fd = sys.stderr.fileno()
            return
        fd = os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = fd

    def record(self, client: str, request: Request | None, status: int, body_bytes: int) -> None:
        if request is None:
            line, referer, agent = "-", "-", "-"  # the request could not be parsed
        else:
            line = f"{request.method} {request.target} {request.version}"
            referer = request.headers.get("referer") or "-"
            agent = request.headers.get("user-agent") or "-"
        self._pending.append(f'{client or "-"} - - [{self._now()}] "{_escape(line)}" '
                             f'{status} {body_bytes} "{_escape(referer)}" "{_escape(agent)}"\n')

    def flush(self) -> None:
        """Write the pending lines; what cannot be written (a full disk) is dropped, never raised."""
        if not self._pending:
            return
        if self._line_cut:  # the last write stopped mid-line: end that line first
            self._pending.insert(0, "\n")
        data = "".join(self._pending).encode("utf-8", "replace")
        self._pending.clear()
        written = 0
        try:
            # os.write may write only part (a signal, a disk filling up): the rest follows.
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError:
            pass  # a full disk must not take the server down with it
        self._line_cut = 0 < written < len(data) and data[written - 1] != 0x0A

    def _now(self) -> str:
        second = int(time.time())
        if second != self._second:
            t = time.localtime(second)
            offset = t.tm_gmtoff // 60
            sign = "+" if offset >= 0 else "-"
            self._second = second
            self._stamp = (f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
                           f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} "
                           f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}")
        return self._stamp


def redirect_stdio(path: str) -> None:
    """Point stdout and stderr at `path` (appending): daemon mode, and USR1 after logrotate."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _escape(text: str) -> str:
    """Escape what would break the line's quoting, as nginx does (\\xHH)."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return text
    return "".join(f"\\x{ord(c):02X}" if (c in '"\\' or not c.isprintable()) and ord(c) < 256 else c
                   for c in text)
