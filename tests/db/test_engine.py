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


def test_values_travel_as_parameters_so_sql_in_them_is_just_data(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    Item(item_id=1, price=1.0).insert(engine)
    assert Item.get(engine, "1 OR 1=1; DROP TABLE item") is None
    assert Item.page(engine, 0, 10)[0] == 1
    engine.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connection(tmp_path):
    engine = Engine(tmp_path / "items.sqlite3", models=[Item])
    parent_conn = engine.connection()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write a row through a connection of its own, report, and leave at once
        try:
            ok = engine.connection() is not parent_conn
            Item(item_id=7, price=7.0).insert(engine)
            os.write(write_end, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write_end)
    assert os.read(read_end, 1) == b"1"
    os.waitpid(pid, 0)
    assert engine.connection() is parent_conn
    assert Item.get(engine, 7).price == 7.0
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
    # No engine.close(): sqlite3 would refuse to close the other thread's connection from this one.
