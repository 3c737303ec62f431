"""Heartbeats in shared memory: slots, silence, and a beat that another process never sees half-written.

The master killed a healthy worker in a benchmark run ("silent for 32791 s"): struct.pack_into
zero-fills its target before it writes the value, and the master read the slot in between.
"""

import os
import time

from otuserver.server.heartbeat import Heartbeats


def test_a_new_slot_is_stamped_alive_and_silence_grows_from_the_last_beat():
    beats = Heartbeats(slots=4)
    slot = beats.allocate()
    assert beats.silence(slot) < 1.0
    beats.beat(slot, now=100.0)
    assert beats.last(slot) == 100.0
    assert beats.silence(slot, now=130.5) == 30.5


def test_released_slots_are_reused():
    beats = Heartbeats(slots=2)
    first = beats.allocate()
    beats.release(first)
    assert beats.allocate() == first


def test_a_beat_written_by_a_worker_is_never_read_as_zero_by_the_master():
    beats = Heartbeats(slots=4)
    slot = beats.allocate()
    pid = os.fork()
    if pid == 0:  # the worker: beat as fast as a busy event loop, for half a second
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            beats.beat(slot)
        os._exit(0)
    reads = zeros = 0
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        reads += 1
        zeros += beats.last(slot) == 0.0
    assert reads > 1000  # the two really ran side by side
    assert zeros == 0, f"{zeros} of {reads} reads saw a half-written beat"
