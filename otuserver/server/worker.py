"""A worker process: one epoll loop that accepts connections and serves them.

The master forks a Worker with the listening socket already bound; the worker
builds its own epoll set (an epoll descriptor must never be shared across a
fork), accepts with EPOLLEXCLUSIVE so one connection wakes one worker, and runs
until told to stop. SIGTERM drains gracefully, SIGQUIT stops at once, SIGINT is
ignored (the master decides), and the worker leaves by itself when its master
disappears. It knows the application only as `app(request) -> Response` (the
connection may also ask its optional `error_response` hook, see connection.py).
"""

import logging
import os
import resource
import select
import signal
import socket
import time

from .access_log import AccessLog, redirect_stdio
from .config import ServerConfig
from .connection import Connection, ServerFields
from .loop import EXCLUSIVE, READ, EventLoop

log = logging.getLogger("otuserver.worker")

TICK_S = 1.0               # how often deadlines and the master's presence are checked
ACCEPTS_PER_WAKEUP = 64    # bounded, so a burst of connections cannot starve the others


class Worker:
    """Serve connections from `listener` with `app` until stopped."""

    def __init__(self, listener: socket.socket, app, config: ServerConfig, master_pid: int,
                 heartbeat=None) -> None:
        self.listener = listener
        self.family = listener.family
        self.app = app
        self.config = config
        self.limits = config.limits
        self.master_pid = master_pid
        self.server_fields = ServerFields()
        self.loop = EventLoop(on_wake=self.server_fields.refresh)  # Date: once per wakeup
        self.access_log = AccessLog(config.access_log) if config.access_log != "off" else None
        self.connections: dict[int, Connection] = {}
        self.heartbeat = heartbeat or (lambda now: None)
        self.accepting = False
        self.reopen_requested = False
        self.stop_requested = False   # set by the signal handler, acted on by the loop
        self.stopping = False
        self.stop_deadline = 0.0
        self.alive = True

    # -- lifecycle ----------------------------------------------------------

    def boot(self) -> None:
        """Everything that can fail before serving; a failure here stops the master."""
        self._install_signals()
        _raise_open_files_limit(self.config.max_connections + 64)
        self._accept_more(True)

    def run(self) -> None:
        last_tick = time.monotonic()
        self.heartbeat(last_tick)  # the first beat tells the master this worker has booted
        while self.alive:
            self.loop.run_once(TICK_S)
            if self.stop_requested and not self.stopping:
                self._begin_stop()
            if self.reopen_requested:
                self._reopen_logs()
            if self.access_log:
                self.access_log.flush()
            now = time.monotonic()
            self.heartbeat(now)
            if now - last_tick >= TICK_S or self.stopping:
                last_tick = now
                self._tick(now)

    def _tick(self, now: float) -> None:
        if os.getppid() != self.master_pid:
            log.warning("worker %d: master is gone, exiting", os.getpid())
            self.alive = False
            return
        for conn in list(self.connections.values()):
            if now >= conn.deadline:
                conn.on_timeout()
        if self.stopping and (not self.connections or now >= self.stop_deadline):
            self.alive = False

    def _install_signals(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a Ctrl-C reaches the master, which decides
        signal.signal(signal.SIGTERM, self.handle_term)
        signal.signal(signal.SIGQUIT, self.handle_quit)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, self.handle_usr1)
        # The wake-up pipe makes epoll.poll return at once when a signal arrives.
        read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(write_end)
        self.loop.add(read_end, READ, _WakeupPipe(read_end))

    # Signal handlers run between any two bytecodes, even inside a callback that
    # is half-way through a send; so they only record the request and the loop acts.

    def handle_term(self, signum, frame) -> None:
        """Graceful stop: no new connections; finish the responses in flight."""
        self.stop_requested = True

    def handle_quit(self, signum, frame) -> None:
        """Fast stop: leave now; open connections are simply closed by the kernel."""
        self.alive = False

    def handle_usr1(self, signum, frame) -> None:
        """Reopen the log files (logrotate moved them away)."""
        self.reopen_requested = True

    def _reopen_logs(self) -> None:
        self.reopen_requested = False
        if self.access_log:
            self.access_log.flush()
            self.access_log.reopen()
        if self.config.log_file:
            redirect_stdio(self.config.log_file)

    def _begin_stop(self) -> None:
        self.stopping = True
        self.stop_deadline = time.monotonic() + self.config.graceful_timeout
        self._accept_more(False)
        self.listener.close()
        for conn in list(self.connections.values()):
            conn.stop_gracefully()

    # -- connections --------------------------------------------------------

    def _accept_more(self, wanted: bool) -> None:
        """Start or stop listening for new connections (the backlog holds them meanwhile)."""
        if wanted and not self.accepting:
            # EPOLLEXCLUSIVE may only be combined with EPOLLIN (epoll_ctl(2)).
            self.loop.add(self.listener.fileno(), select.EPOLLIN | EXCLUSIVE, _Acceptor(self))
        elif not wanted and self.accepting:
            self.loop.remove(self.listener.fileno())
        self.accepting = wanted

    def accept(self) -> None:
        for _ in range(ACCEPTS_PER_WAKEUP):
            if len(self.connections) >= self.config.max_connections:
                self._accept_more(False)  # full: resumed in forget() when one closes
                return
            try:
                # socket.accept() is _accept() plus a wrapper that turns the listener's
                # family and type into enums on every call; we know them already.
                fd, address = self.listener._accept()
            except (BlockingIOError, InterruptedError):
                return  # another worker took it, or the queue is empty
            except OSError as error:
                log.warning("accept failed: %s", error)  # EMFILE and the like: try next turn
                return
            sock = socket.socket(self.family, socket.SOCK_STREAM, 0, fd)
            sock.setblocking(False)  # TCP_NODELAY comes from the listener (bind_listener)
            conn = Connection(sock, address[0], self)
            self.connections[conn.fd] = conn

    def forget(self, conn: Connection) -> None:
        self.connections.pop(conn.fd, None)
        if not self.accepting and not self.stopping and len(self.connections) < self.config.max_connections:
            self._accept_more(True)


def _raise_open_files_limit(wanted: int) -> None:
    # Every connection is a descriptor; the usual soft limit of 1024 would cap us far too early.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class _Acceptor:
    """The listening socket's place in the event loop."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def on_event(self, events: int) -> None:
        self.worker.accept()

    def abort(self) -> None:
        pass  # an accept error is logged in accept(); the listener stays


class _WakeupPipe:
    """Drains the bytes signal.set_wakeup_fd writes, so the loop wakes once per signal."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def on_event(self, events: int) -> None:
        try:
            while os.read(self.fd, 512):
                pass
        except BlockingIOError:
            pass

    def abort(self) -> None:
        pass
