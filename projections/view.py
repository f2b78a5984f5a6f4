"""The machinery every view shares: exactly-once catch-up from the event log, and rebuild.

A view keeps its own tracking position in the view database, committed in the same
transaction as the rows it changes, so each event is applied exactly once, whichever
process applies it. It catches up either from ``(notification id, event)`` pairs the
reader has just saved (handed over in memory, no read back) or from the event store's
notification log, in batches: the subclass prefetches the rows a batch needs in bulk,
applies each event it handles, and writes its rows back once at the end of the batch.

Rebuilding a view makes only its own tables anew and resets its position. A view whose
``version`` differs from the one its rows were built with is rebuilt when it is opened.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_right
from collections.abc import Callable
from operator import itemgetter
from typing import Any

import orjson
from eventsourcing.utils import resolve_topic

from engine.application import OrderEngine
from engine.db import Database, schema_lock
from engine.perf import gc_paused

TRACKING_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS view_positions (
        name TEXT PRIMARY KEY, position BIGINT NOT NULL, version INTEGER NOT NULL)""",
    # A view whose last catch-up failed: why, and where it stands (every process reads it).
    """CREATE TABLE IF NOT EXISTS view_failures (
        name TEXT PRIMARY KEY, position BIGINT NOT NULL, error TEXT NOT NULL, failed_at TEXT NOT NULL)""",
)
BATCH_SIZE = 20_000


