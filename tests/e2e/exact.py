"""Every view exact: equal to a rebuild from the event log, and to what a reader that never
saw an orphaned block builds in a new event store from the same off-chain facts."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import count

from eventsourcing.persistence import StoredEvent

from api.service import Service
from engine.chain.cursor import ChainCursor
from engine.chain.source import ChainAggregate

from .conftest import make_settings

# Columns that are positions in one event store's log, not facts of the chain or the orders.
POSITIONS = {"seq", "linked_seq", "position", "version"}
# Views whose rows are positions or deliveries of one process, not facts to compare across stores.
NOT_COMPARED = {"chain_status"}
_fresh = count(1)


def _plain(value):
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items()) if k not in POSITIONS}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def rows(service: Service) -> dict:
    """Every row of every view of ``service`` (but :data:`NOT_COMPARED`), without the columns
    and fields that are positions in its event log, order-free."""
    out = {}
    for view in service.projector.views:
        if view.name in NOT_COMPARED:
            continue
        for table in view.tables:
            cursor = view.db.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            found = [{n: _plain(v) for n, v in zip(names, row) if n not in POSITIONS} for row in cursor.fetchall()]
            # A thing whose every log left the chain is one a fresh reader never met.
            found = [r for r in found if r.get("logs", None) != []]
            if table == "view_order_history":
                found = _cancelled(found)
            out[table] = sorted(json.dumps(r, sort_keys=True, default=str) for r in found)
    return out


def _step(entry: dict) -> tuple:
    e = entry["entry"]
    return (
        entry["store_id"],
        entry["order_number"],
        e["step"],
        e.get("settlement_id"),
        e.get("block_hash"),
        e.get("log_index"),
    )


def _cancelled(history: list[dict]) -> list[dict]:
    """An order history with each retracted step and the step it retracts taken out (and the
    row's place within its position, ``n``): what a reader that never saw the fork records."""
    kept = [dict(h) for h in history]
    for h in kept:
        h.pop("n", None)
    for retraction in [h for h in kept if h["entry"].get("retracted")]:
        kept.remove(retraction)
        step = next((h for h in kept if not h["entry"].get("retracted") and _step(h) == _step(retraction)), None)
        assert step is not None, f"a retraction of a step the history does not hold: {retraction}"
        kept.remove(step)
    return kept


def _off_chain(service: Service) -> list[StoredEvent]:
    """The events of every aggregate not read from the chain (stores, orders, quotes, freight,
    rates, evidence ...), in the order they were recorded."""
    kept = []
    for n in service.app.recorder.select_notifications(start=1, limit=10_000_000):
        event = service.app.mapper.to_domain_event(n)
        if isinstance(event, (ChainAggregate.Discovered, ChainAggregate.LogRecorded, ChainAggregate.Retracted)) or type(
            event
        ).__qualname__.startswith(ChainCursor.__name__ + "."):
            continue
        kept.append(
            StoredEvent(
                originator_id=n.originator_id, originator_version=n.originator_version, topic=n.topic, state=n.state
            )
        )
    return kept


def assert_exact(service: Service, node, deployments, tmp_path) -> None:
    """Each view of ``service`` equals its rebuild, and all of them equal a fresh ingestion."""
    service.step()
    status = service.status()
    assert not any(v["error"] for v in status["views"].values()), status["views"]
    assert status["views_block"] == status["indexed_block"], status["views"]
    for view in service.projector.views:
        live = view.snapshot()
        view.rebuild()
        assert view.snapshot() == live, f"the {view.name} view differs from its rebuild"
    fresh = Service(
        replace(make_settings(tmp_path, deployments), db=str(tmp_path / f"fresh-{next(_fresh)}.sqlite")), node.url
    )
    try:
        fresh.app.recorder.insert_events(_off_chain(service))
        fresh.step()
        assert fresh.reader.reorgs == 0
        ours, theirs = rows(service), rows(fresh)
        for table in ours:
            assert ours[table] == theirs[table], f"{table} differs from a fresh ingestion"
    finally:
        fresh.stop()
