"""One small interface over sqlite3 and psycopg for the read models.

SQL is written with ``?`` placeholders and translated for PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Sequence


class Database:
    def __init__(self, target: str):
        self.target = target
        self.is_postgres = target.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        self._lock = threading.RLock()

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.is_postgres:
                import psycopg
                conn = psycopg.connect(self.target, autocommit=True)
            else:
                conn = sqlite3.connect(self.target, timeout=30, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")   # views are rebuildable from the event log
                conn.execute("PRAGMA cache_size=-65536")     # 64 MiB: a catch-up batch stays in memory
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

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self.execute(sql, params).fetchall())

    @contextmanager
    def transaction(self) -> Iterator["Database"]:
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

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
