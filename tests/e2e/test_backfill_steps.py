"""A long backfill moves the views as it goes: the reader writes a bounded number of events
per step and the views take each step's events before the next, also across a restart."""

from __future__ import annotations

import time

from api.service import Service
from tests.e2e.conftest import dev_account, make_settings

WITNESS = dev_account(8).address  # the deploy script's evidence witness on the dev chain


def _anchor(rpc, service, count: int, start: int) -> None:
    anchor = service.app.manifest.contract("EvidenceAnchor")
    for i in range(count):
        root = (start + i + 1).to_bytes(32, "big")
        tx = rpc.call(
            "eth_sendTransaction",
            {
                "from": WITNESS,
                "to": anchor.address,
                "gas": hex(200_000),
                "data": anchor.functions.encode("anchor", root, 1),
            },
        )
        deadline = time.monotonic() + 10
        while (receipt := rpc.call("eth_getTransactionReceipt", tx)) is None:
            assert time.monotonic() < deadline, "anchor not mined"
            time.sleep(0.01)
        assert receipt["status"] == "0x1", receipt


def _views_block(service) -> int:
    return min(v["block"] if v["block"] is not None else -1 for v in service.views_status().values())


def _anchored(service) -> int:
    return service.group_buy.db.execute("SELECT COUNT(*) FROM view_anchor_batches").fetchone()[0]


def test_a_long_backfill_moves_the_views_step_by_step_and_goes_on_after_a_restart(chain, tmp_path):
    node, deployments, rpc = chain
    settings = make_settings(tmp_path, deployments, events_per_step=3)
    first = Service(settings, node.url)
    _anchor(rpc, first, 14, 0)
    head = rpc.block_number()

    seen = []
    for _ in range(2):  # two bounded steps, then the process goes away mid-backfill
        first.project(first.engine.step())
        assert first.engine.behind, "a step read past its bound"
        seen.append((_views_block(first), _anchored(first)))
    first.stop()
    assert seen[0][1] >= 1 and seen[1][1] > seen[0][1], seen  # the views took each step's events
    assert seen[0][0] < seen[1][0] < head, seen  # and showed each step's block

    again = Service(settings, node.url)  # the restart goes on from there
    assert (_views_block(again), _anchored(again)) == seen[-1]
    steps = 0
    while True:
        again.project(again.engine.step())
        steps += 1
        assert _views_block(again) > seen[-1][0] or not again.engine.behind
        seen.append((_views_block(again), _anchored(again)))
        if not again.engine.behind:
            break
        assert steps < 20, "the backfill did not end"
    assert steps >= 2, "the rest of the backfill went in one step"
    assert _views_block(again) == head and _anchored(again) == 14

    _anchor(rpc, again, 7, 14)  # Service.step reads to the head, projecting after each bounded step
    again.step()
    assert not again.engine.behind and _views_block(again) == rpc.block_number() and _anchored(again) == 21
    again.stop()
