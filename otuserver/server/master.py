"""The pre-fork master: bind once, fork the workers, and keep the right number alive.

The master owns the listening socket and the worker processes, nothing else: it
never accepts a connection itself. Signal handlers only queue the signal; the
main loop wakes through a pipe (signal.set_wakeup_fd) and dispatches
`handle_<name>`. Dead workers are reaped with waitpid(-1, WNOHANG) and replaced;
a worker that fails while booting stops the master instead of respawning forever.

    TERM, INT  graceful stop: workers finish responses in flight, then exit 0
    QUIT       fast stop
"""

import errno
import logging
import os
import select
import signal
import socket
import sys
import time
import traceback

from .config import ServerConfig
from .worker import Worker

log = logging.getLogger("otuserver.master")

WORKER_BOOT_ERROR = 3   # exit status of a worker that could not start
TICK_S = 1.0
CRASH_WINDOW_S = 1.0    # a worker that dies younger than this is crash-looping
MAX_RESPAWN_DELAY_S = 5.0
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGCHLD)


def bind_listener(host: str, port: int, backlog: int) -> socket.socket:
    """The one listening socket every worker will accept from (raises OSError)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Restarting must not wait for the old socket's TIME_WAIT to expire.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Master:
    """Supervise `config.workers` worker processes serving `app` on `listener`."""

    def __init__(self, listener: socket.socket, app, config: ServerConfig) -> None:
        self.listener = listener
        self.app = app
        self.config = config
        self.workers: dict[int, float] = {}   # pid -> when it was started
        self.signal_queue: list[int] = []
        self.stopping = False
        self.stop_deadline = 0.0
        self.exit_status = 0
        self.respawn_delay = 0.0        # grows while workers keep dying young
        self.next_spawn = 0.0
        self._wakeup_r = self._wakeup_w = -1

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.listener.getsockname()[:2]
        return host, port

    # -- the main loop ------------------------------------------------------

    def run(self, on_ready=None) -> int:
        """Fork the workers, call on_ready(), and supervise until stopped; returns the exit status."""
        self._install_signals()
        self.spawn_missing()
        if on_ready:
            on_ready()
        while True:
            self._wait_for_signal(self._next_wakeup())
            while self.signal_queue:
                self._dispatch(self.signal_queue.pop(0))
            self.reap()
            if self.stopping:
                if not self.workers:
                    break
                if time.monotonic() >= self.stop_deadline:
                    self._kill_all(signal.SIGKILL)
            else:
                self.spawn_missing()
        # The interpreter's shutdown would restore default handlers mid-way; a late
        # TERM must not turn a clean exit into death by signal.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        self.listener.close()
        return self.exit_status

    def _next_wakeup(self) -> float:
        if len(self.workers) < self.config.workers and not self.stopping:
            return min(TICK_S, max(0.0, self.next_spawn - time.monotonic()))
        return TICK_S

    def _install_signals(self) -> None:
        self._wakeup_r, self._wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._wakeup_w)
        for sig in HANDLED_SIGNALS:
            signal.signal(sig, self._queue_signal)

    def _queue_signal(self, signum, frame) -> None:
        # Only record it: the loop acts, outside of whatever the handler interrupted.
        self.signal_queue.append(signum)

    def _wait_for_signal(self, timeout: float) -> None:
        try:
            ready, _, _ = select.select([self._wakeup_r], [], [], timeout)
            if ready:
                os.read(self._wakeup_r, 4096)
        except InterruptedError:
            pass

    def _dispatch(self, signum: int) -> None:
        name = signal.Signals(signum).name[3:].lower()
        handler = getattr(self, f"handle_{name}", None)
        if handler:
            handler()

    # -- signals ------------------------------------------------------------

    def handle_term(self) -> None:
        self.stop(graceful=True)

    def handle_int(self) -> None:
        # A notebook's "interrupt kernel" or a Ctrl-C should not cut downloads short.
        self.stop(graceful=True)

    def handle_quit(self) -> None:
        self.stop(graceful=False)

    def handle_chld(self) -> None:
        self.reap()

    def stop(self, graceful: bool) -> None:
        if self.stopping and graceful:
            return
        self.stopping = True
        timeout = self.config.graceful_timeout if graceful else 1.0
        self.stop_deadline = time.monotonic() + timeout + 1.0
        self._kill_all(signal.SIGTERM if graceful else signal.SIGQUIT)

    # -- workers ------------------------------------------------------------

    def spawn_missing(self) -> None:
        if time.monotonic() < self.next_spawn:
            return  # backing off: a worker that keeps crashing must not pin a CPU
        while len(self.workers) < self.config.workers and not self.stopping:
            self.spawn_worker()

    def spawn_worker(self) -> int:
        sys.stdout.flush()
        sys.stderr.flush()  # or the child would write the parent's buffered output again
        pid = os.fork()
        if pid:
            self.workers[pid] = time.monotonic()
            return pid
        os._exit(self._run_worker())

    def _run_worker(self) -> int:
        """In the child: drop the master's signal plumbing and serve. Never returns normally."""
        try:
            signal.set_wakeup_fd(-1)
            os.close(self._wakeup_r)
            os.close(self._wakeup_w)
            for sig in HANDLED_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            worker = Worker(self.listener, self.app, self.config, os.getppid())
            worker.boot()
        except BaseException:
            traceback.print_exc()
            return WORKER_BOOT_ERROR
        try:
            worker.run()
            return 0
        except BaseException:
            traceback.print_exc()
            return 1
        finally:
            sys.stderr.flush()

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            started = self.workers.pop(pid, None)
            if started is None:
                continue
            self._note_lifetime(time.monotonic() - started)
            code = os.waitstatus_to_exitcode(status)
            if code == WORKER_BOOT_ERROR and not self.stopping:
                log.error("worker %d could not start; stopping the server", pid)
                self.exit_status = 1
                self.stop(graceful=False)
            elif not self.stopping:
                log.warning("worker %d exited with %s; starting a new one", pid, _describe(code))

    def _note_lifetime(self, lived: float) -> None:
        if lived < CRASH_WINDOW_S:
            self.respawn_delay = min(max(self.respawn_delay * 2, 0.1), MAX_RESPAWN_DELAY_S)
        else:
            self.respawn_delay = 0.0
        self.next_spawn = time.monotonic() + self.respawn_delay

    def _kill_all(self, sig: int) -> None:
        for pid in list(self.workers):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                self.workers.pop(pid, None)
            except OSError as error:
                if error.errno != errno.ESRCH:
                    raise


def _describe(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"
