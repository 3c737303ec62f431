"""kill -9 of the whole server during a write load loses nothing it acknowledged (issue 5, "Data").

Six clients POST distinct scores to /api/scores; once a few hundred have been answered 201, the master
and its workers (only the pids this test started: the master and its children) are SIGKILLed at once.
The SQLite file, in the test's temporary folder, must then pass `PRAGMA integrity_check`, and every
score answered 201 must be in it under the client_id the answer named.
"""

import json
import signal
import sqlite3
import threading

from tests.conftest import child_pids
from tests.hardening.conftest import alive, kill_quietly, wait_for, workers_of
from tests.server.rawhttp import Connection, build_request

CLIENTS = 6
MAX_POSTS = 3000
KILL_AFTER = 300


def post_score(conn: Connection, score: float):
    body = json.dumps({"score": score}).encode()
    conn.send(build_request("POST", "/api/scores", body=body, headers={
        "Content-Type": "application/json", "Content-Length": str(len(body))}))
    return conn.read_response()


def test_kill_9_of_the_whole_server_during_posts_keeps_every_201_and_an_intact_database(server_factory, tmp_path):
    db = tmp_path / "data" / "scores.sqlite3"
    srv = server_factory(workers=2, extra_args=["--db", db, "--access-log", "off"])
    workers_of(srv, 2)
    acknowledged: dict[int, float] = {}
    lock = threading.Lock()
    tickets = iter(range(MAX_POSTS))
    killed = threading.Event()

    def client() -> None:
        conn = None
        for n in tickets:
            if killed.is_set():
                return
            score = n + 0.25                     # distinct, so a row proves which POST it was
            try:
                conn = conn or Connection(srv, timeout=10)
                response = post_score(conn, score)
            except OSError:
                if conn:
                    conn.close()
                conn = None
                continue
            if response.status == 201:
                with lock:
                    acknowledged[json.loads(response.body)["client_id"]] = score
        if conn:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        assert wait_for(lambda: len(acknowledged) >= KILL_AFTER, 60), f"only {len(acknowledged)} answered 201"
    finally:
        everyone = [srv.pid, *child_pids(srv.pid)]
        for pid in everyone:                     # master and workers, all at once
            kill_quietly(pid, signal.SIGKILL)
        killed.set()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads)
    assert srv.proc.wait(5) == -signal.SIGKILL
    assert wait_for(lambda: not any(alive(pid) for pid in everyone), 5)

    with sqlite3.connect(db) as database:
        assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = dict(database.execute("SELECT client_id, score FROM score"))
    database.close()
    with lock:
        answered = dict(acknowledged)
    missing = {cid: score for cid, score in answered.items() if stored.get(cid) != score}
    assert not missing, f"{len(missing)} of {len(answered)} acknowledged scores are lost: {list(missing.items())[:5]}"
    assert len(stored) >= len(answered)
