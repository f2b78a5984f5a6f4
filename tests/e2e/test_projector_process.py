"""The scale-out shape: a reader without views, and a projector following the event store."""

from __future__ import annotations

import threading
import time

from api.service import Service
from projections.runner import run_projector
from tests.load import DEV_ADDRESSES, Load

from .conftest import make_settings


def _read_without_views(chain, settings, store_id: str, prefix: str, count: int) -> Service:
    """A reader without views, having read ``count`` settlements (opened and confirmed) of
    orders ``{prefix}-0`` ... of a store of its own."""
    node, _, rpc = chain
    reader_only = Service(settings, node.url, views=False)
    store = reader_only.app.register_store(store_id, store_id, DEV_ADDRESSES[2])[0]
    token = reader_only.manifest.contract("TestStablecoin").address
    rules = reader_only.transactions.settlement_rules()
    hashes = {}
    for i in range(count):
        order = reader_only.app.create_store_order(store, f"{prefix}-{i}", 1_000_000, token, None, [], None, rules)
        hashes[order.order_number] = order.snapshot_hash
    Load(rpc, reader_only.manifest).settlements(
        count, DEV_ADDRESSES[3:6], snapshot_hashes=hashes, prefix=prefix, per_block=7
    )
    reader_only.step()
    return reader_only


def test_a_separate_projector_builds_the_same_view_as_the_inline_one(chain, tmp_path):
    _, deployments, rpc = chain
    settings = make_settings(tmp_path, deployments)
    reader_only = _read_without_views(chain, settings, "scale-shop", "S", 40)
    assert reader_only.reader.cursor.block == rpc.block_number()
    assert reader_only.view.position() == 0  # the reader left the views alone
    stop = threading.Event()
    projector = threading.Thread(target=run_projector, args=(settings, stop), daemon=True)
    projector.start()
    try:
        deadline = time.monotonic() + 20
        while reader_only.view.position() < reader_only.app.recorder.max_notification_id():
            assert time.monotonic() < deadline, "the projector did not catch up"
            time.sleep(0.05)
    finally:
        stop.set()
        projector.join(10)
    projected = reader_only.view.snapshot()
    assert len(projected) == 40 and {status for status, _ in projected.values()} == {"completed"}
    status = reader_only.chain_view.chain(reader_only.chain_id)
    assert status["block"] == rpc.block_number()
    # Rebuilding one view leaves the others alone: not their rows, not their positions.
    positions = {v.name: v.position() for v in reader_only.projector.views}
    with reader_only.db.transaction():  # a mark no rebuild of the chain-status view would keep
        reader_only.db.execute("UPDATE view_chain_status SET updated_at = 'untouched'")
    reader_only.projector.rebuild("store_orders")
    assert reader_only.view.snapshot() == projected
    assert reader_only.chain_view.chain(reader_only.chain_id)["updated_at"] == "untouched"
    assert {v.name: v.position() for v in reader_only.projector.views} == positions
    reader_only.projector.rebuild()
    assert reader_only.chain_view.chain(reader_only.chain_id) == status


def test_a_projector_reads_the_log_once_for_every_view_and_a_failing_view_holds_no_other_back(
    chain, tmp_path, monkeypatch
):
    from engine.application import OrderEngine
    from engine.db import Database
    from projections.runner import Projector

    _, deployments, _ = chain
    settings = make_settings(tmp_path, deployments)
    reader_only = _read_without_views(chain, settings, "once-shop", "N", 30)
    last = reader_only.app.recorder.max_notification_id()
    projector = Projector(OrderEngine(settings), Database(settings.view_db))
    reads = []
    original = projector.app.recorder.select_notifications
    monkeypatch.setattr(
        projector.app.recorder,
        "select_notifications",
        lambda *a, **k: reads.append(k.get("start", a[0] if a else None)) or original(*a, **k),
    )
    broken = projector.view(type(reader_only.group_buy))
    monkeypatch.setattr(broken, "apply", lambda *_: (_ for _ in ()).throw(RuntimeError("cannot write")))
    monkeypatch.setattr(broken, "handles", (object,))  # it takes every event, and fails on the first
    broken._wanted_types.clear()
    broken._wanted.clear()
    assert projector.catch_up(batch_size=7) > 0
    positions = projector.positions()
    assert broken.failed == "RuntimeError: cannot write" and positions[broken.name] == 0
    assert all(p == last for name, p in positions.items() if name != broken.name)
    # One read of the log per batch of 7 for every view, from the first to the last batch
    # (the failed view is tried once in the round, and then waits for the next round).
    assert reads == list(range(0, last + 1, 7))
    monkeypatch.undo()
    broken._wanted_types.clear()
    broken._wanted.clear()
    projector.catch_up(batch_size=7)
    assert broken.failed is None and set(projector.positions().values()) == {last}
    orders = projector.view(type(reader_only.view)).snapshot()
    assert len(orders) == 30 and {status for status, _ in orders.values()} == {"completed"}
    shown = {view.name: view.snapshot() for view in projector.views}
    projector.rebuild()  # each view on its own, from the log
    assert {view.name: view.snapshot() for view in projector.views} == shown
