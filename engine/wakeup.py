"""Cross-process wake-up: whoever projects tells every API process that the views moved.

An API worker serves views another process keeps up to date (the engine's process, or a
projector of its own). Its server-sent event streams and long polls wait for a change; this
module tells them at once, instead of each looking every ``ORDERCHAIN_POLL_INTERVAL``:

- on PostgreSQL, the projector's ``NOTIFY orderchain_views`` after it commits, and each API
  process ``LISTEN``-ing on a connection of its own: nothing but the database URL is shared,
  so it works across hosts;
- on the embedded SQLite default, a named pipe per listening process in a folder beside the
  views' database (``<view db>-wake/``): the projector writes a byte to each.

A wake-up only says "look again": listeners read the views as before, so a lost or extra
one changes nothing but when they look. The looking on a timer stays as the fallback (a
listener that lost its connection also wakes when it has it again).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("orderchain.wakeup")
CHANNEL = "orderchain_views"
RECONNECT = 1.0  # seconds before a listener that lost its connection tries again


class Wakeup:
    """No wake-up at all (a process that serves only itself): listeners keep looking on a timer."""

    def notify(self) -> None:
        """Tells every listener, in every process, that the views moved."""

    def listen(self, callback: Callable[[], None]) -> bool:
        """Calls ``callback`` (in a thread of its own) on every wake-up from now on; returns
        whether wake-ups can arrive (False: keep looking on a timer)."""
        return False

    def close(self) -> None:
        """Stops listening."""


class PipeWakeup(Wakeup):
    """Named pipes in one folder: one per listening process, a byte written to each by :meth:`notify`."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path: Path | None = None
        self._fds: tuple[int, int] | None = None
        self._stop = threading.Event()

    def notify(self) -> None:
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return  # nobody has listened yet
        for name in names:
            if not name.endswith(".pipe"):
                continue
            path = self.folder / name
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # nobody reads it: its process is gone
                    with contextlib.suppress(OSError):
                        path.unlink()
                continue
            try:
                os.write(fd, b"\x01")
            except BlockingIOError:
                pass  # full: a wake-up is waiting there already
            except OSError:
                pass
            finally:
                os.close(fd)

    def listen(self, callback: Callable[[], None]) -> bool:
        if self._fds is not None:
            raise RuntimeError("already listening")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = self.folder / f"{os.getpid()}-{secrets.token_hex(4)}.pipe"
            os.mkfifo(self.path, 0o600)
            read = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            keep = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)  # never an end of file while listening
        except OSError as exc:
            log.warning("no wake-ups through %s (%s): looking on a timer", self.folder, exc)
            return False
        os.set_blocking(read, True)
        self._fds = (read, keep)
        threading.Thread(target=self._run, args=(read, callback), name="orderchain-wakeup", daemon=True).start()
        return True

    def _run(self, fd: int, callback: Callable[[], None]) -> None:
        try:
            while not self._stop.is_set():
                if not os.read(fd, 4096):
                    return
                if not self._stop.is_set():
                    callback()
        except OSError:
            return
        finally:
            os.close(fd)

    def close(self) -> None:
        self._stop.set()
        if self._fds is not None:
            keep = self._fds[1]  # the thread closes the reading end
            with contextlib.suppress(OSError):
                os.write(keep, b"\x00")  # lets the thread see the stop
            with contextlib.suppress(OSError):
                os.close(keep)
            self._fds = None
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()


class PostgresWakeup(Wakeup):
    """``NOTIFY``/``LISTEN`` on the views' PostgreSQL database."""

    def __init__(self, url: str):
        self.url = url
        self._conn: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def notify(self) -> None:
        import psycopg

        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = psycopg.connect(self.url, autocommit=True)
                    self._conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
                    return
                except psycopg.Error as exc:
                    self._conn = None
                    if attempt == 2:
                        log.warning("could not notify the API processes (%s); they look on a timer", exc)

    def listen(self, callback: Callable[[], None]) -> bool:
        threading.Thread(target=self._run, args=(callback,), name="orderchain-wakeup", daemon=True).start()
        return True

    def _run(self, callback: Callable[[], None]) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    callback()  # anything missed while not listening is looked at now
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            callback()
            except psycopg.Error as exc:
                log.warning("wake-up listener lost PostgreSQL (%s); again in %.0f s", exc, RECONNECT)
                self._stop.wait(RECONNECT)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None


def wakeup_for(view_db: str) -> Wakeup:
    """The wake-up that fits the views' database (a PostgreSQL URL or a SQLite file)."""
    if view_db.startswith(("postgresql://", "postgres://")):
        return PostgresWakeup(view_db)
    if view_db == ":memory:" or view_db.startswith("file:"):
        return Wakeup()
    return PipeWakeup(f"{view_db}-wake")
