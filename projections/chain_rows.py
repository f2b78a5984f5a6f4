"""What views of chain aggregates share: each aggregate's canonical logs at hand.

A view that shows the state of chain aggregates (plans, cases, campaigns ...) folds each
changed aggregate's canonical logs again, so that a retraction after a reorganisation is
undone by folding the logs that remain. The logs come from :class:`ChainLogs`, one per
event store in a process and shared by every chain view: each aggregate's events, version
by version, kept as they are applied and read from the event store only when they are not
at hand (after a restart, or once too many aggregates were kept). A catch-up step takes the
logs of the aggregates it touches, applies each event to them, and hands the changed
aggregates to :meth:`ChainRowsView.write` once, at the end.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any
from uuid import UUID

from engine.chain.source import ChainAggregate, log_key

from .view import View

KEPT = 50_000  # aggregates whose events are kept in memory; beyond that they are read again when needed


def logs_of(ops: list) -> list[dict]:
    """The canonical logs that an aggregate's events, oldest first, leave (see :class:`ChainLogs`)."""
    logs: list[dict] = []
    for op in ops:
        if op is None:
            continue
        if type(op) is tuple:  # a retraction: the log with that key leaves
            logs = [lg for lg in logs if log_key(lg["coords"]) != op]
        else:
            logs.append(op)
    return logs


def _op(event: Any) -> dict | tuple | None:
    """An aggregate's event as a change to its logs: a log added, a log's key taken away, or nothing."""
    if isinstance(event, ChainAggregate.LogRecorded):
        return {"event": event.event_name, "args": event.args, "coords": event.coords}
    if isinstance(event, ChainAggregate.Retracted):
        return log_key(event.coords)
    if isinstance(event, ChainAggregate.Discovered):
        return event.first_log
    return None


class ChainLogs:
    """Each chain aggregate's key and events (as changes to its logs) from version 1, in order.

    An aggregate's recorded versions never change, so what is kept is true for every view,
    wherever its position is and whichever process moved it: a view that needs an
    aggregate's logs before version ``v`` takes the first ``v - 1`` changes."""

    def __init__(self, app):
        # The store and its decoding, not the application: the application keys this in
        # :data:`_SHARED` and must not be kept alive by it.
        self.recorder, self.mapper = app.recorder, app.mapper
        self._kept: dict[str, tuple[str, list]] = {}  # aggregate id -> (key, changes from version 1)
        self._lock = threading.Lock()  # views may apply the same aggregate's events in two threads (a rebuild)
        self.read = 0  # aggregates read from the event store

    def note(self, aggregate_id: str, event: Any) -> None:
        """An event a view applies: kept when it is the aggregate's next version."""
        version = event.originator_version
        with self._lock:
            kept = self._kept.get(aggregate_id)
            if kept is None:
                if version == 1:
                    self._kept[aggregate_id] = (event.key, [_op(event)])
                return
            if len(kept[1]) == version - 1:
                kept[1].append(_op(event))

    def before(self, versions: dict[str, int]) -> dict[str, tuple[str, list[dict]]]:
        """Each aggregate's key and its canonical logs before the given version (versions 1
        to ``v - 1``); an aggregate the event store does not hold is left out."""
        found: dict[str, tuple[str, list[dict]]] = {}
        for aggregate_id, version in versions.items():
            kept = self._kept.get(aggregate_id)
            if kept is None or len(kept[1]) < version - 1:
                kept = self._load(aggregate_id)
                if kept is None or len(kept[1]) < version - 1:
                    continue
            found[aggregate_id] = (kept[0], logs_of(kept[1][: version - 1]))
        return found

    def _load(self, aggregate_id: str) -> tuple[str, list] | None:
        decode = self.mapper.to_domain_event
        events = [decode(s) for s in self.recorder.select_events(UUID(aggregate_id))]
        self.read += 1
        if not events or not isinstance(events[0], ChainAggregate.Discovered):
            return None
        kept = (events[0].key, [_op(e) for e in events])
        with self._lock:
            self._kept[aggregate_id] = kept
        return kept

    def trim(self) -> None:
        """Forgets every aggregate once too many are kept (they are read again when needed)."""
        if len(self._kept) > KEPT:
            with self._lock:
                self._kept = {}


_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def chain_logs(app) -> ChainLogs:
    """The :class:`ChainLogs` of an event store's application, one per process."""
    with _SHARED_LOCK:
        found = _SHARED.get(app)
        if found is None:
            found = _SHARED[app] = ChainLogs(app)
        return found


