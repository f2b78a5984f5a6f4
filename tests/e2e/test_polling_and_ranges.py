"""Polling by cursor never skips or repeats a change; a node that refuses wide log ranges
is met with narrower ones."""

from __future__ import annotations

from api.service import Service
from engine.chain.reader import ChainReader
from engine.chain.rpc import Rpc, RpcError
from engine.registry import SOURCES
from tests.load import DEV_ADDRESSES, Load

from .conftest import Wallet, create_order, dev_account, make_settings, register


def _poll(client, headers, after, limit=2):
    params = {"limit": limit} if after is None else {"limit": limit, "after": after}
    r = client.get("/stores/poll-shop/orders", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_polling_with_the_cursor_sees_every_change_once(client, service):
    token = service.manifest.contract("TestStablecoin").address
    buyer = Wallet(client, dev_account(1))
    headers = register(client, "poll-shop", dev_account(6).address)
    orders = {n: create_order(client, "poll-shop", headers, n, 1_000_000, token) for n in ("P-1", "P-2", "P-3")}
    seen, cursor = [], None
    while True:  # pages of two until caught up
        page = _poll(client, headers, cursor)
        seen += [o["order_number"] for o in page["orders"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == ["P-1", "P-2", "P-3"]
    assert _poll(client, headers, cursor)["orders"] == []  # nothing new: nothing repeated
    # P-1 is paid: it comes again, once, after the cursor, with its new status.
    key = {"store": dev_account(6).address, "order_number": "P-1", "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "1000000"})
    buyer.send("/settlements/open", {"key": key, "amount": "1000000", "snapshot_hash": orders["P-1"]["snapshot_hash"]})
    service.step()
    page = _poll(client, headers, cursor)
    assert [(o["order_number"], o["status"]) for o in page["orders"]] == [("P-1", "paid")]
    assert _poll(client, headers, page["next_cursor"])["orders"] == []
    # Filtering by status pages the same way.
    paid = client.get("/stores/poll-shop/orders", params={"status": "paid"}, headers=headers).json()
    assert [o["order_number"] for o in paid["orders"]] == ["P-1"]


class NarrowNode(Rpc):
    """A node that, like many providers, refuses eth_getLogs over more than a few blocks."""

    MAX_BLOCKS = 3

    def get_logs(self, addresses, from_block, to_block):
        if to_block - from_block + 1 > self.MAX_BLOCKS:
            raise RpcError("eth_getLogs", -32005, f"block range is too wide (max {self.MAX_BLOCKS})")
        return super().get_logs(addresses, from_block, to_block)


def test_a_node_refusing_wide_ranges_gets_narrower_ones(chain, tmp_path):
    node, deployments, rpc = chain
    service = Service(make_settings(tmp_path, deployments), node.url)
    made = Load(rpc, service.manifest).settlements(30, DEV_ADDRESSES[3:6], per_block=4, prefix="N")
    reader = ChainReader(service.app, NarrowNode(node.url), SOURCES, block_range=5000)
    written = reader.sync_once()
    assert reader.block_range <= NarrowNode.MAX_BLOCKS
    assert written == made["events"] == 60
    assert reader.cursor.block == rpc.block_number()


def test_an_unchanged_page_is_answered_304_and_pages_are_the_models_serialisation(client, service):
    from api.models.settlement import OrdersPage

    token = service.manifest.contract("TestStablecoin").address
    headers = register(client, "etag-shop", dev_account(6).address)
    create_order(client, "etag-shop", headers, "E-1", 1_000_000, token)
    first = client.get("/stores/etag-shop/orders", params={"limit": 50}, headers=headers)
    tag = first.headers["etag"]
    assert first.status_code == 200 and tag.startswith('W/"')
    # What the fast path joins from cached rows is exactly the response model's serialisation.
    assert first.json() == OrdersPage.model_validate(first.json()).model_dump(mode="json")
    again = client.get("/stores/etag-shop/orders", params={"limit": 50}, headers={**headers, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    one = client.get("/stores/etag-shop/orders/E-1", headers=headers)
    assert (
        client.get(
            "/stores/etag-shop/orders/E-1", headers={**headers, "If-None-Match": one.headers["etag"]}
        ).status_code
        == 304
    )

    create_order(client, "etag-shop", headers, "E-2", 2_000_000, token)  # a change: the page is sent again
    changed = client.get("/stores/etag-shop/orders", params={"limit": 50}, headers={**headers, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert [o["order_number"] for o in changed.json()["orders"]] == ["E-1", "E-2"]
    # Another query is another validator; a wrong key still gets its 404, never a 304.
    assert (
        client.get(
            "/stores/etag-shop/orders", params={"limit": 1}, headers={**headers, "If-None-Match": tag}
        ).status_code
        == 200
    )
    assert (
        client.get("/stores/etag-shop/orders", headers={"X-API-Key": "wrong", "If-None-Match": tag}).status_code == 404
    )
    # A new block moves every order's confirmations: the validator changes with the head.
    service.rpc.call("evm_mine")
    service.step()
    assert (
        client.get(
            "/stores/etag-shop/orders",
            params={"limit": 50},
            headers={**headers, "If-None-Match": changed.headers["etag"]},
        ).status_code
        == 200
    )
