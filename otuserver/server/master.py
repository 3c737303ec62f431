"""The pre-fork master: bind once, fork the workers, and keep the right number alive.

The master owns the listening socket and the worker processes, nothing else: it
never accepts a connection itself. Signal handlers only queue the signal; the
main loop wakes through a pipe (signal.set_wakeup_fd) and dispatches
`handle_<name>`. Dead workers are reaped with waitpid(-1, WNOHANG) and replaced;
a worker that fails while booting stops the master instead of respawning
forever, and one whose heartbeat falls silent for `timeout` seconds is killed.

    TERM, INT  graceful stop: workers finish responses in flight, then exit 0
    QUIT       fast stop
    HUP        reload: read the configuration again, start new workers, drain the old
    TTIN/TTOU  one worker more / one fewer
    USR1       reopen the log files (after logrotate moved them)
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
from dataclasses import dataclass, replace

from .access_log import redirect_stdio
from .balance import LoadBoard
from .config import ServerConfig
from .heartbeat import Heartbeats
from .worker import Worker

log = logging.getLogger("otuserver.master")

WORKER_BOOT_ERROR = 3   # exit status of a worker that could not start
TICK_S = 1.0
CRASH_WINDOW_S = 1.0    # a worker that dies younger than this is crash-looping
MAX_RESPAWN_DELAY_S = 5.0
BOOT_TIMEOUT_S = 10.0   # the ready line waits this long at most for the workers' first beat
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGCHLD,
                   signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGUSR1)


def bind_listener(host: str, port: int, backlog: int) -> socket.socket:
    """The one listening socket every worker will accept from (raises OSError)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Restarting must not wait for the old socket's TIME_WAIT to expire.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Small responses must leave at once, not wait for Nagle's timer; Linux copies
        # TCP_NODELAY to every accepted socket, which saves a syscall per connection.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class WorkerInfo:
    pid: int
    slot: int               # its heartbeat slot
    started: float
    generation: int         # bumped by every reload (HUP)
    retiring: bool = False  # told to stop: no longer counts toward the worker count
    killed: bool = False


