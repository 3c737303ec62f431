"""How workers share a burst of connections: the shared load board and the deferring policy.

EPOLLEXCLUSIVE wakes one idle worker, and without the board that worker would take a whole
queued burst. The unit tests drive real, unbooted Workers in-process on a loopback listener;
the last test counts, from /proc, how bursts spread over the two workers of a real server.
"""

import os
import select
import socket
import time

import pytest

from otuserver.http import Response
from otuserver.runner import socket_count
from otuserver.server.balance import ABSENT, LoadBoard
from otuserver.server.config import ServerConfig
from otuserver.server.worker import BUSY_S, FAIR_SLACK, HOLDOFF_S, Worker, _AcceptHint
from tests.conftest import remember_children, wait_for

SHARE = FAIR_SLACK + 1   # what a worker takes while its sibling holds nothing
BURST = 40


def app(request):
    return Response(200, [("Content-Type", "text/plain")], b"ok\n")


# -- the board ----------------------------------------------------------------


def test_a_fresh_board_has_no_worker_to_defer_to():
    assert LoadBoard(slots=4).lightest() == ABSENT


def test_the_lightest_is_the_smallest_count_of_the_joined_workers():
    board = LoadBoard(slots=4)
    board.join(0)
    board.join(2)
    board.publish(0, 7)
    board.publish(2, 3)
    assert board.lightest() == 3
    board.leave(2)  # stopped or dead: it takes nothing more, so it is never the lightest
    assert board.lightest() == 7
    board.join(3)   # a slot beyond the ones used so far is read too
    assert board.lightest() == 0


def test_the_board_is_shared_with_a_forked_worker():
    board = LoadBoard(slots=2)
    board.join(0)
    board.join(1)
    board.publish(0, 9)
    pid = os.fork()
    if pid == 0:
        board.publish(1, 5)
        os._exit(0)
    os.waitpid(pid, 0)
    assert board.lightest() == 5


# -- a worker's policy ----------------------------------------------------------


@pytest.fixture
def listener():
    sock = socket.create_server(("127.0.0.1", 0), backlog=128)
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture
def hint():
    fd = os.eventfd(0, os.EFD_NONBLOCK)
    yield fd
    os.close(fd)


@pytest.fixture
def board():
    board = LoadBoard(slots=2)
    board.join(0)
    board.join(1)
    return board


@pytest.fixture
def cleanup():
    workers, clients = [], []
    yield workers, clients
    for worker in workers:
        for conn in list(worker.connections.values()):
            conn.close()
        worker.loop.close()
    for client in clients:
        client.close()


def make_worker(listener, cleanup, **kwargs) -> Worker:
    # master_pid: our parent, so that the worker's tick does not take it for a vanished master
    worker = Worker(listener, app, ServerConfig(workers=2, access_log="off"), master_pid=os.getppid(), **kwargs)
    worker._accept_more(True)  # what boot() does, without its signal handlers
    cleanup[0].append(worker)
    return worker


def queue_connections(listener, cleanup, count: int) -> None:
    cleanup[1].extend(socket.create_connection(listener.getsockname()) for _ in range(count))
    time.sleep(0.05)  # the handshakes complete in the kernel; the accept queue holds them


def hint_value(fd: int) -> int:
    """The eventfd's counter (reading resets it), 0 when nothing was posted."""
    try:
        return os.eventfd_read(fd)
    except BlockingIOError:
        return 0


def test_a_worker_takes_its_share_of_a_burst_then_defers_and_wakes_a_sibling(listener, hint, board, cleanup):
    worker = make_worker(listener, cleanup, board=board, slot=0, accept_hint=hint)
    queue_connections(listener, cleanup, 12)
    worker.accept()
    assert len(worker.connections) == SHARE
    assert board.lightest() == 0  # the sibling's count; ours is published as we go
    assert worker.deferred_until > 0 and not worker.accepting
    assert hint_value(hint) == 1


def test_a_sibling_woken_by_the_hint_takes_the_rest_of_the_burst(listener, hint, board, cleanup):
    first = make_worker(listener, cleanup, board=board, slot=0, accept_hint=hint)
    sibling = make_worker(listener, cleanup, board=board, slot=1, accept_hint=hint)
    queue_connections(listener, cleanup, 2 * SHARE)
    first.accept()
    _AcceptHint(sibling).on_event(select.EPOLLIN)  # what the sibling's loop calls on the hint
    assert (len(first.connections), len(sibling.connections)) == (SHARE, SHARE)
    _AcceptHint(sibling).on_event(select.EPOLLIN)  # read first by someone else: nothing to do
    assert len(sibling.connections) == SHARE


