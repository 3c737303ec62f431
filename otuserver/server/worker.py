"""A worker process: one epoll loop that accepts connections and serves them.

The master forks a Worker with the listening socket already bound; the worker
builds its own epoll set (an epoll descriptor must never be shared across a
fork), accepts with EPOLLEXCLUSIVE so one connection wakes one worker, leaves
the rest of a burst to a lighter sibling (see `accept`), and runs until told
to stop. SIGTERM drains gracefully, SIGQUIT stops at once, SIGINT is
ignored (the master decides), and the worker leaves by itself when its master
disappears. It knows the application only as `app(request) -> Response` (the
connection may also ask its optional `error_response` hook, see connection.py).
"""

import errno
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
FAIR_SLACK = 4             # busy connections a worker may hold beyond the lightest before deferring
BUSY_S = 1.0               # a connection with no progress for this long no longer counts as load
DEFER_S = 0.01             # how long it leaves new connections to its siblings at most
DEFER_POLL_S = 0.002       # how often a deferring worker looks whether a sibling took them
HOLDOFF_S = 1.0            # after siblings did not take them in time, do not wait for them again so soon
ACCEPT_PAUSE_S = 0.5       # how long accepting rests when the process or system is out of descriptors
# accept(2) errors that say "no room for a new descriptor", not "this one connection failed".
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class Worker:
    """Serve connections from `listener` with `app` until stopped."""

    def __init__(self, listener: socket.socket, app, config: ServerConfig, master_pid: int,
                 heartbeat=None, board=None, slot: int = 0, accept_hint: int | None = None) -> None:
        self.listener = listener
        self.board = board              # a balance.LoadBoard shared with the siblings, or None
        self.slot = slot                # this worker's place on it
        self.accept_hint = accept_hint  # an eventfd every worker watches, or None
        self.busy = 0                   # connections that made progress lately (what the board shows)
        self.deferred_until = 0.0       # while set, new connections are left to the siblings
        self.fair_from = 0.0            # the board is not asked before this time
        self.paused_until = 0.0         # out of descriptors: accepting rests until then
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
            if self.deferred_until:
                self._end_deferral(self.loop.now)
            wait = DEFER_POLL_S if self.deferred_until else TICK_S
            if self.stopping:  # wake for the graceful deadline itself, not up to a tick after it
                wait = min(wait, max(0.0, self.stop_deadline - self.loop.now))
            self.loop.run_once(wait)
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
        self._close_all()

    def _close_all(self) -> None:
        """Cut what is still open (the graceful timeout passed, a fast stop, no master) here
        rather than leave it to the kernel at exit, so each cut download gets its log line."""
        self.stopping = True  # so that forget() neither resumes accepting nor publishes load
        for conn in list(self.connections.values()):
            conn.close()
        if self.access_log:
            self.access_log.flush()

    def _tick(self, now: float) -> None:
        if os.getppid() != self.master_pid:
            log.warning("worker %d: master is gone, exiting", os.getpid())
            self.alive = False
            return
        busy = 0
        for conn in list(self.connections.values()):
            if now >= conn.deadline:
                conn.on_timeout()
            busy += now - conn.armed_at < BUSY_S
        if self.paused_until and now >= self.paused_until:
            self.paused_until = 0.0
            if (not (self.accepting or self.stopping or self.deferred_until)
                    and len(self.connections) < self.config.max_connections):
                self._accept_more(True)
        if self.board is not None and not self.stopping:
            self.busy = busy  # recounted here; accept and forget only adjust it in between
            self.board.publish(self.slot, busy)
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
        # A log that cannot be reopened (its folder gone) must not cost the worker: its
        # replacement could not open it either, and a worker that cannot boot stops the
        # master. Like nginx, go on writing to the file already open, and say why.
        if self.access_log:
            self.access_log.flush()
            try:
                self.access_log.reopen()
            except OSError as error:
                log.error("worker %d: cannot reopen the access log, keeping the old file: %s", os.getpid(), error)
        if self.config.log_file:
            try:
                redirect_stdio(self.config.log_file)
            except OSError as error:
                log.error("worker %d: cannot reopen the log file, keeping the old one: %s", os.getpid(), error)

    def _begin_stop(self) -> None:
        self.stopping = True
        self.stop_deadline = time.monotonic() + self.config.graceful_timeout
        if self.board is not None:
            self.board.leave(self.slot)
        self._accept_more(False)
        self.listener.close()
        for conn in list(self.connections.values()):
            conn.stop_gracefully()

    # -- connections --------------------------------------------------------

    def _accept_more(self, wanted: bool) -> None:
        """Start or stop listening for new connections (the backlog holds them meanwhile)."""
        if wanted and not self.accepting:
            # epoll_ctl(2) lets EPOLLEXCLUSIVE go only with EPOLLIN, EPOLLOUT, EPOLLWAKEUP and
            # EPOLLET, so not with the loop's usual READ mask, which carries EPOLLRDHUP.
            self.loop.add(self.listener.fileno(), select.EPOLLIN | EXCLUSIVE, _Acceptor(self))
            if self.accept_hint is not None:
                self.loop.add(self.accept_hint, select.EPOLLIN | EXCLUSIVE, _AcceptHint(self))
        elif not wanted and self.accepting:
            self.loop.remove(self.listener.fileno())
            if self.accept_hint is not None:
                self.loop.remove(self.accept_hint)
        self.accepting = wanted

    def accept(self) -> None:
        """Take queued connections while this worker holds no more than its share.

        EPOLLEXCLUSIVE wakes the first idle worker, and a burst is often queued whole
        before any worker runs; taking all of it would leave one worker serving a load
        tester's 50 keep-alive connections while its sibling idles. So once this worker
        holds more than FAIR_SLACK busy connections above the lightest-loaded one, it
        defers. Busy, not all: a worker holding thousands of idle keep-alive connections
        is not loaded by them, and counting them would send every busy one elsewhere.
        """
        for _ in range(ACCEPTS_PER_WAKEUP):
            if len(self.connections) >= self.config.max_connections:
                self._accept_more(False)  # full: resumed in forget() when one closes
                return
            if self.board is not None and self._over_share():
                self._defer()
                return
            try:
                # socket.accept() is _accept() plus a wrapper that turns the listener's
                # family and type into enums on every call; we know them already.
                fd, address = self.listener._accept()
            except (BlockingIOError, InterruptedError):
                return  # another worker took it, or the queue is empty
            except OSError as error:
                log.warning("accept failed: %s", error)
                if error.errno in _OUT_OF_RESOURCES:
                    self._pause_accepting()
                return
            sock = socket.socket(self.family, socket.SOCK_STREAM, 0, fd)
            sock.setblocking(False)  # TCP_NODELAY comes from the listener (bind_listener)
            conn = Connection(sock, address[0], self)
            self.connections[conn.fd] = conn
            if self.board is not None:
                self.busy += 1
                self.board.publish(self.slot, self.busy)

    def _pause_accepting(self) -> None:
        """Stop watching the listener for ACCEPT_PAUSE_S (nginx rests 500 ms too).

        The connections stay queued, and epoll is level-triggered: watched, the listener
        would wake the loop again at once, and the worker would spin on EMFILE, a
        warning per turn, until a descriptor freed. A connection that closes resumes
        accepting early (in forget); the tick resumes it once the pause is over.
        """
        self._accept_more(False)
        self.paused_until = self.loop.now + ACCEPT_PAUSE_S

    def forget(self, conn: Connection) -> None:
        self.connections.pop(conn.fd, None)
        if self.board is not None and not self.stopping and self.busy and self.loop.now - conn.armed_at < BUSY_S:
            self.busy -= 1
            self.board.publish(self.slot, self.busy)
        if (not self.accepting and not self.stopping and not self.deferred_until
                and len(self.connections) < self.config.max_connections):
            self._accept_more(True)

    # -- sharing a burst ----------------------------------------------------

    def _over_share(self) -> bool:
        return (self.busy > self.board.lightest() + FAIR_SLACK
                and self.loop.now >= self.fair_from)

    def _defer(self) -> None:
        """Leave the queued connections to a lighter sibling for up to DEFER_S."""
        self._accept_more(False)
        self.deferred_until = self.loop.now + DEFER_S
        if self.accept_hint is not None:
            # The kernel woke this worker for the connection, not the sibling, which may
            # be asleep in epoll_wait; the eventfd wakes exactly one idle watcher.
            os.eventfd_write(self.accept_hint, 1)

    def _end_deferral(self, now: float) -> None:
        if self._over_share():
            if now < self.deferred_until:
                return
            # No sibling took its share in time: busy, or stuck in a handler. Accept
            # again, and do not wait for them again for a while.
            self.fair_from = now + HOLDOFF_S
        self.deferred_until = 0.0
        if not self.stopping and len(self.connections) < self.config.max_connections:
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


class _AcceptHint:
    """The accept hint's place in the event loop: a sibling left connections in the queue."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def on_event(self, events: int) -> None:
        try:
            os.eventfd_read(self.worker.accept_hint)  # reset it, or it would stay readable
        except BlockingIOError:
            return  # another worker read it first
        self.worker.accept()

    def abort(self) -> None:
        pass


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
