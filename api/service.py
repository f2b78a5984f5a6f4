"""Wires the engine together: node, manifest, event store, reader, views, keeper.

One ``Service`` runs the reader and the projector in a background thread; the API
reads the views and sends off-chain commands to the same event store.
"""

from __future__ import annotations

import logging
import threading
import time

from engine.application import OrderEngine
from engine.config import Settings
from engine.db import Database
from engine.keeper import Keeper
from engine.manifest import Manifest
from engine.reader import ChainReader
from engine.rpc import Rpc
from engine.transactions import Transactions
from projections.store_orders import StoreOrdersView, open_settlements

log = logging.getLogger("orderchain.service")


class Service:
    """The reader and, unless ``views`` is off (a projector process keeps them), the views."""

    def __init__(self, settings: Settings, rpc_url: str, views: bool = True):
        self.views = views
        self.settings = settings
        self.rpc = Rpc(rpc_url)
        self.chain_id = self.rpc.chain_id()
        self.manifest = Manifest.load(settings.deployments_dir, self.chain_id)
        self.app = OrderEngine(settings, self.manifest)
        self.db = Database(settings.view_db)
        self.view = StoreOrdersView(self.app, self.db)
        self.transactions = Transactions(self.rpc, self.manifest)
        self._reader: ChainReader | None = None
        self.keeper = Keeper(Rpc(rpc_url), self.transactions, settings.keeper_key) if settings.keeper_key else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self.last_error: str | None = None

    @property
    def reader(self) -> ChainReader:
        if self._reader is None:
            self._reader = ChainReader(self.app, Rpc(self.rpc.url), self.settings.confirmations,
                                       self.settings.block_range)
        return self._reader

    def step(self) -> int:
        """One round: read the chain, bring the views up to date."""
        written = self.reader.sync_once()
        recorded = self.reader.take_recorded()
        if self.views:
            self.view.catch_up(recorded=recorded)
        cursor = self.reader.cursor
        self.view.record_chain(self.chain_id, self.reader.head, cursor.block, cursor.block_hash)
        with self._changed:
            self._changed.notify_all()
        return written

    def _loop(self) -> None:
        last_keeper = 0.0
        while not self._stop.is_set():
            try:
                self.step()
                self.last_error = None
                if self.keeper and time.monotonic() - last_keeper >= self.settings.keeper_interval:
                    last_keeper = time.monotonic()
                    self.keeper.run_once(open_settlements(self.view))
            except Exception as exc:  # keep serving; /status shows the error
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                log.exception("engine step failed")
                self._stop.wait(1.0)
            self._stop.wait(self.settings.poll_interval)

    def start(self) -> None:
        self.step()
        self._thread = threading.Thread(target=self._loop, name="orderchain-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        self.db.checkpoint(force=True)

    def status(self) -> dict:
        try:
            head = self.rpc.block_number()
            node_ok = True
        except Exception:
            head, node_ok = None, False
        chain = self.view.chain(self.chain_id) or {}
        indexed = chain.get("block")
        target = None if head is None else head - self.settings.confirmations
        lag = None if head is None or indexed is None else max(0, target - indexed)
        return {
            "chain_id": self.chain_id,
            "node_head": head,
            "indexed_block": indexed,
            "indexed_block_hash": chain.get("block_hash"),
            "confirmations": self.settings.confirmations,
            "lag": lag,
            "ready": bool(node_ok and lag is not None and lag <= 1 and self.last_error is None),
            "view_position": self.view.position(),
            "last_error": self.last_error,
            "contracts": {name: c.address for name, c in self.manifest.contracts.items()},
        }


def run_projector(settings: Settings, rpc_url: str, stop: threading.Event,
                  on_progress=None) -> None:
    """Keeps the store-order view up to date from the event store, as a process of its own.

    The scale-out shape: one reader (``orderchain engine --no-views``) writes the event
    store, this follows it; on one machine the two use both cores.
    """
    rpc = Rpc(rpc_url)
    manifest = Manifest.load(settings.deployments_dir, rpc.chain_id())
    rpc.close()
    view = StoreOrdersView(OrderEngine(settings, manifest), Database(settings.view_db))
    while not stop.is_set():
        applied = 0
        try:
            applied = view.catch_up()
            if applied and on_progress:
                on_progress(view.position())
        except Exception:   # keep following; the next round retries
            log.exception("projector step failed")
            stop.wait(1.0)
        if not applied:
            stop.wait(settings.poll_interval)