def test_a_deferring_worker_resumes_once_a_sibling_took_its_share(listener, hint, board, cleanup):
    worker = make_worker(listener, cleanup, board=board, slot=0, accept_hint=hint)
    queue_connections(listener, cleanup, 12)
    worker.accept()
    worker._end_deferral(worker.loop.now)
    assert worker.deferred_until > 0  # nobody took anything yet: still deferring
    board.publish(1, 3)                # the sibling took three
    worker._end_deferral(worker.loop.now)
    assert worker.deferred_until == 0 and worker.accepting
    assert worker.fair_from == 0       # the sibling helped: keep asking the board
    worker.accept()
    assert len(worker.connections) == 3 + SHARE


def test_a_sibling_that_does_not_help_in_time_is_not_waited_for_again_soon(listener, hint, board, cleanup):
    worker = make_worker(listener, cleanup, board=board, slot=0, accept_hint=hint)
    queue_connections(listener, cleanup, 12)
    worker.accept()
    later = worker.deferred_until  # a busy or stuck sibling took nothing in DEFER_S
    worker._end_deferral(later)
    assert worker.deferred_until == 0 and worker.accepting
    assert worker.fair_from == pytest.approx(later + HOLDOFF_S)
    worker.loop.now = later
    worker.accept()
    assert len(worker.connections) == 12  # the whole queue, rather than let it wait


def test_closing_connections_does_not_end_a_deferral_early(listener, hint, board, cleanup):
    worker = make_worker(listener, cleanup, board=board, slot=0, accept_hint=hint)
    queue_connections(listener, cleanup, 12)
    worker.accept()
    next(iter(worker.connections.values())).close()  # forget() publishes the new count
    assert board.lightest() == 0 and worker.deferred_until > 0 and not worker.accepting
    worker._end_deferral(worker.loop.now)  # 4 held, lightest 0: within FAIR_SLACK now
    assert worker.accepting


def test_connections_idle_for_a_while_no_longer_count_as_load(listener, hint, board, cleanup):
    # A worker holding many idle keep-alive connections must still take its share of busy ones.
    worker = make_worker(listener, cleanup, board=board, slot=0, accept_hint=hint)
    queue_connections(listener, cleanup, SHARE)
    worker.accept()
    assert board.lightest() == 0 and worker.busy == SHARE
    board.publish(1, 100)  # the sibling is busy now
    worker._tick(worker.loop.now + BUSY_S + 0.1)  # and ours have said nothing for a while
    assert worker.busy == 0 and board.lightest() == 0
    worker.loop.now += BUSY_S + 0.1
    queue_connections(listener, cleanup, 3)
    worker.accept()
    assert len(worker.connections) == SHARE + 3 and worker.busy == 3


def test_a_stopping_worker_leaves_the_board(listener, hint, board, cleanup):
    worker = make_worker(listener, cleanup, board=board, slot=0, accept_hint=hint)
    board.publish(1, 30)
    worker._begin_stop()
    assert board.lightest() == 30  # its own 0 no longer makes the others defer


def test_without_a_board_a_worker_takes_the_whole_queue(listener, cleanup):
    worker = make_worker(listener, cleanup)
    queue_connections(listener, cleanup, 12)
    worker.accept()
    assert len(worker.connections) == 12


# -- a real server --------------------------------------------------------------


def test_bursts_of_connections_are_split_evenly_between_two_workers(server_factory):
    # Before the board, a burst queued before either worker ran often went whole to one of
    # them (0/40, 4/36). A sibling that gets no CPU within DEFER_S still lets one worker take
    # more on a busy machine, so two bursts of three must be shared evenly, not all three.
    srv = server_factory(workers=2, extra_args=["--access-log", "off"])
    pids = wait_for(lambda: len(remember_children(srv.pid)) == 2 and remember_children(srv.pid), 2)
    splits = []
    for _ in range(3):
        baseline = {pid: socket_count(pid) for pid in pids}
        burst = [socket.create_connection((srv.host, srv.port), timeout=5) for _ in range(BURST)]
        try:
            def split():
                counts = sorted(socket_count(pid) - baseline[pid] for pid in pids)
                return counts if sum(counts) == BURST else None
            splits.append(wait_for(split, 10) or split())
        finally:
            for sock in burst:
                sock.close()
        assert splits[-1] is not None, "not every connection of the burst was accepted"
        wait_for(lambda: all(socket_count(pid) == baseline[pid] for pid in pids), 5)
    even = [s for s in splits if s[0] >= BURST // 2 - SHARE]
    assert len(even) >= 2, f"bursts not shared evenly: {splits}"


def test_a_count_written_by_one_worker_is_never_read_half_written_by_another():
    # struct.pack_into zero-fills before writing: a sibling would see an idle worker and defer.
    board = LoadBoard(slots=2)
    board.join(0)
    board.join(1)
    board.publish(0, 1000)
    board.publish(1, 1000)
    pid = os.fork()
    if pid == 0:
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            board.publish(1, 1000)
        os._exit(0)
    reads = zeros = 0
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        reads += 1
        zeros += board.lightest() != 1000
    assert reads > 1000
    assert zeros == 0, f"{zeros} of {reads} reads saw a half-written count"
