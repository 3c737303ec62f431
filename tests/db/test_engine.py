"""The engine: the file and tables appear by themselves, WAL and a busy timeout are on, a lock we
cannot get becomes 503 with Retry-After (and no half-written row), and each process has its own connection."""

import os
import sqlite3
import threading

import pytest

from otuserver.db import DatabaseBusy, Engine, IntegerField, Model, RealField


class Item(Model):
    table = "item"
    item_id = IntegerField(primary_key=True, min_value=1)
    price = RealField()


def test_database_file_folder_and_table_are_created_when_missing(tmp_path):
    path = tmp_path / "deep" / "er" / "items.sqlite3"
    engine = Engine(path, models=[Item])
    assert Item.page(engine, 0, 10) == (0, [])
    assert path.exists()
    engine.close()


def test_schema_creation_is_idempotent_and_keeps_the_rows(tmp_path):
    path = tmp_path / "items.sqlite3"
    first = Engine(path, models=[Item])
    Item(item_id=1, price=2.0).insert(first)
    first.close()
    again = Engine(path, models=[Item])
    assert Item.get(again, 1).price == 2.0
    again.close()


def test_connection_uses_wal_and_a_busy_timeout(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item], busy_timeout_s=2.5)
    conn = engine.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
    engine.close()


def test_constructing_an_engine_opens_no_connection(tmp_path):
    path = tmp_path / "sub" / "items.sqlite3"
    engine = Engine(path, models=[Item])
    engine.ensure_directory()
    assert path.parent.is_dir() and not path.exists()


def hold_write_lock(path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_write_that_cannot_get_the_lock_is_503_with_retry_after(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item], busy_timeout_s=0.1)
    engine.connection()
    blocker = hold_write_lock(engine.path)
    try:
        with pytest.raises(DatabaseBusy) as caught:
            Item(item_id=1, price=1.0).insert(engine)
        assert caught.value.status == 503
        assert ("Retry-After", "1") in caught.value.headers
    finally:
        blocker.execute("ROLLBACK")
    # The refused write left nothing behind, and the connection is usable again.
    assert Item.get(engine, 1) is None
    Item(item_id=1, price=1.0).insert(engine)
    assert Item.get(engine, 1).price == 1.0
    engine.close()


def test_a_connection_that_cannot_get_the_lock_to_create_tables_is_503_and_is_not_kept(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item], busy_timeout_s=0.1)
    engine.connection()
    engine.close()  # the file exists, in WAL mode; the next connection must take the lock for its tables
    blocker = hold_write_lock(engine.path)
    try:
        with pytest.raises(DatabaseBusy):
            engine.connection()
        assert engine._connections == {}
    finally:
        blocker.execute("ROLLBACK")
    assert Item.page(engine, 0, 10) == (0, [])  # the next request opens it afresh
    engine.close()


def test_readers_are_not_blocked_by_a_writer_in_wal_mode(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item], busy_timeout_s=0.1)
    Item(item_id=1, price=1.0).insert(engine)
    blocker = hold_write_lock(engine.path)
    try:
        assert Item.get(engine, 1).price == 1.0
    finally:
        blocker.execute("ROLLBACK")
    engine.close()


