"""Reorgs played on anvil (``anvil_reorg`` with replacement transactions), each leaving every
view equal to its rebuild and to a fresh ingestion (see :mod:`tests.e2e.exact`):

- a fork that puts anchored roots under each other's batch ids (the projector once stopped
  there for good on the unique root);
- a fork that puts another campaign and another buyer's cross-border order under the same
  ids (the filter columns once kept the orphaned ones);
- a fork that drops a settlement's open and its completion at once (the completion's step
  once stayed in the order's history).
"""

from __future__ import annotations

import pytest

from api.client import answer
from api.client.holder import sign_transaction

from .conftest import Wallet, create_order, dev_account, mined, register, view
from .exact import assert_exact
from .test_cross_border_flow import quote, setup_history_and_rate
from .test_group_buy_flow import DAY, C, catalogue, ok


@pytest.fixture(scope="module")
def deployed_chain(own_chain):
    """This module's reorgs run on a node of its own (see ``own_chain``)."""
    return own_chain


WITNESS = dev_account(8)  # the deploy script's evidence witness on the dev chain


def _anchor_raw(service, root: bytes, nonce: int) -> str:
    tx = service.transactions.call("EvidenceAnchor", "anchor", (root, 1), WITNESS.address)
    return sign_transaction(WITNESS, dict(tx, nonce=hex(nonce)))


def test_a_fork_that_swaps_anchored_roots_between_batch_ids_leaves_every_view_exact(chain, service, tmp_path):
    node, deployments, rpc = chain
    first, second = b"\xa1" * 32, b"\xb2" * 32
    nonce = int(rpc.call("eth_getTransactionCount", WITNESS.address, "pending"), 16)
    # Signed now, mined only on the fork: the same roots the other way round.
    fork = [[_anchor_raw(service, second, nonce), 0], [_anchor_raw(service, first, nonce + 1), 0]]
    for i, root in enumerate((first, second)):  # one block each
        tx_hash = rpc.call("eth_sendRawTransaction", _anchor_raw(service, root, nonce + i))
        assert mined(rpc, tx_hash)["status"] == "0x1"
    service.step()
    before = {root: service.group_buy.batch_of_root("0x" + root.hex()) for root in (first, second)}
    assert before[first]["batch_id"] + 1 == before[second]["batch_id"], before

    # The fork anchors the same roots the other way round: each root under the other's id.
    rpc.call("anvil_reorg", 2, fork)
    service.step()
    assert service.reader.reorgs == 1
    after = {root: service.group_buy.batch_of_root("0x" + root.hex()) for root in (first, second)}
    assert after[first]["batch_id"] == before[second]["batch_id"]
    assert after[second]["batch_id"] == before[first]["batch_id"]
    assert_exact(service, node, deployments, tmp_path)