class Master:
    """Supervise `config.workers` worker processes serving `app` on `listener`.

    `reload`, if given, is called on SIGHUP and returns a new (config, app).
    """

    def __init__(self, listener: socket.socket, app, config: ServerConfig, reload=None) -> None:
        self.listener = listener
        self.app = app
        self.config = config
        self.reload = reload
        self.heartbeats = Heartbeats()
        # How many busy connections each worker holds, and an eventfd every worker watches:
        # a worker that holds more than its share leaves a burst's rest in the queue and
        # bumps the eventfd to wake an idle sibling for it (balance.py, Worker.accept).
        self.board = LoadBoard()
        self.accept_hint = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC) if hasattr(os, "eventfd") else None
        self.workers: dict[int, WorkerInfo] = {}
        self.generation = 0
        self.signal_queue: list[int] = []
        self.stopping = False
        self.stop_deadline = 0.0
        self.exit_status = 0
        self.respawn_delay = 0.0        # grows while workers keep dying young
        self.next_spawn = 0.0
        self.out_of_slots = False       # said once, until a worker can be forked again
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
        self._wait_for_boot()
        if on_ready and not self.stopping:
            on_ready()  # only now: a daemon's `start` must not report a server that cannot boot
        while True:
            self._wait_for_signal(self._next_wakeup())
            while self.signal_queue:
                self._dispatch(self.signal_queue.pop(0))
            self.reap()
            self.check_heartbeats()
            if self.stopping:
                if not self.workers:
                    break
                if time.monotonic() >= self.stop_deadline:
                    self._signal_all(signal.SIGKILL)
            else:
                self.spawn_missing()
        # The interpreter's shutdown would restore default handlers mid-way; a late
        # TERM must not turn a clean exit into death by signal.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        self.listener.close()
        if self.accept_hint is not None:
            os.close(self.accept_hint)
        return self.exit_status

    def _wait_for_boot(self) -> None:
        """Until every worker has beaten once (booted), one has failed, or BOOT_TIMEOUT_S passes."""
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while not self.stopping and time.monotonic() < deadline:
            if all(self.heartbeats.last(w.slot) > w.started for w in self.workers.values()):
                return
            self._wait_for_signal(0.02)
            while self.signal_queue:
                self._dispatch(self.signal_queue.pop(0))
            self.reap()

    def _next_wakeup(self) -> float:
        if self._missing() and not self.stopping:
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

    def handle_ttin(self) -> None:
        self.config = replace(self.config, workers=self.config.workers + 1)
        log.info("SIGTTIN: now %d workers", self.config.workers)

    def handle_ttou(self) -> None:
        if self.config.workers <= 1:
            return
        self.config = replace(self.config, workers=self.config.workers - 1)
        log.info("SIGTTOU: now %d workers", self.config.workers)
        active = [w for w in self.workers.values() if not w.retiring]
        if len(active) > self.config.workers:
            self._retire(min(active, key=lambda w: w.started))

    def handle_usr1(self) -> None:
        if self.config.log_file:
            try:
                redirect_stdio(self.config.log_file)
            except OSError as error:  # keep the old file, as the workers do (Worker._reopen_logs)
                log.error("SIGUSR1: cannot reopen the log file, keeping the old one: %s", error)
        for info in self.workers.values():
            _send(info.pid, signal.SIGUSR1)

    def handle_hup(self) -> None:
        if self.reload is None:
            log.warning("SIGHUP: nothing to reload")
            return
        try:
            config, app = self.reload()
        except Exception as error:  # a bad new config must not take the running server down
            log.error("SIGHUP: reload failed, keeping the running configuration: %s", error)
            return
        if (config.host, config.port) != (self.config.host, self.config.port):
            log.warning("SIGHUP: a new address needs a restart; still listening on %s:%d", *self.address)
        self.config, self.app = replace(config, host=self.config.host, port=self.config.port), app
        self.generation += 1
        log.info("SIGHUP: configuration reloaded; replacing the workers")
        for info in list(self.workers.values()):
            self._retire(info)
        self.next_spawn = 0.0
        self.spawn_missing()

    def stop(self, graceful: bool) -> None:
        if self.stopping and graceful:
            return
        self.stopping = True
        timeout = self.config.graceful_timeout if graceful else 1.0
        self.stop_deadline = time.monotonic() + timeout + 1.0
        self._signal_all(signal.SIGTERM if graceful else signal.SIGQUIT)

    # -- workers ------------------------------------------------------------

    def _missing(self) -> int:
        active = sum(1 for w in self.workers.values() if not w.retiring)
        return self.config.workers - active

    def spawn_missing(self) -> None:
        if time.monotonic() < self.next_spawn:
            return  # backing off: a worker that keeps crashing must not pin a CPU
        for _ in range(self._missing()):
            if self.stopping:
                return
            if not self.heartbeats.available():
                # Every slot is taken (retiring workers keep theirs until they exit): wait for
                # one to free rather than let allocate() raise out of the loop and end the server.
                if not self.out_of_slots:
                    log.error("no heartbeat slot free for another worker (%d in use); waiting for one",
                              self.heartbeats.slots)
                self.out_of_slots = True
                return
            self.out_of_slots = False
            self.spawn_worker()

    def spawn_worker(self) -> int:
        slot = self.heartbeats.allocate()
        self.board.join(slot)
        # Taken before the fork: a child asking getppid() could already get 1 if
        # the master died in between, and would then never notice it is orphaned.
        master_pid = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()  # or the child would write the parent's buffered output again
        # Blocked across the fork: a TERM sent to the child before it drops the master's
        # handlers would land in a queue no loop of the child reads (a HUP storm left a
        # retired worker serving the old configuration for good). The child unblocks
        # them once the worker's own handlers are in place; until then they wait.
        signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
            raise
        if pid == 0:
            os._exit(self._run_worker(slot, master_pid))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
        self.workers[pid] = WorkerInfo(pid, slot, time.monotonic(), self.generation)
        return pid

    def _run_worker(self, slot: int, master_pid: int) -> int:
        """In the child: drop the master's signal plumbing and serve. Never returns normally."""
        try:
            signal.set_wakeup_fd(-1)
            os.close(self._wakeup_r)
            os.close(self._wakeup_w)
            for sig in HANDLED_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            worker = Worker(self.listener, self.app, self.config, master_pid,
                            heartbeat=lambda now: self.heartbeats.beat(slot, now),
                            board=self.board, slot=slot, accept_hint=self.accept_hint)
            worker.boot()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)  # see spawn_worker
        except BaseException as error:
            traceback.print_exc()
            log.error("worker %d cannot start: %s", os.getpid(), error)
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
            info = self.workers.pop(pid, None)
            if info is None:
                continue
            self.heartbeats.release(info.slot)
            self.board.leave(info.slot)
            code = os.waitstatus_to_exitcode(status)
            if info.retiring or self.stopping:
                continue
            self._note_lifetime(time.monotonic() - info.started)
            if code == WORKER_BOOT_ERROR:
                log.error("worker %d could not start; stopping the server", pid)
                self.exit_status = 1
                self.stop(graceful=False)
            else:
                log.warning("worker %d exited with %s; starting a new one", pid, _describe(code))

    def check_heartbeats(self) -> None:
        """Kill a worker whose event loop has not turned for `timeout` seconds."""
        now = time.monotonic()
        for info in self.workers.values():
            silence = self.heartbeats.silence(info.slot, now)
            if not info.killed and silence > self.config.timeout:
                log.error("worker %d silent for %.0f s (stuck in a handler?); killing it",
                          info.pid, silence)
                info.killed = True
                _send(info.pid, signal.SIGKILL)

    def _retire(self, info: WorkerInfo) -> None:
        info.retiring = True
        _send(info.pid, signal.SIGTERM)

    def _note_lifetime(self, lived: float) -> None:
        if lived < CRASH_WINDOW_S:
            self.respawn_delay = min(max(self.respawn_delay * 2, 0.1), MAX_RESPAWN_DELAY_S)
        else:
            self.respawn_delay = 0.0
        self.next_spawn = time.monotonic() + self.respawn_delay

    def _signal_all(self, sig: int) -> None:
        for pid in list(self.workers):
            _send(pid, sig)


def _send(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError as error:
        if error.errno != errno.ESRCH:
            raise  # ESRCH: it is already gone, and reap() will hear of it


def _describe(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"
