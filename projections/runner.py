"""The projector: keeps every registered view up to date from the event store.

In one process it runs after each reader step with the events the reader has just
saved; in the scale-out shape (``orderchain project``) it is a process of its own that
follows the notification log. Each view tracks its own position, so several projectors
never apply an event twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Set
from datetime import UTC, datetime
from typing import TypeVar

from engine.application import OrderEngine
from engine.config import Settings
from engine.db import Database, schema_lock
from engine.wakeup import Wakeup, wakeup_for

from .registry import VIEWS
from .view import BATCH_SIZE, Handed, View, pass_over, read_log

log = logging.getLogger("orderchain.projector")
V = TypeVar("V", bound=View)


class Projector:
    """The registered views over one event store and one view database."""

    def __init__(
        self, app: OrderEngine, db: Database, views: Iterable[type[View]] = VIEWS, wakeup: Wakeup | None = None
    ):
        self.app = app
        self.db = db
        with schema_lock(db.target):  # one lock for every view's tables
            self.views: list[View] = [cls(app, db) for cls in views]
        self.wakeup = wakeup or Wakeup()  # told whenever a catch-up moved the views
        self._wanted: dict[str, bool] = {}  # topic -> whether any view decodes it

    def view(self, cls: type[V]) -> V:
        return next(v for v in self.views if isinstance(v, cls))

    def catch_up(self, recorded: list | None = None, batch_size: int = BATCH_SIZE) -> int:
        """Brings every view up to date; ``recorded`` as for :meth:`View.catch_up`. Without
        it, the log is read once for all the views, ``batch_size`` notifications at a time
        from the position of the view furthest behind, each decoded once.

        Each view on its own: one that fails is recorded as failed (``/status``, ``/ready``
        and ``/metrics`` show it, in every process) and retried on the next round, while
        the others go on."""
        if recorded is not None:
            return self._hand(Handed(recorded), batch_size)
        total = 0
        tried: set[str] = set()  # views that failed before or during this round: tried once each
        while True:
            # From the healthy view furthest behind: a view that failed reads on its own when
            # it is retried, and holds no other back.
            positions = self.positions()
            healthy = [positions[v.name] for v in self.views if not v.failed]
            start = min(healthy, default=0)
            pairs = read_log(self.app, start, batch_size, self._wants) if healthy else []
            moved = self._hand(Handed(pairs, after=start), batch_size, only_handed=True, skip=tried)
            tried |= {v.name for v in self.views if v.failed}
            total += moved
            if len(pairs) < batch_size or not moved:
                return total  # the end of the log (or nothing moved): the next round goes on

    def _wants(self, topic: str) -> bool:
        """Whether any view decodes events of ``topic`` (asked once per topic)."""
        wants = self._wanted.get(topic)
        if wants is None:
            wants = self._wanted[topic] = any(view._wants(topic) for view in self.views)
        return wants

    def _hand(self, handed: Handed, batch_size: int, only_handed: bool = False, skip: Set[str] = frozenset()) -> int:
        # The healthy views none of whose events were handed move past them together, in one
        # transaction; with nothing in the log after the handed events, they are done.
        idle = [v for v in self.views if v.name not in skip and not v.failed and v.idle_for(handed)]
        try:
            passed = pass_over(self.db, idle, handed)
        except Exception:  # each view on its own, then: one that fails is marked alone
            log.exception("moving the idle views past the handed events failed")
            passed = {}
        if passed and not only_handed and (self.app.recorder.max_notification_id() or 0) > handed.pairs[-1][0]:
            done: Set[str] = frozenset()  # others wrote meanwhile: each view reads on as usual
        else:
            done = passed.keys()
        total = sum(passed.values())
        for view in self.views:
            if view.name in skip or view.name in done:
                continue
            try:
                total += view.catch_up(batch_size, handed, only_handed and not view.failed)
            except Exception as exc:
                log.exception("view %s failed at position %d", view.name, view.position())
                self._failed(view, f"{exc.__class__.__name__}: {exc}")
            else:
                if view.failed:
                    self._failed(view, None)
        if total:
            self.wakeup.notify()  # every API process looks again, now
        return total

    def _failed(self, view: View, error: str | None) -> None:
        view.failed = error
        with self.db.transaction():
            self.db.execute("DELETE FROM view_failures WHERE name = ?", (view.name,))
            if error is not None:
                self.db.execute(
                    "INSERT INTO view_failures (name, position, error, failed_at) VALUES (?, ?, ?, ?)",
                    (view.name, view.position(), error[:2000], datetime.now(UTC).isoformat(timespec="seconds")),
                )

    def failures(self) -> dict[str, str]:
        """The views whose last catch-up failed (in any process), and why."""
        return dict(self.db.fetchall("SELECT name, error FROM view_failures ORDER BY name"))

    def positions(self) -> dict[str, int]:
        """Each view's position, in one query."""
        found = dict(self.db.fetchall("SELECT name, position FROM view_positions"))
        return {view.name: int(found.get(view.name, 0)) for view in self.views}

    def position(self) -> int:
        """The position every view has reached."""
        return min(self.positions().values())

    def rebuild(self, name: str | None = None) -> int:
        """Rebuilds one view by name (the others are left alone), or all of them."""
        chosen = [v for v in self.views if name is None or v.name == name]
        if not chosen:
            raise KeyError(f"no view named {name!r}; views: {', '.join(v.name for v in self.views)}")
        return sum(view.rebuild() for view in chosen)

    def run(
        self,
        stop: threading.Event,
        interval: float,
        on_progress: Callable[[int], None] | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        """Follows the event store until ``stop`` is set, each view committing at most
        ``batch_size`` events at a time."""
        while not stop.is_set():
            applied = 0
            try:
                applied = self.catch_up(batch_size=batch_size)
                if applied and on_progress:
                    on_progress(self.position())
            except Exception:  # keep following; the next round retries
                log.exception("projector step failed")
                stop.wait(1.0)
            if not applied:
                stop.wait(interval)


def run_projector(settings: Settings, stop: threading.Event, on_progress: Callable[[int], None] | None = None) -> None:
    """The projector as a process of its own (the scale-out shape): one reader
    (``orderchain engine --no-views``) writes the event store, this follows it."""
    wakeup = wakeup_for(settings.view_db)
    try:
        Projector(OrderEngine(settings), Database(settings.view_db), wakeup=wakeup).run(
            stop, settings.poll_interval, on_progress, settings.events_per_step
        )
    finally:
        wakeup.close()
