"""One small interface over sqlite3 and psycopg for the read models.

SQL is written with ``?`` placeholders and translated for PostgreSQL.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

WAL_LIMIT = 256 * 1024 * 1024
SCHEMA_LOCK = 0x6F72646572636861  # the advisory lock under which a process makes its tables ("ordercha")
_schema = threading.RLock()
_schema_depth = 0
CHECKPOINT_EVERY = 5.0  # seconds between idle checkpoints


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def shown(target: str) -> str:
    """A database to name in output: a PostgreSQL URL without its password."""
    if not is_postgres(target):
        return target
    from urllib.parse import urlsplit, urlunsplit

    url = urlsplit(target)
    if url.password is None:
        return target
    return urlunsplit(url._replace(netloc=url.netloc.replace(f":{url.password}@", ":***@", 1)))


@contextmanager
def schema_lock(target: str) -> Iterator[None]:
    """While a process makes its tables (``CREATE ... IF NOT EXISTS``), no other process on
    the same PostgreSQL database makes its own: two that start together would otherwise
    race on the catalogue (``pg_type``'s unique index) and one would fail. A session lock on
    a connection of its own, held only for the making (no transaction is held open, so no
    other connection waits on it); re-entrant within a process. SQLite needs none (its
    writes are serialised already)."""
    global _schema_depth
    if not is_postgres(target):
        yield
        return
    import psycopg

    with _schema:
        conn = psycopg.connect(target, autocommit=True) if _schema_depth == 0 else None
        try:
            if conn is not None:
                conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            _schema_depth += 1
            try:
                yield
            finally:
                _schema_depth -= 1
        finally:
            if conn is not None:
                conn.close()  # the lock ends with its session


class Database:
    """A connection per thread to the views' database (SQLite file or PostgreSQL)."""

    def __init__(self, target: str):
        self.target = target
        self.is_postgres = is_postgres(target)
        self._local = threading.local()
        self._lock = threading.RLock()
        self._last_checkpoint = time.monotonic()
        self._checkpointing: threading.Thread | None = None

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.is_postgres:
                import psycopg

                conn = psycopg.connect(self.target, autocommit=True)
            else:
                conn = sqlite3.connect(self.target, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # views are rebuildable from the event log
                conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: a catch-up batch stays in memory
                # No checkpoint inside a commit: the engine checkpoints when idle (see checkpoint()).
                conn.execute("PRAGMA wal_autocheckpoint=0")
            self._local.conn = conn
        return conn

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.is_postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn().execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn = self._conn()
        if self.is_postgres:
            with conn.cursor() as cur:
                cur.executemany(self._sql(sql), rows)
        else:
            conn.executemany(sql, rows)

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (a count, a position); None when there is no row."""
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self.execute(sql, params).fetchall())

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        conn = self._conn()
        if self.is_postgres:
            with conn.transaction():
                yield self
        else:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def wal_bytes(self) -> int:
        if self.is_postgres:
            return 0
        try:
            return os.path.getsize(self.target + "-wal")
        except OSError:
            return 0

    def checkpoint(self, idle: bool = True, force: bool = False) -> bool:
        """Copies the SQLite write-ahead log into the database file (PASSIVE: never waits
        for readers or writers). Commits do not do it (``wal_autocheckpoint=0``) so ingestion
        does not pay for it: the engine calls this when idle (at most every few seconds), and
        any time the log has grown past ``WAL_LIMIT``. It runs in a thread of its own, on a
        connection of its own, so the caller goes on at once: after a long backfill the log
        may be hundreds of megabytes, and live changes do not wait for it. ``force`` (on
        stopping) does it here and now. Returns whether one was started."""
        if self.is_postgres:
            return False
        due = time.monotonic() - self._last_checkpoint > CHECKPOINT_EVERY
        if not (force or self.wal_bytes() >= WAL_LIMIT or (idle and due)):
            return False
        self._last_checkpoint = time.monotonic()
        if force:
            self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
            return True
        with self._lock:
            if self._checkpointing is not None and self._checkpointing.is_alive():
                return False
            self._checkpointing = threading.Thread(target=self._checkpoint, name="orderchain-checkpoint", daemon=True)
            self._checkpointing.start()
        return True

    def _checkpoint(self) -> None:
        try:  # mode=rw: a database removed meanwhile is not made again
            conn = sqlite3.connect(f"file:{quote(self.target)}?mode=rw", uri=True, timeout=30, isolation_level=None)
        except sqlite3.Error:
            return
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:  # the next one tries again; the log only grows meanwhile
            pass
        finally:
            conn.close()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