class ChainBatch:
    """The aggregates' logs one catch-up step reads and changes, and the view's other work."""

    def __init__(self):
        self.things: dict[str, dict | None] = {}  # aggregate id -> {"kind", "key", "logs"}
        self.dirty: dict[str, int] = {}  # aggregate id -> seq of its last change
        self.other: list[tuple[int, Any]] = []  # (seq, event) of the view's off-chain events
        self.fresh: set[tuple[str, str]] = set()  # (kind, key) of aggregates first seen here: no rows yet


class ChainRowsView(View):
    """A view of chain aggregates (see the module docstring).

    Subclasses set ``aggregates`` (the :class:`ChainAggregate` classes they show), set
    ``handles`` to :func:`chain_events` of their aggregates plus any off-chain event
    classes, and implement :meth:`write`.
    """

    aggregates: tuple[type[ChainAggregate], ...] = ()

    def __init__(self, app, db):
        # What each event class is to this view: the first log of an aggregate, a later log or
        # a retraction (with the aggregate's kind), or (absent) an off-chain event.
        self._roles: dict[type, tuple[str, str] | None] = {}
        for a in self.aggregates:
            self._roles[a.Discovered] = ("discovered", a.kind)
            self._roles[a.LogRecorded] = ("log", a.kind)
            self._roles[a.Retracted] = ("retracted", a.kind)
        self.logs = chain_logs(app)
        super().__init__(app, db)

    def begin(self) -> ChainBatch:
        self.logs.trim()
        return ChainBatch()

    def _role(self, event: Any) -> tuple[str, str] | None:
        cls = type(event)
        role = self._roles.get(cls)
        if role is None and cls not in self._roles:  # a subclass, or an off-chain event
            role = self._roles[cls] = next(
                (r for c, r in list(self._roles.items()) if r is not None and isinstance(event, c)), None
            )
        return role

    def prefetch(self, batch: ChainBatch, events: list[tuple[int, Any]]) -> None:
        """The logs of the aggregates the batch goes on with, as they stood before it."""
        first: dict[str, tuple[int, str]] = {}  # aggregate id -> (its first version here, kind)
        for _, event in events:
            role = self._role(event)
            if role is not None:
                first.setdefault(str(event.originator_id), (event.originator_version, role[1]))
        earlier = {i: version for i, (version, _) in first.items() if version > 1}
        for aggregate_id, (key, logs) in self.logs.before(earlier).items():
            batch.things[aggregate_id] = {"kind": first[aggregate_id][1], "key": key, "logs": logs}

    def apply(self, batch: ChainBatch, event: Any, seq: int) -> None:
        role = self._role(event)
        if role is None:
            batch.other.append((seq, event))
            return
        aggregate_id = str(event.originator_id)
        self.logs.note(aggregate_id, event)
        what, kind = role
        if what == "discovered":
            first = event.first_log
            batch.things[aggregate_id] = {"kind": kind, "key": event.key, "logs": [] if first is None else [first]}
            batch.fresh.add((kind, event.key))
            batch.dirty[aggregate_id] = seq
            return
        thing = batch.things.get(aggregate_id)
        if thing is None:  # cannot happen: Discovered always comes first, or the batch prefetched it
            return
        if what == "retracted":
            gone = log_key(event.coords)
            thing["logs"] = [lg for lg in thing["logs"] if log_key(lg["coords"]) != gone]
        else:
            thing["logs"].append({"event": event.event_name, "args": event.args, "coords": event.coords})
        batch.dirty[aggregate_id] = seq

    def finish(self, batch: ChainBatch) -> None:
        changed = []
        for i, seq in batch.dirty.items():
            thing = batch.things[i]
            assert thing is not None  # a changed aggregate is in the batch
            changed.append((thing["kind"], thing["key"], thing["logs"], seq))
        self.write(batch, changed)

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        """Writes the rows of the aggregates the batch changed: (kind, key, canonical logs, seq)
        each (the logs are shared with the other chain views: read them, never change them); ``batch.other`` holds the view's off-chain events of the batch, in order, and
        ``batch.fresh`` the aggregates first seen in it (the view holds no row of theirs to replace)."""
        raise NotImplementedError


def chain_events(aggregates: tuple[type[ChainAggregate], ...]) -> tuple[type, ...]:
    """The event classes of chain aggregates: discovered, log recorded, retracted."""
    return tuple(e for a in aggregates for e in (a.Discovered, a.LogRecorded, a.Retracted))
