"""The master's own machinery, driven in this process: forking workers and signalling them at once.

A HUP storm on a real server left a retired worker serving the old configuration for good: the
master sent it SIGTERM in the instant after fork, before the child had dropped the master's
handlers, and the signal went into a queue that no loop in the child would ever read. Here the
master's `spawn_worker` runs in the test process and every signal follows the fork immediately.
"""

import os
import signal
import time
from dataclasses import replace

import pytest

from otuserver.http import Response
from otuserver.runner import alive
from otuserver.server.config import ServerConfig
from otuserver.server.heartbeat import Heartbeats
from otuserver.server.master import HANDLED_SIGNALS, Master, bind_listener

FORKS = 20


def hello(request):
    return Response(200, [("Content-Type", "text/plain")], b"hello\n")


@pytest.fixture
def master(tmp_path):
    """A Master with its signal plumbing installed in this process; undone, and its workers killed, after."""
    saved = {sig: signal.getsignal(sig) for sig in HANDLED_SIGNALS}
    listener = bind_listener("127.0.0.1", 0, 16)
    config = ServerConfig(root=str(tmp_path), workers=1, access_log="off", graceful_timeout=1.0)
    master = Master(listener, hello, config)
    master._install_signals()
    yield master
    signal.set_wakeup_fd(-1)
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    for pid in master.workers:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
    os.close(master._wakeup_r)
    os.close(master._wakeup_w)
    listener.close()


def exits_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        time.sleep(0.01)
    return not alive(pid)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGQUIT], ids=["TERM", "QUIT"])
def test_a_worker_signalled_the_instant_it_is_forked_still_stops(master, sig):
    for _ in range(FORKS):
        pid = master.spawn_worker()
        os.kill(pid, sig)
        assert exits_within(pid, 5), f"worker {pid} ignored a {sig.name} sent just after its fork"
        master.workers.pop(pid)


def test_a_usr1_the_instant_a_worker_is_forked_does_not_kill_it(master):
    for _ in range(FORKS):
        pid = master.spawn_worker()
        os.kill(pid, signal.SIGUSR1)                 # reopen the logs: never a reason to die
        assert not exits_within(pid, 0.2), f"worker {pid} died of a SIGUSR1 sent just after its fork"
        os.kill(pid, signal.SIGTERM)
        assert exits_within(pid, 5)
        master.workers.pop(pid)


def test_more_workers_than_heartbeat_slots_are_not_forked_and_the_master_goes_on(master):
    # Every worker needs a heartbeat slot; with none free, allocate() raised IndexError out of the
    # master's loop and the whole server died (-w 2000, many TTINs, or a HUP storm whose retiring
    # workers still hold their slots). The master now forks what fits and waits for a free slot.
    master.heartbeats = Heartbeats(slots=2)
    master.config = replace(master.config, workers=3)
    master.spawn_missing()
    assert len(master.workers) == 2
    pid = next(iter(master.workers))
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:   # a zombie, left for the master to reap
        time.sleep(0.01)
    master.reap()
    master.next_spawn = 0.0
    master.spawn_missing()                               # the freed slot goes to a new worker
    assert len(master.workers) == 2 and pid not in master.workers
