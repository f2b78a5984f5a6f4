"""The chain logs every chain view of a process shares: kept as the views apply events, read
from the event store when they are not at hand (a projector started again, or too many
aggregates kept), and the views they feed equal to a rebuild after a later log and a
retraction."""

from __future__ import annotations

import pytest

from engine.application import OrderEngine
from engine.config import Settings
from engine.db import Database
from engine.settlement.escrow import CONTRACT, Settlement
from projections import chain_rows
from projections.chain_rows import chain_logs, logs_of
from projections.reputation import ReputationView
from projections.runner import Projector

CHAIN_ID = 31337
STORE, BUYER = "0x" + "5" * 40, "0x" + "6" * 40


def coords(block: int) -> dict:
    return {
        "chain_id": CHAIN_ID,
        "block_number": block,
        "block_hash": f"0x{block:064x}",
        "tx_hash": f"0x{10_000 + block:064x}",
        "log_index": 0,
        "block_timestamp": 1_700_000_000 + block,
    }


def opened(key: str, block: int) -> dict:
    args = {
        "store": STORE,
        "orderNumber": "0x" + key.encode().hex().ljust(64, "0"),
        "buyer": BUYER,
        "payer": BUYER,
        "token": "0x" + "7" * 40,
        "amount": 5_000_000,
        "snapshotHash": "0x" + "8" * 64,
        "paidAt": 1_700_000_000,
        "deadline": 1_800_000_000,
    }
    return {"event": "SettlementOpened", "args": args, "coords": coords(block)}


def rejected(settlement: Settlement, block: int) -> None:
    settlement.record("SettlementRejected", {"toPayer": 5_000_000, "paymentRecord": 9}, coords(block))


@pytest.fixture
def settings(tmp_path):
    return Settings(db=str(tmp_path / "events.sqlite"), var_dir=str(tmp_path))


def projector(app: OrderEngine, settings: Settings) -> Projector:
    return Projector(app, Database(settings.view_db), views=[ReputationView])


def signals(view: ReputationView) -> list[tuple]:
    return sorted(view.db.fetchall("SELECT source, address, name FROM view_reputation_signals"))


def exact(view: ReputationView) -> None:
    shown = view.snapshot()
    view.rebuild()
    assert view.snapshot() == shown


def test_a_retraction_takes_away_the_log_with_that_key_only():
    first, second, third = opened("a", 1), {"event": "X", "args": {}, "coords": coords(2)}, opened("b", 3)
    assert logs_of([first, second, None, third]) == [first, second, third]
    assert logs_of([first, second, (coords(2)["block_hash"], 0), third]) == [first, third]


def test_a_projector_started_again_reads_what_it_lacks_from_the_event_store(settings):
    app = OrderEngine(settings)
    kept = Settlement(CHAIN_ID, CONTRACT, "0x" + "1" * 64, first_log=opened("kept", 1))
    gone = Settlement(CHAIN_ID, CONTRACT, "0x" + "2" * 64, first_log=opened("gone", 1))
    app.save(kept, gone)
    projector(app, settings).catch_up()
    assert chain_logs(app).read == 0  # every aggregate was seen from its first event

    # Another process: its own application over the same stores, nothing at hand.
    again = OrderEngine(settings)
    kept, gone = again.repository.get(kept.id), again.repository.get(gone.id)
    rejected(kept, 2)
    rejected(gone, 2)
    again.save(kept, gone)
    view = projector(again, settings).view(ReputationView)
    view.catch_up()
    assert chain_logs(again).read == 2  # both read back from the event store
    store_signal = "refunded_unshipped"
    assert [(s, a, n) for s, a, n in signals(view) if a == STORE.lower()] == [
        (f"settlement:{kept.key}", STORE.lower(), store_signal),
        (f"settlement:{gone.key}", STORE.lower(), store_signal),
    ]
    exact(view)

    # A reorganisation takes one rejection back: its signals go, the other's stay.
    gone.retract_after(1)
    again.save(gone)
    view.catch_up()
    assert {s for s, _, _ in signals(view)} == {f"settlement:{kept.key}"}
    exact(view)


def test_a_view_reads_the_logs_again_once_too_many_aggregates_are_kept(settings, monkeypatch):
    monkeypatch.setattr(chain_rows, "KEPT", 0)  # every batch starts with nothing kept
    app = OrderEngine(settings)
    view = projector(app, settings).view(ReputationView)
    settlement = Settlement(CHAIN_ID, CONTRACT, "0x" + "3" * 64, first_log=opened("many", 1))
    app.save(settlement)
    view.catch_up()
    rejected(settlement, 2)
    app.save(settlement)
    view.catch_up()
    assert chain_logs(app).read == 1
    assert [n for _, a, n in signals(view) if a == BUYER.lower()] == ["refund_received"]
    exact(view)