def test_an_error_inside_a_write_rolls_the_whole_transaction_back(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    with pytest.raises(RuntimeError):
        with engine.write() as conn:
            conn.execute("INSERT INTO item VALUES (?, ?)", (1, 1.0))
            raise RuntimeError("half way")
    assert Item.get(engine, 1) is None
    engine.close()


def test_a_busy_error_inside_a_write_is_503_and_rolls_back(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    locked = sqlite3.OperationalError("database is locked")
    with pytest.raises(DatabaseBusy) as caught:
        with engine.write() as conn:
            conn.execute("INSERT INTO item VALUES (?, ?)", (1, 1.0))
            raise locked
    assert caught.value.__cause__ is locked
    assert not engine.connection().in_transaction
    assert Item.get(engine, 1) is None
    engine.close()


def test_a_commit_that_fails_rolls_back_and_says_why(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    conn = engine.connection()
    # A deferred foreign key is checked at COMMIT, so COMMIT itself fails.
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE tag (item_id INTEGER REFERENCES item(item_id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        with engine.write() as conn:
            conn.execute("INSERT INTO tag VALUES (99)")
    assert not conn.in_transaction
    assert conn.execute("SELECT COUNT(*) FROM tag").fetchone() == (0,)
    engine.close()


def test_a_read_transaction_ends_when_its_block_does(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    Item(item_id=1, price=1.0).insert(engine)
    with engine.read() as conn:
        assert conn.in_transaction
        assert conn.execute("SELECT COUNT(*) FROM item").fetchone() == (1,)
    assert not conn.in_transaction
    with pytest.raises(ZeroDivisionError):
        with engine.read() as conn:
            conn.execute("SELECT COUNT(*) FROM item").fetchone()
            1 / 0
    assert not conn.in_transaction
    engine.close()


def test_values_travel_as_parameters_so_sql_in_them_is_just_data(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    Item(item_id=1, price=1.0).insert(engine)
    assert Item.get(engine, "1 OR 1=1; DROP TABLE item") is None
    assert Item.page(engine, 0, 10)[0] == 1
    engine.close()


def _in_a_forked_child(check) -> bool:
    """What `check()` returns in a forked child, which reports it and leaves at once (no cleanup of ours)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write_end, b"1" if check() else b"0")
        finally:
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1)
    os.close(read_end)
    os.waitpid(pid, 0)
    return answer == b"1"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connection(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    parent_conn = engine.connection()

    def child_writes_through_its_own_connection() -> bool:
        ok = engine.connection() is not parent_conn
        Item(item_id=7, price=7.0).insert(engine)
        return ok

    assert _in_a_forked_child(child_writes_through_its_own_connection)
    assert engine.connection() is parent_conn
    assert Item.get(engine, 7).price == 7.0
    engine.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_looks_keys_up_on_a_cursor_of_its_own(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    Item(item_id=1, price=1.0).insert(engine)
    assert Item.get(engine, 1).price == 1.0  # the parent now keeps a lookup cursor
    parent_conn = engine.connection()

    def child_looks_up_on_a_cursor_of_its_own_connection() -> bool:
        ok = Item.get(engine, 1).price == 1.0
        cursor = engine._lookup_cursors[os.getpid(), threading.get_ident()]
        return ok and cursor.connection is engine.connection() is not parent_conn

    assert _in_a_forked_child(child_looks_up_on_a_cursor_of_its_own_connection)
    assert Item.get(engine, 1).price == 1.0
    engine.close()


def test_each_thread_has_its_own_connection_and_keeps_it(tmp_path):
    # sqlite3 refuses a connection used from a thread other than its own, so a
    # shared one would fail here; the same thread must get the same one back.
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    Item(item_id=1, price=1.0).insert(engine)
    mine = engine.connection()
    seen = {}

    def other_thread():
        seen["first"], seen["again"] = engine.connection(), engine.connection()
        seen["price"] = Item.get(engine, 1).price

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert seen["first"] is seen["again"] is not mine
    assert seen["price"] == 1.0
    assert engine.connection() is mine
    engine.close()  # this thread's only: sqlite3 would refuse to close the other thread's from here


# -- key lookups on a kept cursor ------------------------------------------------
# A statement left mid-way holds a read transaction open, and in WAL mode an open
# read holds back every checkpoint. So each test below writes through another
# connection after the read and asks for a full checkpoint (TRUNCATE): it reports
# busy=0 only when no read of ours is still open.

def _write_and_checkpoint(path) -> tuple[int, int, int]:
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    try:
        other.execute("INSERT INTO item VALUES (100, 1.0)")
        return other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()  # (busy, log, checkpointed)
    finally:
        other.close()


@pytest.fixture
def three_items(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    for item_id in (1, 2, 3):
        Item(item_id=item_id, price=float(item_id)).insert(engine)
    yield engine
    engine.close()


def test_the_checkpoint_check_sees_a_read_left_open(three_items):
    # The check itself: a SELECT with rows still to come, stopped after the first, fails it.
    cursor = three_items.connection().execute("SELECT * FROM item")
    assert cursor.fetchone() == (1, 1.0)
    assert _write_and_checkpoint(three_items.path)[0] == 1
    cursor.close()


def test_a_key_lookup_leaves_no_read_open(three_items):
    assert three_items.lookup(Item._sql["get"], (2,)) == (2, 2.0)
    assert three_items.lookup(Item._sql["get"], (99,)) is None
    assert not three_items.connection().in_transaction
    assert _write_and_checkpoint(three_items.path) == (0, 0, 0)
    assert Item.get(three_items, 100).price == 1.0  # and the next lookup sees the new row


def test_a_key_lookup_reuses_its_cursor(three_items):
    three_items.lookup(Item._sql["get"], (1,))
    cursor = three_items._lookup_cursors[os.getpid(), threading.get_ident()]
    three_items.lookup(Item._sql["get"], (2,))
    assert three_items._lookup_cursors[os.getpid(), threading.get_ident()] is cursor
    assert cursor.connection is three_items.connection()


def test_a_key_lookup_that_fails_mid_row_leaves_no_read_open(three_items):
    # Text that is not UTF-8 fails in fetchone(), after the statement has stepped onto the row.
    three_items.connection().execute("INSERT INTO item VALUES (9, CAST(x'ff' AS TEXT))")
    with pytest.raises(sqlite3.OperationalError, match="decode") as caught:
        three_items.lookup(Item._sql["get"], (9,))
    # `caught` keeps the traceback, and so the cursor, alive (as a logger may): the
    # cursor must have been reset, not just dropped for the garbage collector.
    assert _write_and_checkpoint(three_items.path) == (0, 0, 0)
    del caught
    assert three_items.lookup(Item._sql["get"], (1,)) == (1, 1.0)  # a fresh cursor takes over


class _LockedCursor:
    """Stands in for the kept cursor: a real lock that stops a WAL reader is hard to
    hold on purpose (an open connection shares the WAL index), and this is all the
    engine sees of one."""

    closed = False

    def execute(self, sql, params):
        raise sqlite3.OperationalError("database is locked")

    def close(self):
        self.closed = True


def test_a_key_lookup_that_cannot_get_its_lock_is_503_and_drops_the_cursor(three_items):
    three_items.lookup(Item._sql["get"], (1,))
    key = (os.getpid(), threading.get_ident())
    locked = three_items._lookup_cursors[key] = _LockedCursor()
    with pytest.raises(DatabaseBusy):
        three_items.lookup(Item._sql["get"], (1,))
    assert locked.closed and key not in three_items._lookup_cursors
    assert three_items.lookup(Item._sql["get"], (1,)) == (1, 1.0)


def test_close_closes_only_this_threads_connection_and_leaves_the_others_working(tmp_path):
    # sqlite3 lets only the thread that opened a connection close it, so close()
    # must not reach for another thread's; that thread closes its own.
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    Item(item_id=1, price=1.0).insert(engine)
    mine = engine.connection()
    opened, close_now, closed = threading.Event(), threading.Event(), {}

    def other_thread():
        theirs = engine.connection()
        opened.set()
        close_now.wait(5)
        closed["still works"] = Item.get(engine, 1).price == 1.0
        engine.close()
        with pytest.raises(sqlite3.ProgrammingError):
            theirs.execute("SELECT 1")
        closed["theirs"] = True

    worker = threading.Thread(target=other_thread)
    worker.start()
    assert opened.wait(5)
    engine.close()
    with pytest.raises(sqlite3.ProgrammingError):
        mine.execute("SELECT 1")
    close_now.set()
    worker.join(5)
    assert closed == {"still works": True, "theirs": True}
    assert Item.get(engine, 1).price == 1.0  # this thread may open a new one after closing
    engine.close()
