"""The chain reader: logs of the deployed contracts -> domain events, exactly once.

It follows the manifest's contracts from their deployment block with ``eth_getLogs``
over block ranges (halving a range the node refuses), decodes logs with eth-abi, and
saves the resulting events together with its checkpoint in one transaction, so a crash
loses or repeats nothing. Blocks newer than the confirmation depth are left for later.

A reorganisation is found by block-hash continuity: before each step the node's hash of
the last checkpointed block must still be the one recorded. If not, the reader walks
back its recent checkpoints to the newest one still on the canonical chain, retracts
every log recorded above it (compensating events) and reads forward again.

On the hot path the reader builds each settlement's next event (``Discovered`` with the
first log, then ``LogRecorded``) directly at its next version, remembering only versions;
the ``Settlement`` aggregate is what those events rebuild into, and retractions go
through it. A version clash (a settlement reopened after a reorg retracted its logs)
fails the save as a whole, and the range is written again with every version looked up.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from .ids import derive
from .perf import gc_paused
from .rpc import Rpc, RpcError
from .settlement import SETTLEMENT_EVENTS, Settlement

if TYPE_CHECKING:
    from .application import OrderEngine

log = logging.getLogger("orderchain.reader")
SETTLEMENT_TOPIC = get_topic(Settlement)

KEEP_CHECKPOINTS = 512
# Which settlements a step touched is remembered only this close to the head: deeper
# blocks do not reorganise, and catch-up steps would otherwise carry huge lists.
REORG_WINDOW = 1024


class ReorgTooDeep(RuntimeError):
    """The chain reorganised below every checkpoint the reader still remembers."""


class OtherChain(RuntimeError):
    """The event store follows a different chain than the node serves."""


class ChainCursor(Aggregate):
    """How far the reader has read one chain, with the recent block hashes it saw."""

    @staticmethod
    def create_id(chain_id: int, addresses: tuple[str, ...]) -> UUID:
        return derive("cursor", chain_id, ",".join(sorted(addresses)))

    @event("Started")
    def __init__(self, chain_id: int, addresses: tuple[str, ...], start_block: int,
                 genesis_hash: str | None = None):
        self.chain_id = chain_id
        self.genesis_hash = genesis_hash
        self.addresses = list(addresses)
        self.start_block = start_block
        self.block = start_block - 1       # last block fully read
        self.block_hash: str | None = None
        self.recent: list[list] = []       # [block, hash, [settlement ids] or None]

    @event("Advanced")
    def advance(self, to_block: int, block_hash: str, touched: list[str] | None, events: int) -> None:
        self.block = to_block
        self.block_hash = block_hash
        self.recent.append([to_block, block_hash, touched])
        del self.recent[:-KEEP_CHECKPOINTS]

    @event("RolledBack")
    def roll_back(self, to_block: int, block_hash: str | None, retracted: int) -> None:
        self.recent = [c for c in self.recent if c[0] <= to_block]
        self.block = to_block
        self.block_hash = block_hash


def _split(logs: list[dict], end: int, end_hash: str, size: int):
    """Splits a range's logs into saves of about ``size`` logs, cut at block boundaries:
    (logs, last block, its hash). Smaller saves let a projector follow while the reader
    catches up, and keep each transaction short."""
    start = 0
    while len(logs) - start > size:
        cut = start + size
        block = logs[cut - 1]["blockNumber"]
        while cut < len(logs) and logs[cut]["blockNumber"] == block:
            cut += 1
        if cut >= len(logs):
            break
        yield logs[start:cut], int(block, 16), logs[cut - 1]["blockHash"]
        start = cut
    yield logs[start:], end, end_hash


def _too_large(exc: RpcError) -> bool:
    text = (exc.message or "").lower()
    return exc.code in (-32005, -32602, -32614) or any(
        word in text for word in ("range", "too many", "limit", "exceed", "too large"))


class ChainReader:
    """Reads one chain into an :class:`OrderEngine`."""

    def __init__(self, app: "OrderEngine", rpc: Rpc, confirmations: int = 0,
                 block_range: int = 5000, on_progress: Callable[[int, int, int], None] | None = None,
                 max_logs_per_save: int = 10000):
        self.app = app
        self.rpc = rpc
        self.confirmations = confirmations
        self.block_range = block_range
        self.on_progress = on_progress
        self.max_logs_per_save = max_logs_per_save
        manifest = app.manifest
        settlement = manifest.contract("C2CSettlement")
        self.settlement_address = settlement.address
        self.decoders = {settlement.address: settlement.events}
        self.addresses = tuple(sorted(self.decoders))
        self.chain_id = manifest.chain_id
        self.recorded: list[tuple[int, object]] = []   # saved, not yet handed to the views
        self.cursor = self._load_cursor(settlement.block)
        self._versions: OrderedDict[UUID, int] = OrderedDict()   # last saved version per settlement
        self._ids: dict[str, UUID] = {}
        self.head: int | None = None
        self.reorgs = 0

    # -- state

    def _load_cursor(self, start_block: int) -> ChainCursor:
        cursor_id = ChainCursor.create_id(self.chain_id, self.addresses)
        genesis = self.rpc.block_hash(0)
        try:
            cursor = self.app.repository.get(cursor_id)
        except AggregateNotFoundError:
            cursor = ChainCursor(chain_id=self.chain_id, addresses=self.addresses,
                                 start_block=start_block, genesis_hash=genesis)
            self._saved(self.app.save(cursor))
            return cursor
        recorded = getattr(cursor, "genesis_hash", None)
        if recorded and genesis and recorded != genesis:
            raise OtherChain(
                f"the event store was filled from another chain {self.chain_id} (genesis {recorded}); "
                f"this node's genesis is {genesis}. Use a new ORDERCHAIN_DB for this chain, or point "
                f"ORDERCHAIN_RPC_URL at the chain the store follows.")
        return cursor

    def _version(self, aggregate_id: UUID) -> int:
        """The settlement's last saved version (0: none yet), from memory or the event store."""
        found = self._versions.get(aggregate_id)
        if found is None:
            last = self.app.recorder.select_events(aggregate_id, desc=True, limit=1)
            found = last[0].originator_version if last else 0
        return found

    def _remember(self, versions: dict[UUID, int]) -> None:
        self._versions.update(versions)
        while len(self._versions) > 200_000:
            self._versions.popitem(last=False)

    def _saved(self, recordings: list) -> None:
        self.recorded.extend((r.notification.id, r.domain_event) for r in recordings)
        del self.recorded[:-200_000]

    def take_recorded(self) -> list[tuple[int, object]]:
        """The (notification id, event) pairs saved since the last call, for the views."""
        taken, self.recorded = self.recorded, []
        return taken

    def _forget_unsaved(self) -> None:
        """After a failed save: reload the checkpoint, forget what may not have been saved."""
        self._versions.clear()
        self.cursor = self.app.repository.get(self.cursor.id)

    # -- reading

    def sync_once(self) -> int:
        """Reads everything up to the confirmed head; returns the number of events written."""
        with gc_paused():
            return self._sync()

    def _sync(self) -> int:
        head = self.rpc.block_number()
        self.head = head
        self._check_continuity(head)
        target = head - self.confirmations
        written = 0
        start = self.cursor.block + 1
        while start <= target:
            end = min(start + self.block_range - 1, target)
            header = self.rpc.block(end)
            try:
                logs = self.rpc.get_logs(list(self.addresses), start, end)
            except RpcError as exc:
                if not _too_large(exc) or end == start:
                    raise
                self.block_range = max(1, (end - start + 1) // 2)
                log.info("node refused blocks %d-%d (%s); range now %d", start, end, exc.message,
                         self.block_range)
                continue
            if header is None or any(lg["blockNumber"] == header["number"]
                                     and lg["blockHash"] != header["hash"] for lg in logs):
                log.info("chain moved under blocks %d-%d; reading again", start, end)
                return written
            for part, part_end, part_hash in _split(logs, end, header["hash"], self.max_logs_per_save):
                written += self._write(part, part_end, part_hash, near_head=part_end > head - REORG_WINDOW)
            if self.on_progress:
                self.on_progress(end, target, written)
            start = end + 1
        return written

    def _write(self, logs: list[dict], end: int, end_hash: str, near_head: bool = True,
               trust_opened: bool = True) -> int:
        """Records ``logs`` and the new checkpoint in one save.

        A settlement's first log is its ``SettlementOpened``: with ``trust_opened`` such a
        settlement is taken as new without asking the event store. If it existed after
        all (its logs were retracted by a reorg), the save fails on the aggregate's
        version and the range is written again looking every settlement up.
        """
        versions: dict[UUID, int] = {}    # settlements this save writes, at their new versions
        events: list = []
        now = Settlement.LogRecorded.create_timestamp()
        for raw in logs:
            if raw.get("removed"):
                continue
            decoder = self.decoders.get(raw["address"].lower())
            decoded = decoder.decode(raw) if decoder else None
            if decoded is None:
                continue
            name, args = decoded
            if name not in SETTLEMENT_EVENTS:
                continue
            coords = {
                "chain_id": self.chain_id,
                "block_number": int(raw["blockNumber"], 16),
                "block_hash": raw["blockHash"],
                "tx_hash": raw["transactionHash"],
                "log_index": int(raw["logIndex"], 16),
            }
            if raw.get("blockTimestamp"):
                coords["block_timestamp"] = int(raw["blockTimestamp"], 16)
            settlement_id = args.pop("id")   # the aggregate's own identity: not repeated in every event
            aggregate_id = self._aggregate_id(settlement_id)
            version = versions.get(aggregate_id)
            if version is None:
                version = 0 if trust_opened and name == "SettlementOpened" else self._version(aggregate_id)
            events.append(self._event(aggregate_id, version, settlement_id, name, args, coords, now))
            versions[aggregate_id] = version + 1
        self.cursor.advance(to_block=end, block_hash=end_hash,
                            touched=[str(i) for i in versions] if near_head else None, events=len(events))
        try:
            self._saved(self.app.record(self.cursor, events=events))
        except IntegrityError:
            self._forget_unsaved()
            if not trust_opened:
                raise
            return self._write(logs, end, end_hash, near_head, trust_opened=False)
        except Exception:
            self._forget_unsaved()
            raise
        self._remember(versions)
        return len(events)

    def _event(self, aggregate_id: UUID, version: int, settlement_id: str, name: str, args: dict, coords: dict,
               now):
        """The settlement's next event, built directly (the hot path needs no aggregate object):
        its ``Discovered`` carrying the first log, or a ``LogRecorded``."""
        log_ = {"event": name, "args": args, "coords": coords}
        if version == 0:
            return Settlement.Discovered(originator_id=aggregate_id, originator_version=1, timestamp=now,
                                         originator_topic=SETTLEMENT_TOPIC, chain_id=self.chain_id,
                                         contract=self.settlement_address, settlement_id=settlement_id,
                                         first_log=log_)
        return Settlement.LogRecorded(originator_id=aggregate_id, originator_version=version + 1, timestamp=now,
                                      event_name=name, args=args, coords=coords)

    def _aggregate_id(self, settlement_id: str) -> UUID:
        found = self._ids.get(settlement_id)
        if found is None:
            found = self._ids[settlement_id] = Settlement.create_id(self.chain_id, self.settlement_address,
                                                                    settlement_id)
            if len(self._ids) > 100_000:
                self._ids.clear()
        return found

    # -- reorganisations

    def _check_continuity(self, head: int) -> None:
        cursor = self.cursor
        if cursor.block_hash is None:
            return
        if cursor.block <= head and self.rpc.block_hash(cursor.block) == cursor.block_hash:
            return
        self._roll_back(head)

    def _roll_back(self, head: int) -> None:
        cursor = self.cursor
        ancestor: tuple[int, str | None] | None = None
        for block, block_hash, _ in reversed(cursor.recent):
            if block <= head and self.rpc.block_hash(block) == block_hash:
                ancestor = (block, block_hash)
                break
        if ancestor is None:
            if len(cursor.recent) < KEEP_CHECKPOINTS:   # we remember everything since the start
                ancestor = (cursor.start_block - 1, None)
            else:
                raise ReorgTooDeep(f"chain {self.chain_id} reorganised below block "
                                   f"{cursor.recent[0][0]}; rebuild from scratch")
        to_block = ancestor[0]
        above = [c for c in cursor.recent if c[0] > to_block]
        if any(c[2] is None for c in above):
            raise ReorgTooDeep(f"chain {self.chain_id} reorganised below block {to_block + 1}, "
                               f"deeper than the reorg window; rebuild from scratch")
        ids = {UUID(i) for c in above for i in c[2]}
        retracted = 0
        changed = []
        for aggregate_id in ids:
            try:
                settlement = self.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                continue
            retracted += len(settlement.retract_after(to_block))
            changed.append(settlement)
        cursor.roll_back(to_block=to_block, block_hash=ancestor[1], retracted=retracted)
        try:
            self._saved(self.app.save(cursor, *changed))
        except Exception:
            self._forget_unsaved()
            raise
        self._remember({settlement.id: settlement.version for settlement in changed})
        self.reorgs += 1
        log.warning("chain %d reorganised: rolled back to block %d, retracted %d events",
                    self.chain_id, to_block, retracted)

    # -- loop

    def run(self, stop, interval: float = 0.1, after_sync: Callable[[], None] | None = None) -> None:
        """Polls until ``stop`` (a threading.Event) is set."""
        while not stop.is_set():
            try:
                self.sync_once()
                if after_sync:
                    after_sync()
            except Exception:  # keep following the chain; the next poll retries
                log.exception("reader step failed")
                stop.wait(1.0)
            stop.wait(interval)


__all__ = ["ChainCursor", "ChainReader", "OtherChain", "ReorgTooDeep"]
