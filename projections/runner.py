"""The projector: keeps every registered view up to date from the event store.

In one process it runs after each reader step with the events the reader has just
saved; in the scale-out shape (``orderchain project``) it is a process of its own that
follows the notification log. Each view tracks its own position, so several projectors
never apply an event twice.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Iterable, TypeVar

from engine.application import OrderEngine
from engine.config import Settings
from engine.db import Database

from .registry import VIEWS
from .view import View

log = logging.getLogger("orderchain.projector")
V = TypeVar("V", bound=View)


class Projector:
    """The registered views over one event store and one view database."""

    def __init__(self, app: OrderEngine, db: Database, views: Iterable[type[View]] = VIEWS):
        self.app = app
        self.db = db
        self.views: list[View] = [cls(app, db) for cls in views]

    def view(self, cls: type[V]) -> V:
        return next(v for v in self.views if isinstance(v, cls))

    def catch_up(self, recorded: list | None = None) -> int:
        """Brings every view up to date; ``recorded`` as for :meth:`View.catch_up`."""
        return sum(view.catch_up(recorded=recorded) for view in self.views)

    def position(self) -> int:
        """The position every view has reached."""
        return min(view.position() for view in self.views)

    def rebuild(self, name: str | None = None) -> int:
        """Rebuilds one view by name (the others are left alone), or all of them."""
        chosen = [v for v in self.views if name is None or v.name == name]
        if not chosen:
            raise KeyError(f"no view named {name!r}; views: {', '.join(v.name for v in self.views)}")
        return sum(view.rebuild() for view in chosen)

    def run(self, stop: threading.Event, interval: float,
            on_progress: Callable[[int], None] | None = None) -> None:
        """Follows the event store until ``stop`` is set."""
        while not stop.is_set():
            applied = 0
            try:
                applied = self.catch_up()
                if applied and on_progress:
                    on_progress(self.position())
            except Exception:   # keep following; the next round retries
                log.exception("projector step failed")
                stop.wait(1.0)
            if not applied:
                stop.wait(interval)


def run_projector(settings: Settings, stop: threading.Event, on_progress: Callable[[int], None] | None = None) -> None:
    """The projector as a process of its own (the scale-out shape): one reader
    (``orderchain engine --no-views``) writes the event store, this follows it."""
    Projector(OrderEngine(settings), Database(settings.view_db)).run(stop, settings.poll_interval, on_progress)
