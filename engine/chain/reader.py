"""The chain reader: logs of the followed contracts -> domain events, exactly once.

It follows the contracts of the deployment manifest that a chain source declares (the
registry, ``engine/registry.py``, lists them; the reader imports none), reading block
ranges with ``eth_getLogs`` (halving a range the node refuses) and saving the resulting
events together with its checkpoint in one transaction, so a crash loses or repeats
nothing (on SQLite these saves do not wait for the disk: a power loss may take the last of
them, checkpoint and all, and those blocks are read again). Blocks newer than the confirmation depth are left for later. Each log is routed
by its address and event name to its source, which says which aggregate it folds into.

Every range read is linked to the checkpoint: the first new block's parent must be the
recorded block, and the range's last block must still be the same after its logs were
read (a single new block, the usual step at the head, has its logs asked for by its hash
instead: one round trip for the head, the checkpoint's block and the next header, one for
the logs). A reorganisation found that way (or by the checkpoint's own hash changing) makes
the reader walk back its recent checkpoints to the newest one still canonical, retract
every log recorded above it (compensating events) and read forward again.

A contract that appears in the manifest later is read on its own from its deployment
block up to the cursor, then followed with the rest (see ``engine/chain/cursor.py``).

On the hot path the reader builds each aggregate's next event (``Discovered`` with the
first log, then ``LogRecorded``) directly at its next version, remembering only
versions; retractions go through the aggregate. A version clash (an aggregate reopened
after a reorg retracted its logs) fails the save as a whole, and the range is written
again with every version looked up.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from engine.chain.abi import EventDecoder
from engine.chain.cursor import KEEP_CHECKPOINTS, ChainCursor
from engine.chain.manifest import DeployedContract, ManifestError
from engine.chain.rpc import Rpc, RpcError
from engine.chain.source import ChainAggregate, ChainSource
from engine.config import DEFAULT_BLOCK_RANGE
from engine.ids import TextedId
from engine.perf import gc_paused

if TYPE_CHECKING:  # the reader is handed the application; it imports no contract or domain module
    from engine.application import OrderEngine

log = logging.getLogger("orderchain.reader")

# Which aggregates a step touched is remembered only this close to the head: deeper
# blocks do not reorganise, and catch-up steps would otherwise carry huge lists.
REORG_WINDOW = 1024
VERSIONS_KEPT = 200_000  # last saved version per aggregate, kept in memory
IDS_KEPT = 100_000  # (address, key) -> aggregate id cache
RECORDED_KEPT = 200_000  # saved events not yet taken by the views
LOGS_PER_SAVE = 10_000  # logs per transaction while catching up
# On PostgreSQL the library inserts a save as one array parameter in pipeline mode; saves of
# 10,000 logs were seen to stall there (the server waiting on the client), smaller ones not.
POSTGRES_LOGS_PER_SAVE = 2_000
EVENTS_PER_STEP = 20_000  # events a step writes at most before it hands them to the views
# JSON-RPC error codes nodes use for "too many blocks or logs in one eth_getLogs".
RANGE_REFUSED_CODES = (-32005, -32602, -32614)


class ReorgTooDeep(RuntimeError):
    """The chain reorganised below every checkpoint the reader still remembers."""


class OtherChain(RuntimeError):
    """The node serves another chain than the one the event store follows."""


class ChainMoved(Exception):
    """The chain changed under a range while it was being read; read it again."""


class Target:
    """Where one source's logs go: the aggregate's key argument, opening log and event classes."""

    __slots__ = ("aggregate", "discovered", "enrich", "key", "kind", "opens", "recorded", "topic")

    def __init__(self, source: ChainSource):
        self.key = source.key
        self.opens = source.opens
        self.aggregate = source.aggregate
        self.kind = source.aggregate.kind
        self.topic = get_topic(source.aggregate)
        self.discovered: type = source.aggregate.Discovered
        self.recorded: type = source.aggregate.LogRecorded
        self.enrich = source.enrich


class Route:
    """Where the logs of one contract address go: its decoder, and per event name its target."""

    __slots__ = ("address", "block", "decoder", "deployed", "name", "targets")

    def __init__(self, deployed: DeployedContract):
        self.deployed = deployed
        self.name = deployed.name
        self.address = deployed.address
        self.block = deployed.block
        self.decoder = EventDecoder(deployed.abi)
        self.targets: dict[str, Target] = {}

    def add(self, source: ChainSource) -> None:
        target = Target(source)
        for name in source.events:
            if name in self.targets:
                raise ValueError(f"{self.name}: event {name} is read by two sources")
            self.targets[name] = target


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


def _next_span(blocks: int, logs: int, most: int, wanted_logs: int) -> int:
    """Blocks for the next read, from how many logs the last ``blocks`` held: about
    ``wanted_logs`` (one save), at most ``most``."""
    if logs == 0:
        return min(most, blocks * 2)
    return max(1, min(most, blocks * wanted_logs // logs))


def _too_large(exc: RpcError) -> bool:
    text = (exc.message or "").lower()
    return exc.code in RANGE_REFUSED_CODES or any(
        word in text for word in ("range", "too many", "limit", "exceed", "too large")
    )


class ChainReader:
    """Reads one chain into an :class:`OrderEngine`, following the given chain sources."""

    def __init__(
        self,
        app: OrderEngine,
        rpc: Rpc,
        sources: Iterable[ChainSource],
        confirmations: int = 0,
        block_range: int = DEFAULT_BLOCK_RANGE,
        on_progress: Callable[[int, int, int], None] | None = None,
        max_logs_per_save: int = LOGS_PER_SAVE,
        max_events_per_step: int | None = None,
    ):
        self.app = app
        self.rpc = rpc
        self.confirmations = confirmations
        self.block_range = block_range
        self.on_progress = on_progress
        self.max_logs_per_save = max_logs_per_save
        self.max_events_per_step = max_events_per_step  # None: a step reads to the head
        self.behind = False  # the last step stopped at its bound, short of the head
        manifest = app.deployment
        self.chain_id = manifest.chain_id
        self.routes: dict[str, Route] = {}
        for source in sources:
            deployed = manifest.contracts.get(source.contract)
            if deployed is not None:
                self.routes.setdefault(deployed.address, Route(deployed)).add(source)
        if not self.routes:
            raise ManifestError(f"none of the contracts the engine reads is deployed on chain {self.chain_id}")
        self.recorded: list[tuple[int, object]] = []  # saved, not yet handed to the views
        self._versions: OrderedDict[UUID, int] = OrderedDict()
        self._ids: dict[tuple[str, str, str], UUID] = {}
        self.head: int | None = None
        self.reorgs = 0
        self.retracted = 0
        self.ingested = 0
        self._written = 0
        self._span = block_range  # blocks per read while catching up: sized to about a save of logs
        self._ahead = ThreadPoolExecutor(1, thread_name_prefix="orderchain-read-ahead")
        self._ahead_rpc = rpc.clone()
        self.cursor = self._load_cursor()

    # -- state

    def _load_cursor(self) -> ChainCursor:
        genesis = self.rpc.block_hash(0)
        try:
            cursor: ChainCursor = self.app.repository.get(ChainCursor.create_id(self.chain_id))
        except AggregateNotFoundError:
            cursor = self._adopt_legacy(genesis) or ChainCursor(
                chain_id=self.chain_id, genesis_hash=genesis, start_block=min(r.block for r in self.routes.values())
            )
        else:
            if cursor.genesis_hash and genesis and cursor.genesis_hash != genesis:
                raise OtherChain(
                    f"the event store was filled from another chain {self.chain_id} (genesis "
                    f"{cursor.genesis_hash}); this node's genesis is {genesis}. Use a new ORDERCHAIN_DB for this "
                    f"chain, or point ORDERCHAIN_RPC_URL at the chain the store follows."
                )
        for route in self.routes.values():
            if route.address not in cursor.contracts:
                cursor.follow(address=route.address, name=route.name, from_block=route.block)
                if cursor.contracts[route.address]["read_to"] is not None:
                    log.info(
                        "%s at %s joins at block %d: reading it up to block %d first",
                        route.name,
                        route.address,
                        route.block,
                        cursor.block,
                    )
        if cursor.pending_events:
            self._saved(self.app.save(cursor))
        return cursor

    def _adopt_legacy(self, genesis: str | None) -> ChainCursor | None:
        """An event store written when the cursor was one per set of contracts: the new cursor
        takes over its position (read from its stored events), so nothing is read twice."""
        decode = self.app.mapper.transcoder.decode
        for addresses in [[a] for a in self.routes] + [list(self.routes)]:
            legacy = ChainCursor.legacy_id(self.chain_id, addresses)
            first = self.app.recorder.select_events(legacy, limit=1)
            if not first:
                continue
            started = decode(first[0].state)
            block, block_hash, recent = started["start_block"] - 1, None, []
            for stored in reversed(self.app.recorder.select_events(legacy, desc=True, limit=KEEP_CHECKPOINTS)):
                state = decode(stored.state)
                if stored.topic.endswith(".Advanced"):
                    recent.append([state["to_block"], state["block_hash"], state["touched"]])
                elif stored.topic.endswith(".RolledBack"):
                    recent = [c for c in recent if c[0] <= state["to_block"]]
                else:
                    continue
                block, block_hash = state["to_block"], state["block_hash"]
            cursor = ChainCursor(
                chain_id=self.chain_id,
                start_block=started["start_block"],
                genesis_hash=started.get("genesis_hash") or genesis,
            )
            for address in addresses:
                route = self.routes[address]
                cursor.follow(address=address, name=route.name, from_block=route.block)
            cursor.adopt(block=block, block_hash=block_hash, recent=recent)
            log.warning("took over the position of the earlier cursor of %s: block %d", ", ".join(addresses), block)
            return cursor
        return None

    def _version(self, aggregate_id: UUID) -> int:
        """The aggregate's last saved version (0: none yet), from memory or the event store."""
        found = self._versions.get(aggregate_id)
        if found is None:
            last = self.app.recorder.select_events(aggregate_id, desc=True, limit=1)
            found = last[0].originator_version if last else 0
        return found

    def _remember(self, versions: dict[UUID, int]) -> None:
        self._versions.update(versions)
        while len(self._versions) > VERSIONS_KEPT:
            self._versions.popitem(last=False)

    def _saved(self, recordings: list) -> None:
        self.recorded.extend((r.notification.id, r.domain_event) for r in recordings)
        del self.recorded[:-RECORDED_KEPT]

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
        """Reads up to the confirmed head, or until the step has written its bound of events
        (then :attr:`behind` is set and the next step goes on from there); returns the number
        of events written."""
        self._written = 0
        self.behind = False
        with gc_paused():
            try:
                self._sync()
            except ChainMoved as moved:
                log.info("%s; reading again", moved)
            finally:
                self.ingested += self._written
        return self._written

    def _sync(self) -> None:
        head, next_header = self._look()
        self.head = head
        target = head - self.confirmations
        for address, read_to in list(self.cursor.backfilling.items()):
            self._backfill(address, read_to, head)
            if self.behind:
                return
        addresses = [a for a in self.cursor.followed if a in self.routes]
        start = self.cursor.block + 1
        ahead: tuple[int, int, Future] | None = None  # the next range, being read meanwhile
        while start <= target:
            if ahead is not None and ahead[0] == start:
                end, found = ahead[1], ahead[2].result()
                ahead = None
            else:
                end = min(start + min(self._span, self.block_range) - 1, target)
                if end == start and next_header is not None and int(next_header["number"], 16) == start:
                    found = self._read_one(self.rpc, addresses, next_header, self.cursor.block_hash)
                else:
                    found = self._read(self.rpc, addresses, start, end, self.cursor.block_hash)
            if found is None:
                continue
            logs, end_hash = found
            self._span = _next_span(end - start + 1, len(logs), self.block_range, self._part_size())
            if end < target:  # the node answers the next range while this one is written
                following = min(end + self._span, target)
                ahead = (
                    end + 1,
                    following,
                    self._ahead.submit(self._read, self._ahead_rpc, addresses, end + 1, following, end_hash),
                )
            for part, part_end, part_hash in _split(logs, end, end_hash, self._part_size()):
                near_head = part_end > head - REORG_WINDOW

                def advance(versions, _blocks, count, part_end=part_end, part_hash=part_hash, near=near_head):
                    self.cursor.advance(
                        to_block=part_end,
                        block_hash=part_hash,
                        head=head,
                        events=count,
                        touched=[str(i) for i in versions] if near else None,
                    )

                self._write(part, advance)
                if self._full() and self.cursor.block < target:
                    self.behind = True
                    break
            if self.on_progress:
                self.on_progress(self.cursor.block, target, self._written)
            if self.behind:
                return
            start = end + 1

    def _part_size(self) -> int:
        return min(self.max_logs_per_save, self.max_events_per_step or self.max_logs_per_save)

    def _full(self) -> bool:
        return self.max_events_per_step is not None and self._written >= self.max_events_per_step

    def _backfill(self, address: str, read_to: int, head: int) -> None:
        """Reads a joining contract on its own, from where it stands up to the cursor."""
        start = read_to + 1
        while start <= self.cursor.block:
            end = min(start + self.block_range - 1, self.cursor.block)
            expected = self.cursor.block_hash if end == self.cursor.block else None
            found = self._read(self.rpc, [address], start, end, None, expected_end=expected)
            if found is None:
                continue
            logs, end_hash = found
            for part, part_end, _ in _split(logs, end, end_hash, self._part_size()):

                def backfilled(_versions, blocks, count, part_end=part_end):
                    near = [[block, str(i)] for i, block in blocks.items() if block > head - REORG_WINDOW]
                    self.cursor.backfill(address=address, to_block=part_end, touched=near, events=count)

                self._write(part, backfilled)
                if self._full() and self.cursor.backfilling.get(address, self.cursor.block) < self.cursor.block:
                    self.behind = True
                    break
            if self.on_progress:
                self.on_progress(
                    self.cursor.backfilling.get(address, self.cursor.block), self.cursor.block, self._written
                )
            if self.behind:
                return
            start = end + 1
        if address in self.cursor.backfilling:  # nothing was left to read
            self._write(
                [], lambda *_: self.cursor.backfill(address=address, to_block=self.cursor.block, touched=[], events=0)
            )

    def _read(
        self,
        rpc: Rpc,
        addresses: list[str],
        start: int,
        end: int,
        parent_hash: str | None,
        expected_end: str | None = None,
    ) -> tuple[list[dict], str] | None:
        """The logs of ``addresses`` in blocks ``start..end`` and the hash of block ``end``,
        linked to what the reader already knows: block ``start``'s parent is ``parent_hash``
        and block ``end`` is ``expected_end`` (when given), and block ``end`` is the same
        before and after the logs are read. None when the node refused the range (it is
        narrowed); :class:`ChainMoved` when the chain changed under it."""
        if parent_hash is not None and start != end:
            first, header = rpc.batch(
                [("eth_getBlockByNumber", [hex(start), False]), ("eth_getBlockByNumber", [hex(end), False])]
            )
        else:
            first = header = rpc.block(end)
        if header is None or first is None:
            raise ChainMoved(f"block {end} is gone")
        if parent_hash is not None and first["parentHash"] != parent_hash:  # the next continuity check rolls back
            raise ChainMoved(f"block {start} no longer follows block {start - 1}")
        if expected_end is not None and header["hash"] != expected_end:
            raise ChainMoved(f"block {end} changed")
        try:
            logs = rpc.get_logs(addresses, start, end) if addresses else []
        except RpcError as exc:
            if not _too_large(exc) or end == start:
                raise
            self.block_range = max(1, (end - start + 1) // 2)
            log.info("node refused blocks %d-%d (%s); range now %d", start, end, exc.message, self.block_range)
            return None
        if any(lg["blockNumber"] == header["number"] and lg["blockHash"] != header["hash"] for lg in logs):
            raise ChainMoved(f"the chain moved under blocks {start}-{end}")
        if rpc.block_hash(end) != header["hash"]:
            raise ChainMoved(f"block {end} changed while its range was read")
        return logs, header["hash"]

    def _read_one(
        self, rpc: Rpc, addresses: list[str], header: dict, parent_hash: str | None
    ) -> tuple[list[dict], str]:
        """As :meth:`_read` for the one block whose header is already read (the step at the
        head): its logs are asked for by its hash, so they are that block's even if the chain
        moves meanwhile (the next step's continuity check sees it), two round trips fewer."""
        number = int(header["number"], 16)
        if parent_hash is not None and header["parentHash"] != parent_hash:
            raise ChainMoved(f"block {number} no longer follows block {number - 1}")
        try:
            logs = rpc.get_logs_at(addresses, header["hash"]) if addresses else []
        except RpcError:
            if rpc.block_hash(number) != header["hash"]:  # the node forgot a block that left the chain
                raise ChainMoved(f"block {number} changed while it was read") from None
            raise
        return logs, header["hash"]

    def _write(self, logs: list[dict], checkpoint, trust_opened: bool = True) -> int:
        """Records ``logs`` and the cursor's new checkpoint (``checkpoint(versions, newest
        block per aggregate, events)`` triggers it) in one save.

        An aggregate whose first log here is its source's opening log is taken as new
        without asking the event store. If it existed after all (its logs were retracted by
        a reorg), the save fails on the aggregate's version and the logs are written again,
        every aggregate looked up.
        """
        versions: dict[UUID, int] = {}  # aggregates this save writes, at their new versions
        blocks: dict[UUID, int] = {}  # the block of each one's newest log here
        events: list = []
        now = ChainAggregate.LogRecorded.create_timestamp()
        chain_id = self.chain_id
        routes = self.routes
        new = object.__new__
        for raw in logs:
            if raw.get("removed"):
                continue
            route = routes.get(raw["address"].lower())
            if route is None:
                continue
            decoded = route.decoder.decode(raw)
            if decoded is None:
                continue
            name, args = decoded
            target = route.targets.get(name)
            if target is None:
                continue
            if target.enrich is not None:
                enriched = target.enrich(self.rpc, route.deployed, raw, args)
                if enriched is None:
                    continue
                args = enriched
            block_number = int(raw["blockNumber"], 16)
            coords = {
                "chain_id": chain_id,
                "block_number": block_number,
                "block_hash": raw["blockHash"],
                "tx_hash": raw["transactionHash"],
                "log_index": int(raw["logIndex"], 16),
            }
            if raw.get("blockTimestamp"):
                coords["block_timestamp"] = int(raw["blockTimestamp"], 16)
            key = args.pop(target.key)  # the aggregate's own identity: not repeated in every event
            if not isinstance(key, str):
                key = str(key)
            aggregate_id = self._aggregate_id(route.address, target, key)
            version = versions.get(aggregate_id)
            if version is None:
                version = 0 if trust_opened and name == target.opens else self._version(aggregate_id)
            entry = {"event": name, "args": args, "coords": coords}
            # Made as the mapper makes a decoded event, its fields in their declared order: the
            # dataclass constructor only checks that the id is a UUID, which the reader's are.
            if version == 0:
                event: Any = new(target.discovered)
                event.__dict__.update(
                    originator_id=aggregate_id,
                    originator_version=1,
                    timestamp=now,
                    originator_topic=target.topic,
                    chain_id=chain_id,
                    contract=route.address,
                    key=key,
                    first_log=entry,
                )
            else:
                event = new(target.recorded)
                event.__dict__.update(
                    originator_id=aggregate_id,
                    originator_version=version + 1,
                    timestamp=now,
                    event_name=name,
                    args=args,
                    coords=coords,
                )
            events.append(event)
            versions[aggregate_id] = version + 1
            blocks[aggregate_id] = block_number
        checkpoint(versions, blocks, len(events))
        try:
            self._saved(self.app.record(self.cursor, events=events, rereadable=True))
        except IntegrityError:
            self._forget_unsaved()
            if not trust_opened:
                raise
            return self._write(logs, checkpoint, trust_opened=False)
        except Exception:
            self._forget_unsaved()
            raise
        self._remember(versions)
        self._written += len(events)
        return len(events)

    def _aggregate_id(self, address: str, target: Target, key: str) -> UUID:
        found = self._ids.get((target.kind, address, key))
        if found is None:
            found = self._ids[(target.kind, address, key)] = TextedId(
                target.aggregate.create_id(self.chain_id, address, key)
            )
            if len(self._ids) > IDS_KEPT:
                self._ids.clear()
        return found

    # -- reorganisations and other chains

    def _look(self) -> tuple[int, dict | None]:
        """The head, after checking that the checkpoint's block is still on the chain (rolling
        back if not), and the header of the block after the checkpoint, or None: one round trip."""
        cursor = self.cursor
        calls = [("eth_blockNumber", []), ("eth_getBlockByNumber", [hex(cursor.block + 1), False])]
        if cursor.block_hash is not None:
            calls.append(("eth_getBlockByNumber", [hex(cursor.block), False]))
        found = self.rpc.batch(calls)
        head, following = int(found[0], 16), found[1]
        if cursor.block_hash is not None:
            at_cursor = found[2]
            if cursor.block > head or at_cursor is None or at_cursor["hash"] != cursor.block_hash:
                self._roll_back(head)
                following = None  # the cursor moved back
        return head, following

    def check_same_chain(self) -> None:
        """Raises :class:`OtherChain` unless the node still serves the chain the cursor follows:
        the same genesis block, and code at every followed contract."""
        genesis = self.rpc.block_hash(0)
        if self.cursor.genesis_hash and genesis != self.cursor.genesis_hash:
            raise OtherChain(
                f"the node at {self.rpc.url} now serves another chain (genesis {genesis}, the "
                f"event store follows {self.cursor.genesis_hash}); not following it. Point "
                f"ORDERCHAIN_RPC_URL at the chain the store follows, or use a new ORDERCHAIN_DB."
            )
        for address in self.cursor.followed:
            if address in self.routes and self.rpc.call("eth_getCode", address, "latest") in ("0x", "0x0", None):
                raise OtherChain(
                    f"{self.routes[address].name} at {address} has no code on the node at "
                    f"{self.rpc.url} any more (its state was lost?); not following it."
                )

    def _roll_back(self, head: int) -> None:
        self.check_same_chain()
        cursor = self.cursor
        ancestor: tuple[int, str | None] | None = None
        for block, block_hash, _ in reversed(cursor.recent):
            if block <= head and self.rpc.block_hash(block) == block_hash:
                ancestor = (block, block_hash)
                break
        if ancestor is None:
            if len(cursor.recent) < KEEP_CHECKPOINTS:  # we remember everything since the start
                ancestor = (cursor.start_block - 1, None)
            else:
                raise ReorgTooDeep(
                    f"chain {self.chain_id} reorganised below block {cursor.recent[0][0]}; rebuild from scratch"
                )
        to_block = ancestor[0]
        ids = cursor.touched_above(to_block)
        if ids is None:
            raise ReorgTooDeep(
                f"chain {self.chain_id} reorganised below block {to_block + 1}, "
                f"deeper than the reorg window; rebuild from scratch"
            )
        retracted = 0
        changed = []
        for aggregate_id in ids:
            try:
                aggregate: ChainAggregate = self.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                continue
            retracted += len(aggregate.retract_after(to_block))
            changed.append(aggregate)
        cursor.roll_back(to_block=to_block, block_hash=ancestor[1], retracted=retracted)
        try:
            self._saved(self.app.save(cursor, *changed))
        except Exception:
            self._forget_unsaved()
            raise
        self._remember({aggregate.id: aggregate.version for aggregate in changed})
        self.reorgs += 1
        self.retracted += retracted
        log.warning(
            "chain %d reorganised: rolled back to block %d, retracted %d events", self.chain_id, to_block, retracted
        )


__all__ = ["ChainMoved", "ChainReader", "OtherChain", "ReorgTooDeep"]
