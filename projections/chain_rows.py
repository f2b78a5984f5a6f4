"""What views of chain aggregates share: each aggregate's canonical logs kept at hand.

A view that shows the state of chain aggregates (plans, cases, campaigns ...) keeps every
aggregate's canonical logs in its own logs table, so a retraction after a reorganisation
is undone by folding the remaining logs again, without reading the event store. A
catch-up step loads the logs of the aggregates it touches in bulk, applies each event to
them, and hands the changed aggregates to :meth:`ChainRowsView.write` once, at the end.
"""

from __future__ import annotations

import json
from typing import Any

from engine.chain.source import ChainAggregate, log_key

from .view import View, chunks, dumps


class ChainBatch:
    """The aggregates' logs one catch-up step reads and changes, and the view's other work."""

    def __init__(self):
        self.things: dict[str, dict | None] = {}  # aggregate id -> {"kind", "key", "logs"}
        self.dirty: dict[str, int] = {}  # aggregate id -> seq of its last change
        self.other: list[tuple[int, Any]] = []  # (seq, event) of the view's off-chain events


class ChainRowsView(View):
    """A view of chain aggregates (see the module docstring).

    Subclasses set ``aggregates`` (the :class:`ChainAggregate` classes they show) and
    ``logs_table`` (listed in their ``schema`` via :func:`logs_schema` and in ``tables``),
    set ``handles`` to :func:`chain_events` of their aggregates plus any off-chain event
    classes, and implement :meth:`write`.
    """

    aggregates: tuple[type[ChainAggregate], ...] = ()
    logs_table = ""

    def __init__(self, app, db):
        # What each event class is to this view: the first log of an aggregate (its kind), a
        # later log, a retraction, or (absent) an off-chain event.
        self._roles: dict[type, tuple[str, str | None] | None] = {}
        for a in self.aggregates:
            self._roles[a.Discovered] = ("discovered", a.kind)
            self._roles[a.LogRecorded] = ("log", None)
            self._roles[a.Retracted] = ("retracted", None)
        super().__init__(app, db)

    def begin(self) -> ChainBatch:
        return ChainBatch()

    def _role(self, event: Any) -> tuple[str, str | None] | None:
        cls = type(event)
        role = self._roles.get(cls)
        if role is None and cls not in self._roles:  # a subclass, or an off-chain event
            role = self._roles[cls] = next(
                (r for c, r in list(self._roles.items()) if r is not None and isinstance(event, c)), None
            )
        return role

    def prefetch(self, batch: ChainBatch, events: list[tuple[int, Any]]) -> None:
        self.load(
            batch, [str(e.originator_id) for _, e in events if (self._role(e) or ("",))[0] in ("log", "retracted")]
        )

    def load(self, batch: ChainBatch, ids: list[str]) -> None:
        wanted = [i for i in dict.fromkeys(ids) if i not in batch.things]
        for chunk in chunks(wanted):
            for i in chunk:
                batch.things[i] = None
            for aggregate_id, kind, key, logs in self.db.fetchall(
                f"SELECT aggregate_id, kind, key, logs FROM {self.logs_table} "
                f"WHERE aggregate_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                batch.things[aggregate_id] = {"kind": kind, "key": key, "logs": json.loads(logs)}

    def apply(self, batch: ChainBatch, event: Any, seq: int) -> None:
        role = self._role(event)
        if role is None:
            batch.other.append((seq, event))
            return
        aggregate_id = str(event.originator_id)
        what, kind = role
        if what == "discovered":
            first = event.first_log
            batch.things[aggregate_id] = {"kind": kind, "key": event.key, "logs": [] if first is None else [first]}
            batch.dirty[aggregate_id] = seq
            return
        thing = batch.things.get(aggregate_id)
        if thing is None:
            self.load(batch, [aggregate_id])
            thing = batch.things.get(aggregate_id)
            if thing is None:  # cannot happen: Discovered always comes first
                return
        if what == "retracted":
            gone = log_key(event.coords)
            thing["logs"] = [lg for lg in thing["logs"] if log_key(lg["coords"]) != gone]
        else:
            thing["logs"].append({"event": event.event_name, "args": event.args, "coords": event.coords})
        batch.dirty[aggregate_id] = seq

    def finish(self, batch: ChainBatch) -> None:
        things: dict[str, dict] = {}
        for i in batch.dirty:
            thing = batch.things[i]
            assert thing is not None  # a changed aggregate is in the batch
            things[i] = thing
        self.db.executemany(
            f"INSERT INTO {self.logs_table} (aggregate_id, kind, key, logs) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (aggregate_id) DO UPDATE SET logs = excluded.logs",
            [(i, t["kind"], t["key"], dumps(t["logs"])) for i, t in things.items()],
        )
        self.write(
            batch,
            [(things[i]["kind"], things[i]["key"], things[i]["logs"], seq) for i, seq in batch.dirty.items()],
        )

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        """Writes the rows of the aggregates the batch changed: (kind, key, canonical logs, seq)
        each; ``batch.other`` holds the view's off-chain events of the batch, in order."""
        raise NotImplementedError


def chain_events(aggregates: tuple[type[ChainAggregate], ...]) -> tuple[type, ...]:
    """The event classes of chain aggregates: discovered, log recorded, retracted."""
    return tuple(e for a in aggregates for e in (a.Discovered, a.LogRecorded, a.Retracted))


def logs_schema(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (aggregate_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
        "key TEXT NOT NULL, logs TEXT NOT NULL)"
    )
