"""What each save may lose to a power loss, and what the views do about it.

The chain reader's saves (logs with the checkpoint that says where it stands) commit
without waiting for the disk: a power loss may take the last of them, checkpoint and all,
and the reader reads those blocks again. Every other save waits for the disk. A view that
applied events the event store then lost is built again when it opens. And the step at the
head stays short: views none of whose events were handed move together, in one transaction."""

from __future__ import annotations

import sqlite3

import pytest

from engine.application import OrderEngine
from engine.config import Settings
from engine.db import Database
from engine.settlement.escrow import CONTRACT, Settlement
from projections.reputation import ReputationView
from projections.runner import Projector
from tests.engine.test_chain_logs import CHAIN_ID, opened, rejected, signals


@pytest.fixture
def settings(tmp_path):
    return Settings(db=str(tmp_path / "events.sqlite"), var_dir=str(tmp_path))


def traced(app: OrderEngine) -> list[str]:
    """The statements the event store's connections run from now on."""
    statements: list[str] = []
    pool = app.recorder.datastore.pool
    with app.recorder.datastore.get_connection(commit=True):  # at least one connection in the pool
        pass
    for connection in list(pool._pool):
        connection._sqlite_conn.set_trace_callback(statements.append)
    return statements


def test_only_the_readers_saves_commit_without_waiting_for_the_disk(settings):
    app = OrderEngine(settings)
    statements = traced(app)
    first = Settlement(CHAIN_ID, CONTRACT, "0x" + "1" * 64, first_log=opened("read", 1))
    app.record(first, rereadable=True)
    relaxed = [s.upper() for s in statements if s.upper().startswith(("PRAGMA", "BEGIN", "COMMIT"))]
    assert relaxed[:2] == ["PRAGMA SYNCHRONOUS", "PRAGMA SYNCHRONOUS=NORMAL"]
    assert relaxed.index("PRAGMA SYNCHRONOUS=NORMAL") < next(i for i, s in enumerate(relaxed) if s.startswith("BEGIN"))
    assert relaxed[-1] == "PRAGMA SYNCHRONOUS=2"  # the full sync again, after the commit
    assert relaxed.index("COMMIT") < len(relaxed) - 1

    statements.clear()
    second = Settlement(CHAIN_ID, CONTRACT, "0x" + "2" * 64, first_log=opened("ordered", 1))
    app.record(second)  # anything else: the connection's full sync, untouched
    assert not [s for s in statements if "SYNCHRONOUS" in s.upper()]
    assert [e.originator_id for e in app.recorder.select_notifications(start=1, limit=10)] == [first.id, second.id]
    with sqlite3.connect(settings.db) as raw:
        assert raw.execute("SELECT count(*) FROM stored_events").fetchone()[0] == 2


def test_a_view_that_applied_events_the_store_lost_is_built_again(settings):
    app = OrderEngine(settings)
    kept = Settlement(CHAIN_ID, CONTRACT, "0x" + "3" * 64, first_log=opened("kept", 1))
    app.record(kept, rereadable=True)
    lost = app.repository.get(kept.id)
    rejected(lost, 2)
    app.record(lost, rereadable=True)
    view = Projector(app, Database(settings.view_db), views=[ReputationView]).view(ReputationView)
    view.catch_up()
    assert view.position() == 2
    assert sorted(n for _, _, n in signals(view)) == ["refund_received", "refunded_unshipped"]

    # A power loss takes the last save: the event store ends one event earlier than the view.
    with sqlite3.connect(settings.db) as raw:
        raw.execute("DELETE FROM stored_events WHERE rowid = 2")
    again = OrderEngine(settings)
    view = Projector(again, Database(settings.view_db), views=[ReputationView]).view(ReputationView)
    assert view.position() == 0  # not trusted: built again from what the store holds
    view.catch_up()
    assert view.position() == 1
    assert signals(view) == []  # an open settlement signals nothing yet

    # A view level with the store is left as it is.
    unchanged = Projector(again, Database(settings.view_db), views=[ReputationView]).view(ReputationView)
    assert unchanged.position() == 1


def test_views_handed_nothing_of_theirs_move_together_and_still_read_what_others_wrote(settings, monkeypatch):
    from projections.store_orders import StoreOrdersView

    app = OrderEngine(settings)
    projector = Projector(app, Database(settings.view_db), views=[StoreOrdersView, ReputationView])
    reputation = projector.view(ReputationView)
    app.register_store("quiet-shop", "Quiet Shop", "0x" + "9" * 40)
    handed = [(n.id, app.mapper.to_domain_event(n)) for n in app.recorder.select_notifications(start=1, limit=10)]

    # Nothing after the handed events: the reputation view (none of them is its) only moves.
    def untouched(*_args, **_kwargs):
        raise AssertionError("an idle view was caught up on its own")

    monkeypatch.setattr(reputation, "catch_up", untouched)
    projector.catch_up(recorded=handed)
    assert reputation.position() == projector.view(StoreOrdersView).position() == handed[-1][0]
    monkeypatch.undo()

    # Another writer saved a settlement after the next handed run: it is read from the log.
    registered = app.register_store("busy-shop", "Busy Shop", "0x" + "8" * 40)[0]
    settlement = Settlement(CHAIN_ID, CONTRACT, "0x" + "4" * 64, first_log=opened("other", 1))
    rejected(settlement, 2)
    app.save(settlement)
    last = app.recorder.max_notification_id()
    mine = [
        (n.id, app.mapper.to_domain_event(n))
        for n in app.recorder.select_notifications(start=handed[-1][0] + 1, limit=10)
        if n.originator_id == registered.id
    ]
    projector.catch_up(recorded=mine)
    assert reputation.position() == last
    assert sorted(n for _, _, n in signals(reputation)) == ["refund_received", "refunded_unshipped"]
