"""The SQLite engine: one connection per process, opened lazily, and transactions.

An Engine is made in the master before the fork and holds only a path; each
worker opens its own connection on first use (a SQLite connection must never
cross a fork). Every connection sets WAL mode, so readers never block the
writer, and a busy timeout, so concurrent writers wait instead of failing.
Writes run in `BEGIN IMMEDIATE` transactions: the write lock is taken up
front, which keeps the busy handler in charge (a deferred transaction that
upgrades from read to write can fail at once with SQLITE_BUSY). A lock still
not granted after the timeout becomes DatabaseBusy (503, Retry-After), and
the transaction is rolled back, so the client knows its row was not stored.
A key lookup, the most common read, runs on a cursor kept with its connection.
Only parameterised SQL is executed; the engine never formats a value into SQL.
It knows a model only as the source of its CREATE TABLE text, and nothing of
requests, routing or JSON.
"""

import logging
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from threading import get_ident

from .errors import DatabaseBusy

BUSY_TIMEOUT_S = 5.0

log = logging.getLogger("otuserver.db")

# This process's id, noted again in the child after every fork. Each request
# needs it to find its connection, and os.getpid() is a system call each time
# (glibc no longer caches it); the pid only ever changes at a fork.
_pid = os.getpid()


def _note_pid_after_fork() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_note_pid_after_fork)


def is_busy(exc: BaseException) -> bool:
    """Is this the lock error that waiting could cure (SQLITE_BUSY or SQLITE_LOCKED)?"""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        # Extended codes (e.g. SQLITE_BUSY_SNAPSHOT = 517) keep the primary code in the low byte.
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _raise_busy_as_503(exc: sqlite3.OperationalError) -> None:
    """Raise DatabaseBusy (503) for a lock error that outlasted the busy timeout.

    Any other error returns, and the caller re-raises it as it was.
    """
    if is_busy(exc):
        log.warning("database busy past the timeout: %s", exc)
        raise DatabaseBusy() from exc


class Engine:
    """A SQLite database file and the tables of `models`, created when missing."""

    def __init__(self, path: str | os.PathLike, *, models: Iterable[type] = (),
                 busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.models = list(models)
        self.busy_timeout_s = busy_timeout_s
        # Both keyed by (pid, thread id): a connection must not cross a fork or a thread.
        self._connections: dict[tuple[int, int], sqlite3.Connection] = {}
        self._lookup_cursors: dict[tuple[int, int], sqlite3.Cursor] = {}

    def ensure_directory(self) -> None:
        """Create the database's folder; safe to call in the master (it opens no connection)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def check(self) -> None:
        """Open the database, give it its tables, and close it again: a start-up check.

        A file that is no database, or one the server may not write, then fails
        where it can be reported (sqlite3.Error or OSError), not as a 500 on every
        request. Closed before it returns, the connection never crosses a fork.
        """
        self._open().close()

    def connection(self) -> sqlite3.Connection:
        """This process's (and thread's) connection, opened and prepared on first use."""
        try:  # costs nothing when it does not raise, so the usual case is one dict lookup
            return self._connections[_pid, get_ident()]
        except KeyError:
            return self._connect_this_thread()

    def _connect_this_thread(self) -> sqlite3.Connection:
        self._drop_inherited()
        conn = self._connections[_pid, get_ident()] = self._open()
        return conn

    def _drop_inherited(self) -> None:
        """Forget, without using them, the connections (and cursors) inherited from a parent process.

        They belong to the parent. Dropped, the garbage collector closes the child's
        copy; the master never opens one, so only tests fork with one open.
        """
        self._connections = {k: c for k, c in self._connections.items() if k[0] == _pid}
        self._lookup_cursors = {k: c for k, c in self._lookup_cursors.items() if k[0] == _pid}

    def _open(self) -> sqlite3.Connection:
        self.ensure_directory()
        # isolation_level=None: we issue BEGIN/COMMIT ourselves; `timeout` is the busy timeout.
        # Rows stay plain tuples (no row_factory): the cheapest thing sqlite3 can build.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            self._prepare(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError):
                _raise_busy_as_503(exc)
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            log.warning("%s: WAL mode unavailable (journal_mode=%s); writers will block readers",
                        self.path, mode)
        # In WAL mode NORMAL still survives a process crash; only power loss can drop the last commits.
        conn.execute("PRAGMA synchronous = NORMAL")
        self._create_schema(conn)

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        # IF NOT EXISTS makes this idempotent, so every worker may run it at start.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for model in self.models:
                conn.execute(model.create_table_sql())
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def lookup(self, sql: str, params: tuple) -> tuple | None:
        """The row of a key lookup -- a SELECT that yields at most one row -- or None.

        A lone statement is its own transaction in autocommit mode, so it needs no
        BEGIN/COMMIT (two round trips saved per read). It runs on a cursor kept with
        the connection, not a new one per call, which is safe only for at most one
        row: fetchone() steps once more, meets the end and resets the statement, so
        no read transaction is left open (one would hold back every checkpoint of
        the WAL). A SELECT of more rows belongs in `read()`.
        """
        key = (_pid, get_ident())
        try:
            cursor = self._lookup_cursors[key]
        except KeyError:
            cursor = self._lookup_cursors[key] = self.connection().cursor()
        try:
            return cursor.execute(sql, params).fetchone()
        except BaseException as exc:
            # An error (a row that cannot be decoded, say) can stop the statement
            # before its end; closing the cursor resets it, and the next call makes another.
            self._lookup_cursors.pop(key, None)
            cursor.close()
            if isinstance(exc, sqlite3.OperationalError):
                _raise_busy_as_503(exc)
            raise

    def read(self) -> "_Transaction":
        """A read transaction: every SELECT inside sees the same snapshot."""
        return _Transaction(self.connection(), "BEGIN")

    def write(self) -> "_Transaction":
        """A write transaction holding the write lock from the start; rolled back on any error."""
        return _Transaction(self.connection(), "BEGIN IMMEDIATE")

    def close(self) -> None:
        """Close the calling thread's connection; the engine opens a new one if used again.

        Only this thread's: sqlite3 lets a connection be closed only by the thread
        that opened it, so each thread that used the engine closes its own (a
        worker has one thread, so there this closes all it has). Entries inherited
        from a parent process are dropped, never closed: they are the parent's.
        """
        key = (_pid, get_ident())
        self._lookup_cursors.pop(key, None)
        conn = self._connections.pop(key, None)
        self._drop_inherited()
        if conn is not None:
            conn.close()

    def __repr__(self) -> str:
        return f"<Engine {self.path}>"


class _Transaction:
    """`with engine.write() as conn:` -- BEGIN on entry; COMMIT on a clean exit, ROLLBACK on any error.

    A lock not granted within the busy timeout, at BEGIN, inside or at COMMIT,
    leaves as DatabaseBusy (503). A class, not a @contextmanager generator: every
    write and every page runs one, and a generator-based one costs several times more.
    """

    __slots__ = ("conn", "begin")

    def __init__(self, conn: sqlite3.Connection, begin: str) -> None:
        self.conn, self.begin = conn, begin

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute(self.begin)
        except sqlite3.OperationalError as exc:
            _raise_busy_as_503(exc)
            raise
        return self.conn

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is None:
            try:
                self.conn.execute("COMMIT")
                return False
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.OperationalError):
                    _raise_busy_as_503(exc)
                raise
        self._rollback()
        if isinstance(error, sqlite3.OperationalError):
            _raise_busy_as_503(error)
        return False  # the error goes on as it was

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
