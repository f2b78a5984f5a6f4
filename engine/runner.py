"""The chain side of a process: the reader loop and its chores (the keeper, the anchorer ...).

``orderchain engine --no-views`` runs only this; with views, the composing process hands
each step's saved events to its projector through ``after_step``. When the node turns
out to serve another chain, the loop stops following it and says why (:attr:`halted`)
until a person acts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from engine import metrics
from engine.application import OrderEngine
from engine.chain.heads import HeadWatcher, derived_ws_url
from engine.chain.reader import LOGS_PER_SAVE, POSTGRES_LOGS_PER_SAVE, ChainReader, OtherChain
from engine.chain.rpc import Rpc
from engine.chain.source import ChainSource
from engine.chain.transactions import Transactions
from engine.config import Settings
from engine.progress import Progress
from engine.registry import SOURCES
from engine.settlement.keeper import Keeper

log = logging.getLogger("orderchain.engine")
RETRY_PAUSE = 1.0  # seconds to wait after a failed step
PUSH_HEARTBEAT = 1.0  # with new heads pushed, the loop still steps this often
CHORE_TICK = 0.1  # how often the chores' thread looks whether the keeper or a chore is due


class Chore:
    """Work the engine loop does every ``interval`` seconds besides reading (errors are logged, not fatal)."""

    def __init__(self, name: str, interval: float, run: Callable[[], object]):
        self.name = name
        self.interval = interval
        self.run = run
        self.last = 0.0
        self.last_error: str | None = None


class EngineRunner:
    """Reads one chain into the event store, step by step or in a loop, and does its chores."""

    def __init__(
        self,
        app: OrderEngine,
        settings: Settings,
        rpc_url: str,
        sources: Iterable[ChainSource] = SOURCES,
        transactions: Transactions | None = None,
        open_settlements: Callable[[], list[dict]] | None = None,
        chores: Iterable[Chore] = (),
    ):
        self.app = app
        self.settings = settings
        self.rpc_url = rpc_url
        self.sources = tuple(sources)
        self._reader: ChainReader | None = None
        self.keeper: Keeper | None = None
        if settings.keeper_key and open_settlements is not None and transactions is not None:
            self.keeper = Keeper(Rpc(rpc_url), transactions, settings.keeper_key)
        elif settings.keeper_key:
            log.warning("ORDERCHAIN_KEEPER_KEY is set but this process keeps no views: the keeper is off here")
        self.open_settlements = open_settlements
        self.chores = list(chores)
        self.halted: str | None = None  # why the engine stopped following the node
        self.last_error: str | None = None
        self._last_keeper = 0.0
        self.wake = threading.Event()  # set by a new head (or to stop): the loop steps at once
        ws_url = settings.ws_url if settings.ws_url is not None else derived_ws_url(rpc_url)
        self.ws_url = None if ws_url in ("", "off", "none") else ws_url
        self.heads = HeadWatcher(self.ws_url, self.wake) if self.ws_url else None
        self._deltas = metrics.Deltas()
        self.progress = Progress()

    @property
    def reader(self) -> ChainReader:
        """The chain reader (connects and loads the cursor on first use)."""
        if self._reader is None:
            self._reader = ChainReader(
                self.app,
                Rpc(self.rpc_url),
                self.sources,
                self.settings.confirmations,
                self.settings.block_range,
                on_progress=self.progress.update,
                max_logs_per_save=POSTGRES_LOGS_PER_SAVE if self.settings.is_postgres else LOGS_PER_SAVE,
                max_events_per_step=self.settings.events_per_step,
            )
        return self._reader

    @property
    def behind(self) -> bool:
        """The last step stopped at its bound of events, short of the head: step again at once."""
        return self._reader is not None and self._reader.behind

    def step(self) -> list[tuple[int, object]]:
        """Reads the chain towards the confirmed head, at most ``events_per_step`` events, so
        that the views move during a long backfill; returns the (notification id, event)
        pairs saved."""
        try:
            self.reader.sync_once()
        finally:
            self.measure()
        return self.reader.take_recorded()

    def measure(self) -> None:
        """Sets this engine's metrics from its reader, keeper and head watcher."""
        reader, chain = self._reader, str(self.app.deployment.chain_id)
        if reader is None:
            return
        if reader.head is not None:
            metrics.CHAIN_HEAD.labels(chain).set(reader.head)
            metrics.LAG.labels(chain).set(max(0, reader.head - self.settings.confirmations - reader.cursor.block))
        metrics.INDEXED.labels(chain).set(reader.cursor.block)
        self._deltas.add("events", reader.ingested, metrics.EVENTS.labels(chain))
        self._deltas.add("reorgs", reader.reorgs, metrics.REORGS.labels(chain))
        self._deltas.add("retracted", reader.retracted, metrics.RETRACTED.labels(chain))
        if self.heads is not None:
            self._deltas.add("heads", self.heads.notifications, metrics.NEW_HEADS.labels(chain))
        metrics.HEADS_PUSHED.labels(chain).set(1 if self.heads is not None and self.heads.subscribed else 0)
        if self.keeper is not None:
            self._deltas.add("keeper", self.keeper.sent, metrics.KEEPER_RELEASES)

    def keep_until(self, stop: threading.Event) -> None:
        """The keeper and the chores until ``stop`` is set (or the engine stops following the
        node), in a thread of their own: a chore that reads many rows (the webhooks' look
        over every succeeded campaign, say) never holds back the reading and projecting
        that live changes wait for. Errors are logged and the next round tries again."""
        while not stop.is_set() and self.halted is None:
            try:
                self.keep()
            except Exception:
                log.exception("keeper round failed")
            stop.wait(CHORE_TICK)

    def keep(self) -> None:
        """A keeper round and each chore, when due."""
        if (
            self.keeper is not None
            and self.open_settlements is not None
            and time.monotonic() - self._last_keeper >= self.settings.keeper_interval
        ):
            self._last_keeper = time.monotonic()
            self.keeper.run_once(self.open_settlements())
        for chore in self.chores:
            if time.monotonic() - chore.last >= chore.interval:
                chore.last = time.monotonic()
                try:
                    chore.run()
                    chore.last_error = None
                except Exception as exc:  # a chore's failure never stops the reading; it is retried
                    chore.last_error = f"{exc.__class__.__name__}: {exc}"
                    log.exception("%s failed", chore.name)

    def pause(self) -> None:
        """Waits for the next step: a new head pushed by the node, or the poll interval (the
        heartbeat while new heads are pushed)."""
        pushed = self.heads is not None and self.heads.subscribed
        self.wake.wait(max(self.settings.poll_interval, PUSH_HEARTBEAT) if pushed else self.settings.poll_interval)
        self.wake.clear()

    def interrupt(self) -> None:
        """Ends the current pause (``run`` then sees its stop event)."""
        self.wake.set()

    def run(self, stop: threading.Event, after_step: Callable[[list], None] | None = None) -> None:
        """Steps until ``stop`` is set, or until the node turns out to serve another chain;
        the keeper and the chores run beside it (:meth:`keep_until`)."""
        if self.heads is not None:
            self.heads.start()
        try:
            with self.chores_beside(stop):
                self._loop(stop, after_step)
        finally:
            if self.heads is not None:
                self.heads.stop()

    @contextmanager
    def chores_beside(self, stop: threading.Event) -> Iterator[None]:
        """:meth:`keep_until` in a thread of its own while the body runs; leaving it with
        ``stop`` set waits for the chore under way (halted, it ends on its own)."""
        chores = threading.Thread(target=self.keep_until, args=(stop,), name="orderchain-chores", daemon=True)
        chores.start()
        try:
            yield
        finally:
            if stop.is_set():
                chores.join(10)

    def _loop(self, stop: threading.Event, after_step: Callable[[list], None] | None) -> None:
        while not stop.is_set():
            try:
                recorded = self.step()
                if after_step:
                    after_step(recorded)
                self.last_error = None
            except OtherChain as exc:
                self.halted = str(exc)
                log.error("stopped following the chain: %s", exc)
                return
            except Exception as exc:  # keep following; the next poll retries, /status shows the error
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                log.exception("engine step failed")
                stop.wait(RETRY_PAUSE)
            if not stop.is_set() and not (self.behind and self.last_error is None):
                self.pause()