def test_a_fork_that_puts_another_campaign_and_another_buyers_order_under_the_same_ids(
    chain, service, client, tmp_path
):
    node, deployments, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    maker = Wallet(client, dev_account(2))
    headers = register(client, "maker", maker.address)
    catalogue(client, headers)
    other_scheme = "color=blue,fabric=cotton,build=sturdy"
    for department, fixed, variable in (("production", 40_000, 4_000), ("logistics", 0, 1_000)):
        r = client.post(
            "/stores/maker/catalogue/costs",
            headers=headers,
            json={
                "scheme": other_scheme,
                "term": 2,
                "department": department,
                "fixed": str(fixed),
                "variable": str(variable),
            },
        )
        assert r.status_code == 200, r.text
    setup_history_and_rate(service, client)
    seller, buyer_a, buyer_b = (
        Wallet(client, dev_account(4)),
        Wallet(client, dev_account(1)),
        Wallet(client, dev_account(3)),
    )
    quoted = {w.address: quote(client, w, seller, token) for w in (buyer_a, buyer_b)}
    for w in (buyer_a, buyer_b):
        ok(w.relay(sign_transaction(w.account, quoted[w.address]["approve"])))

    def campaign(scheme: str, cycle: int) -> dict:
        return {
            "sender": maker.address,
            "store_id": "maker",
            "scheme": scheme,
            "cycle": cycle,
            "token": token,
            "deposit_per_unit": "2000",
            "max_quantity": 20,
            "target_date": str(service.rpc.chain_time() + 10 * DAY),
        }

    # Signed now, mined only on the fork (same nonces as what the canonical chain mines first).
    fork = [
        [maker.sign_only("/group-buy/open-campaign", campaign(other_scheme, 2)), 0],
        [
            buyer_b.sign_only(
                "/cross-border/pay",
                {"sender": buyer_b.address, "snapshot_hash": quoted[buyer_b.address]["snapshot_hash"]},
            ),
            0,
        ],
    ]
    opened = ok(maker.send("/group-buy/open-campaign", campaign(C, 1)))
    paid = ok(
        buyer_a.send(
            "/cross-border/pay", {"sender": buyer_a.address, "snapshot_hash": quoted[buyer_a.address]["snapshot_hash"]}
        )
    )
    campaign_id = int(next(e for e in opened["events"] if e["event"] == "CampaignOpened")["args"]["campaignId"])
    order_id = int(next(e for e in paid["events"] if e["event"] == "OrderPaid")["args"]["orderId"])
    service.step()
    assert [c["campaign_id"] for c in answer(client.get("/campaigns", params={"scheme": C}))] == [campaign_id]
    assert [o["order_id"] for o in answer(client.get("/cross-border/orders", params={"party": buyer_a.address}))] == [
        order_id
    ]

    rpc.call("anvil_reorg", 2, fork)
    service.step()
    assert service.reader.reorgs == 1
    assert answer(client.get("/campaigns", params={"scheme": C})) == []
    moved = answer(client.get("/campaigns", params={"scheme": other_scheme}))
    assert [(c["campaign_id"], c["cycle"]) for c in moved] == [(campaign_id, 2)]
    assert answer(client.get("/cross-border/orders", params={"party": buyer_a.address})) == []
    shown = answer(client.get("/cross-border/orders", params={"party": buyer_b.address}))
    assert [(o["order_id"], o["buyer"]) for o in shown] == [(order_id, buyer_b.address.lower())]
    assert_exact(service, node, deployments, tmp_path)


def test_a_fork_that_drops_a_settlements_open_and_its_completion_leaves_no_orphaned_step(
    chain, service, client, tmp_path
):
    node, deployments, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    store, buyer = Wallet(client, dev_account(2)), Wallet(client, dev_account(1))
    headers = register(client, "fork-shop", store.address)
    order = create_order(client, "fork-shop", headers, "F-1", 3_000_000, token)
    key = {"store": order["payment"]["store"], "order_number": "F-1", "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "3000000"})
    service.step()
    start = rpc.block_number()
    buyer.send("/settlements/open", {"key": key, "amount": "3000000", "snapshot_hash": order["snapshot_hash"]})
    store.send(
        "/settlements/ship",
        {"key": key, "waybill": "SF-F-1", "amount": "3000000", "snapshot_hash": order["snapshot_hash"]},
    )
    buyer.send("/settlements/confirm", {"key": key})
    assert view(client, service, "fork-shop", headers, "F-1")["status"] == "completed"

    # One fork drops all three blocks: the open's retraction and the completion's in one step.
    rpc.call("anvil_reorg", rpc.block_number() - start, [])
    shown = view(client, service, "fork-shop", headers, "F-1")
    assert service.reader.reorgs == 1
    assert shown["status"] == "awaiting_payment" and shown["settlement_id"] is None
    history = service.view.history("fork-shop", "F-1")
    steps = [(h["step"], bool(h.get("retracted"))) for h in history]
    assert steps[0] == ("OrderCreated", False)
    for step in {s for s, _ in steps[1:]}:  # every step that left the chain is retracted in the history
        assert steps.count((step, False)) == steps.count((step, True)), steps
    assert {s for s, _ in steps[1:]} >= {"SettlementOpened", "SettlementShipped", "SettlementCompleted"}, steps
    assert_exact(service, node, deployments, tmp_path)
