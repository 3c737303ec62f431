"""A bounded client load for fault and reload tests: a few threads, a fixed number of requests.

`ClientLoop(srv, clients=6, total=600)` sends GETs from `clients` threads until `total` requests have
been made (or `stop()`), and counts what came back: `ok` (the expected status and body), `failed`
(anything else: a reset, an EOF, a wrong answer). A failed keep-alive connection is replaced by a new
one and never retried, so every failure is counted exactly once. Loopback only, and bounded in count.
"""

import threading
import time

from tests.server.rawhttp import Connection, build_request

REQUEST_TIMEOUT_S = 10.0


class ClientLoop:
    def __init__(self, srv, *, target: str = "/t/hello.txt", body: bytes = b"hello, world\n",
                 clients: int = 6, total: int = 600, fresh_connections: bool = False) -> None:
        self.address = (srv.host, srv.port)
        self.request = build_request("GET", target, headers={"Connection": "close"} if fresh_connections else {})
        self.body = body
        self.fresh = fresh_connections
        self.total = total
        self.ok = 0
        self.failed = 0
        self.errors: list[str] = []
        self._issued = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    @property
    def done(self) -> int:
        return self.ok + self.failed

    def start(self) -> "ClientLoop":
        for thread in self._threads:
            thread.start()
        return self

    def wait_until_done(self, count: int, within: float) -> bool:
        """Block until `count` requests have completed (or failed); False after `within` seconds."""
        deadline = time.monotonic() + within
        while self.done < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.done >= count

    def join(self, within: float = 60.0) -> "ClientLoop":
        deadline = time.monotonic() + within
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()
        assert not any(t.is_alive() for t in self._threads), "the client loop did not finish in time"
        return self

    def stop(self) -> None:
        self._stop.set()

    def _take_ticket(self) -> bool:
        with self._lock:
            if self._issued >= self.total or self._stop.is_set():
                return False
            self._issued += 1
            return True

    def _record(self, ok: bool, error: str = "") -> None:
        with self._lock:
            if ok:
                self.ok += 1
            else:
                self.failed += 1
                self.errors.append(error)

    def _client(self) -> None:
        conn = None
        while self._take_ticket():
            try:
                if conn is None:
                    conn = Connection(self.address, timeout=REQUEST_TIMEOUT_S)
                conn.send(self.request)
                response = conn.read_response()
                good = (response.status, response.body) == (200, self.body)
                self._record(good, "" if good else f"{response.status} {response.body[:60]!r}")
                if self.fresh or not good:
                    conn.close()
                    conn = None
            except (OSError, ValueError) as error:  # reset, EOF, timeout, or a garbled head
                self._record(False, repr(error))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