def dumps(value: Any) -> str:
    """JSON text of a view row; orjson unless an integer is beyond its 64-bit limit."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def read_log(app: OrderEngine, start: int, limit: int, wanted: Callable[[str], bool]) -> list[tuple[int, Any]]:
    """``(notification id, event)`` after ``start``, at most ``limit``; an event whose topic
    is not ``wanted`` is not decoded (None)."""
    decode = app.mapper.to_domain_event
    return [
        (n.id, decode(n) if wanted(n.topic) else None)
        for n in app.recorder.select_notifications(start=start, limit=limit, inclusive_of_start=False)
    ]


def chunks(items: list, size: int = 400):
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Handed:
    """``(notification id, event)`` pairs a reader step has just saved, or a projector has
    read once, prepared once for every view: in order, whether they follow one another
    without gaps, and the event classes among them.

    ``after``: the pairs are every notification of the log after that position up to the
    last of them (read from the log, so a gap in the ids is a gap in the log, not a missing
    event); without it, only a run without gaps is known to be whole."""

    __slots__ = ("after", "contiguous", "first", "pairs", "types")

    def __init__(self, recorded: list[tuple[int, Any]] | None, after: int | None = None):
        self.after = after
        pairs = list(recorded or ())
        if any(pairs[i][0] >= pairs[i + 1][0] for i in range(len(pairs) - 1)):
            pairs.sort(key=lambda pair: pair[0])
        self.pairs = pairs
        self.first = pairs[0][0] if pairs else 0
        self.contiguous = bool(pairs) and pairs[-1][0] - self.first + 1 == len(pairs)
        self.types = {type(event) for _, event in pairs}

    def run_from(self, position: int, limit: int) -> list[tuple[int, Any]]:
        """The events that directly follow ``position``, without gaps (at most ``limit``)."""
        handed = self.pairs
        if self.after is not None:
            if position < self.after:
                return []
            i = bisect_right(handed, position, key=lambda pair: pair[0])
            return handed[i : i + limit]
        if self.contiguous:
            i = position + 1 - self.first
            return handed[i : i + limit] if 0 <= i < len(handed) else []
        i = next((k for k, (seq, _) in enumerate(handed) if seq > position), len(handed))
        run: list[tuple[int, Any]] = []
        expected = position + 1
        while i < len(handed) and len(run) < limit and handed[i][0] == expected:
            run.append(handed[i])
            expected += 1
            i += 1
        return run


class View:
    """A read model built from the event log (see the module docstring).

    Subclasses set ``name``, ``version``, ``schema``, ``tables`` and ``handles`` (the
    event classes they apply) and implement :meth:`apply`; :meth:`begin`,
    :meth:`prefetch` and :meth:`finish` shape a batch, :meth:`remember` and
    :meth:`restore` keep in-memory caches true when a batch fails.
    """

    name = ""
    version = 1
    schema: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()  # tables an earlier layout of the view kept: dropped when it opens
    handles: tuple[type, ...] = ()

    def __init__(self, app: OrderEngine, db: Database):
        self.app = app
        self.db = db
        self._lock = threading.RLock()
        self._wanted: dict[str, bool] = {}
        self._wanted_types: dict[type, bool] = {}
        with schema_lock(db.target):  # made (or emptied for a new version) by one process at a time
            for statement in TRACKING_SCHEMA + self.schema:
                self.db.execute(statement)
            for table in self.retired:
                self.db.execute(f"DROP TABLE IF EXISTS {table}")
            row = self.db.fetchone("SELECT version FROM view_positions WHERE name = ?", (self.name,))
            if row is None:  # new here (its tables may hold rows an earlier layout built): start empty
                self.db.execute(
                    "INSERT INTO view_positions (name, position, version) VALUES (?, 0, ?) "
                    "ON CONFLICT (name) DO NOTHING",
                    (self.name, self.version),
                )
            if row is None or int(row[0]) != self.version or self._ahead_of_log():
                self._empty()
        failed = self.db.fetchone("SELECT error FROM view_failures WHERE name = ?", (self.name,))
        self.failed: str | None = failed[0] if failed else None  # why its last catch-up failed

    def _ahead_of_log(self) -> bool:
        """Whether the view has applied events the event store no longer holds: after a power
        loss took the reader's last saves (committed without waiting for the disk, to be read
        from the chain again), the view is built again rather than trusted."""
        position = self.position()
        return position > 0 and position > (self.app.recorder.max_notification_id() or 0)

    # -- hooks

    def begin(self) -> Any:
        """A new batch's working state."""
        return None

    def prefetch(self, batch: Any, events: list[tuple[int, Any]]) -> None:
        """Loads in bulk what applying ``events`` will read."""

    def apply(self, batch: Any, event: Any, seq: int) -> None:
        raise NotImplementedError

    def finish(self, batch: Any) -> None:
        """Writes the batch's rows (inside the batch's transaction)."""

    def remember(self) -> Any:
        """The in-memory state to restore if the batch fails."""
        return None

    def restore(self, memory: Any) -> None:
        """Puts back what :meth:`remember` returned."""

    # -- building

    def position(self) -> int:
        row = self.db.fetchone("SELECT position FROM view_positions WHERE name = ?", (self.name,))
        return int(row[0]) if row else 0

    def _wants(self, topic: str) -> bool:
        found = self._wanted.get(topic)
        if found is None:
            found = self._wanted[topic] = issubclass(resolve_topic(topic), self.handles)
        return found

    def _wants_type(self, cls: type) -> bool:
        found = self._wanted_types.get(cls)
        if found is None:
            found = self._wanted_types[cls] = issubclass(cls, self.handles)
        return found

    def _read(self, start: int, limit: int) -> list[tuple[int, Any]]:
        """Notifications after ``start``; only those this view handles are decoded."""
        return read_log(self.app, start, limit, self._wants)

    def catch_up(
        self, batch_size: int = BATCH_SIZE, recorded: list | Handed | None = None, only_handed: bool = False
    ) -> int:
        """Applies every event not yet applied; returns how many were passed over.

        ``recorded`` may hold ``(notification id, domain event)`` pairs the caller has just
        saved (or a :class:`Handed` made of them, shared by every view): a run of them that
        follows on from the view's position is applied as is, without reading the events
        back. Everything else is read from the event store (``only_handed``: nothing else, the
        caller reads the log once for every view). The position is read inside the
        write transaction (and locked on PostgreSQL), so concurrent projectors never apply
        an event twice.
        """
        total = 0
        handed = recorded if isinstance(recorded, Handed) else Handed(recorded)
        lock = " FOR UPDATE" if self.db.is_postgres else ""
        if self.idle_for(handed):  # none of them is this view's: only the position moves
            total += pass_over(self.db, [self], handed).get(self.name, 0)
        with self._lock, gc_paused():
            while True:
                memory = self.remember()
                try:
                    with self.db.transaction():
                        start = int(
                            self.db.scalar(f"SELECT position FROM view_positions WHERE name = ?{lock}", (self.name,))
                        )
                        events = handed.run_from(start, batch_size)
                        if not events and not only_handed:
                            events = self._read(start, batch_size)
                        types = set(map(type, map(itemgetter(1), events)))
                        wanted = {t for t in types if self._wants_type(t)}  # (not None: no view wants it)
                        if wanted == types:
                            mine = events
                        else:
                            mine = [(seq, e) for seq, e in events if type(e) in wanted] if wanted else []
                        if mine:
                            batch = self.begin()
                            self.prefetch(batch, mine)
                            for seq, event in mine:
                                self.apply(batch, event, seq)
                            self.finish(batch)
                        if events:
                            self.db.execute(
                                "UPDATE view_positions SET position = ? WHERE name = ?", (events[-1][0], self.name)
                            )
                except BaseException:
                    self.restore(memory)
                    raise
                if not events:
                    self.db.checkpoint(idle=total == 0)
                    return total
                total += len(events)

    def idle_for(self, handed: Handed) -> bool:
        """Whether none of the handed events is this view's (so only its position moves)."""
        return bool(handed.pairs) and not any(self._wants_type(t) for t in handed.types)

    def _empty(self) -> None:
        with self.db.transaction():
            for table in self.tables:  # dropped and made again: a new version may change their columns
                self.db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in self.schema:
                self.db.execute(statement)
            self.db.execute(
                "UPDATE view_positions SET position = 0, version = ? WHERE name = ?", (self.version, self.name)
            )
        self.restore(None)

    def snapshot(self) -> Any:
        """Every row of every table of this view, for comparing it with a rebuild."""
        return {
            table: sorted(repr(tuple(row)) for row in self.db.fetchall(f"SELECT * FROM {table}"))
            for table in self.tables
        }

    def rebuild(self) -> int:
        """Empties this view (and only this view) and builds it again from the event log."""
        with self._lock:
            self._empty()
            return self.catch_up()


def pass_over(db: Database, views: list[View], handed: Handed) -> dict[str, int]:
    """Moves views none of whose events were handed past them, in one transaction: each
    view's position moves to the last handed event if the run (contiguous, or read whole
    from the log) follows on from it. Returns how many events each view moved past, by name
    (views that did not move are left out)."""
    if not views or not (handed.contiguous or handed.after is not None):
        return {}
    first, last = handed.first, handed.pairs[-1][0]
    names = [view.name for view in views]
    lock = " FOR UPDATE" if db.is_postgres else ""
    moved: dict[str, int] = {}
    with db.transaction():
        positions = db.fetchall(
            f"SELECT name, position FROM view_positions WHERE name IN ({', '.join('?' * len(names))}){lock}", names
        )
        for name, position in positions:
            start = int(position)
            whole = handed.after <= start if handed.after is not None else first <= start + 1
            if whole and start < last:
                moved[name] = last - start
        if moved:
            db.executemany("UPDATE view_positions SET position = ? WHERE name = ?", [(last, n) for n in moved])
    return moved
