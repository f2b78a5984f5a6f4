"""Every class of bad input gets a 4xx problem document and writes nothing."""

from __future__ import annotations

import time

import pytest

from .conftest import ADMIN_HEADERS, Wallet, create_order, dev_account, register

STORE = dev_account(2)
BUYER = dev_account(1)
GOOD_HASH = "0x" + "ab" * 32


@pytest.fixture
def shop(client, service):
    token = service.manifest.contract("TestStablecoin").address
    headers = register(client, "bad-input-shop", STORE.address)
    order = create_order(client, "bad-input-shop", headers, "B-1", 5_000_000, token)
    key = {"store": STORE.address, "order_number": "B-1", "buyer": BUYER.address, "token": token}
    service.step()
    return {"headers": headers, "order": order, "key": key, "token": token}


def written(service) -> tuple:
    return service.app.recorder.max_notification_id(), service.view.snapshot(), service.view.position()


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_unknown_store_wrong_key_and_missing_key(client, service, shop):
    before = written(service)
    problem(client.get("/stores/no-such-shop/orders", headers=shop["headers"]), 404)
    problem(client.get("/stores/bad-input-shop/orders", headers={"Authorization": "Bearer not-the-key"}), 404)
    problem(client.get("/stores/bad-input-shop/orders"), 401)
    other = register(client, "other-shop", dev_account(7).address)
    before = written(service)
    # A store never sees (or writes) another store's orders, even with a valid key of its own.
    problem(client.get("/stores/bad-input-shop/orders/B-1", headers=other), 404)
    problem(
        client.post(
            "/stores/bad-input-shop/orders",
            headers=other,
            json={"order_number": "X-1", "amount": "1", "token": shop["token"]},
        ),
        404,
    )
    assert written(service) == before
    # Admin calls need the admin token.
    body = {"store_id": "sneaky", "name": "Sneaky", "address": dev_account(8).address}
    problem(client.post("/stores", json=body), 401)
    problem(client.post("/stores", json=body, headers={"Authorization": "Bearer wrong"}), 403)
    problem(client.post("/stores", json=dict(body, address=STORE.address), headers=ADMIN_HEADERS), 409)
    problem(client.post("/stores", json=dict(body, store_id="bad-input-shop"), headers=ADMIN_HEADERS), 409)
    assert written(service) == before


@pytest.mark.parametrize(
    "amount", ["-1", "1.5", "1e6", "0x10", "", " 5", "0", "007", str(2**96), "9" * 40, 5_000_000, None]
)
def test_malformed_amounts_are_refused(client, service, shop, amount):
    before = written(service)
    problem(
        client.post(
            "/stores/bad-input-shop/orders",
            headers=shop["headers"],
            json={"order_number": "B-2", "amount": amount, "token": shop["token"]},
        ),
        422,
    )
    if amount != "0":
        problem(
            client.post("/settlements/open", json={"key": shop["key"], "amount": amount, "snapshot_hash": GOOD_HASH}),
            422,
        )
    assert written(service) == before


@pytest.mark.parametrize("snapshot_hash", ["0x1234", "ab" * 32, "0x" + "zz" * 32, "0x" + "ab" * 33, 12, ""])
def test_malformed_hashes_are_refused(client, service, shop, snapshot_hash):
    before = written(service)
    problem(
        client.post(
            "/settlements/open", json={"key": shop["key"], "amount": "5000000", "snapshot_hash": snapshot_hash}
        ),
        422,
    )
    assert written(service) == before


@pytest.mark.parametrize(
    "address",
    [
        "0x1234",
        "70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0xZZ997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79c8",  # one letter's case changed: checksum fails
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8AA",
        "",
    ],
)
def test_malformed_addresses_are_refused(client, service, shop, address):
    before = written(service)
    problem(
        client.post("/stores", json={"store_id": "new-shop", "name": "N", "address": address}, headers=ADMIN_HEADERS),
        422,
    )
    problem(
        client.post(
            "/settlements/open",
            json={"key": dict(shop["key"], buyer=address), "amount": "5000000", "snapshot_hash": GOOD_HASH},
        ),
        422,
    )
    problem(
        client.post(
            "/stores/bad-input-shop/orders",
            headers=shop["headers"],
            json={"order_number": "B-3", "amount": "1", "token": address},
        ),
        422,
    )
    assert written(service) == before


@pytest.mark.parametrize("cursor", ["garbage!", "b2MxOmFiYw", "eHl6OjE", "%%%", "b2MxOi0x"])
def test_malformed_cursors_are_refused(client, service, shop, cursor):
    problem(client.get("/stores/bad-input-shop/orders", params={"after": cursor}, headers=shop["headers"]), 400)


def test_bad_queries_and_shapes(client, service, shop):
    before = written(service)
    h = shop["headers"]
    problem(client.get("/stores/bad-input-shop/orders", params={"status": "lost"}, headers=h), 422)
    problem(client.get("/stores/bad-input-shop/orders", params={"limit": 0}, headers=h), 422)
    problem(client.get("/stores/bad-input-shop/orders", params={"limit": 100000}, headers=h), 422)
    problem(client.get("/stores/bad-input-shop/orders/NOPE", headers=h), 404)
    problem(client.post("/stores/bad-input-shop/orders", headers=h, content=b"{not json"), 422)
    problem(
        client.post(
            "/stores/bad-input-shop/orders",
            headers=h,
            json={"order_number": "B-1", "amount": "1", "token": shop["token"]},
        ),
        409,
    )
    problem(
        client.post(
            "/stores/bad-input-shop/orders",
            headers=h,
            json={"order_number": "bad number with spaces", "amount": "1", "token": shop["token"]},
        ),
        422,
    )
    problem(
        client.post(
            "/stores/bad-input-shop/orders",
            headers=h,
            json={"order_number": "B-9", "amount": "1", "token": shop["token"], "surprise": 1},
        ),
        422,
    )
    problem(
        client.post(
            "/stores/bad-input-shop/orders",
            headers=h,
            json={
                "order_number": "B-9",
                "amount": "1",
                "token": shop["token"],
                "payout_address": dev_account(8).address,
            },
        ),
        422,
    )
    assert written(service) == before


def test_oversized_bodies_are_refused_before_parsing(client, service, shop):
    before = written(service)
    huge = {
        "order_number": "B-4",
        "amount": "1",
        "token": shop["token"],
        "items": [{"name": "x" * 200, "quantity": 1, "unit_price": "1"}] * 400,
    }
    problem(client.post("/stores/bad-input-shop/orders", headers=shop["headers"], json=huge), 413)
    problem(client.post("/tx", json={"raw": "0x" + "00" * 70_000}), 413)

    def chunks():  # no Content-Length: the limit holds while streaming too
        for _ in range(100):
            yield b" " * 1024

    problem(client.post("/stores/bad-input-shop/orders", headers=shop["headers"], content=chunks()), 413)
    assert written(service) == before


def test_raw_transactions_malformed_wrong_chain_and_replayed(client, service, shop):
    buyer = Wallet(client, BUYER)
    problem(client.post("/tx", json={"raw": "0xdeadbeef"}), 400)
    problem(client.post("/tx", json={"raw": "not hex"}), 422)
    built = client.post(
        "/settlements/approve", json={"owner": BUYER.address, "token": shop["token"], "amount": "5000000"}
    ).json()["transaction"]
    from api.client import sign_transaction

    problem(client.post("/tx", json={"raw": sign_transaction(BUYER, dict(built, chainId="0x1"))}), 422)
    raw = sign_transaction(BUYER, built)
    first = client.post("/tx", json={"raw": raw})
    assert first.status_code == 200 and first.json()["status"] == "success"
    replay = problem(client.post("/tx", json={"raw": raw}), 409)
    assert replay["tx_hash"] == first.json()["tx_hash"]
    # Same nonce, different content: also refused as a replay of a used nonce.
    problem(client.post("/tx", json={"raw": sign_transaction(BUYER, dict(built, value="0x1"))}), 409)
    assert buyer.address == BUYER.address


def test_reverts_come_back_as_custom_errors_with_arguments(client, service, shop):
    before = written(service)
    key = shop["key"]
    # Not approved: the token's own custom error.
    r = problem(
        client.post(
            "/settlements/open", json={"key": key, "amount": "5000000", "snapshot_hash": shop["order"]["snapshot_hash"]}
        ),
        422,
    )
    assert r["revert"]["error"] == "ERC20InsufficientAllowance"
    assert r["revert"]["args"]["needed"] == "5000000"
    # Nothing paid under the key yet: no such settlement, not a revert of status 0.
    r = problem(
        client.post(
            "/settlements/ship", json={"key": key, "waybill": "W", "amount": "5000000", "snapshot_hash": GOOD_HASH}
        ),
        404,
    )
    assert r["detail"].startswith("no such settlement") and "revert" not in r
    r = problem(client.post("/settlements/resolve", json={"key": key, "sender": BUYER.address, "to_store": "1"}), 404)
    assert r["detail"].startswith("no such settlement")
    r = problem(
        client.post(
            "/settlements/open", json={"key": key, "amount": "5000000", "time_limit": 60, "snapshot_hash": GOOD_HASH}
        ),
        422,
    )
    assert r["revert"]["error"] in ("TimeLimitOutOfRange", "ERC20InsufficientAllowance")
    r = problem(
        client.post(
            "/settlements/open",
            json={"key": dict(key, token=dev_account(8).address), "amount": "5", "snapshot_hash": GOOD_HASH},
        ),
        422,
    )
    assert r["revert"]["error"] == "TokenNotAllowed"
    assert r["revert"]["args"]["token"].lower() == dev_account(8).address.lower()
    assert written(service) == before


def test_a_transaction_that_reverted_on_chain_is_reported_by_its_custom_error(client, service, shop, chain):
    """A wallet may send straight to the node; GET /tx/{hash} still decodes what happened."""
    _, _, rpc = chain
    buyer = Wallet(client, BUYER)
    key, token = shop["key"], shop["token"]
    buyer.send("/settlements/approve", {"owner": BUYER.address, "token": token, "amount": "5000000"})
    opened = buyer.send(
        "/settlements/open",
        {"key": key, "amount": "5000000", "time_limit": 3600, "snapshot_hash": shop["order"]["snapshot_hash"]},
    )
    deadline = int(next(e for e in opened["events"] if e["event"] == "SettlementOpened")["args"]["deadline"])
    raw = buyer.sign_only("/settlements/dispute", {"key": key, "proposed_to_store": "0", "reason": "too late"})
    rpc.call("anvil_setNextBlockTimestamp", deadline + 5)
    tx_hash = rpc.call("eth_sendRawTransaction", raw)  # not through the relay: no preflight
    for _ in range(200):  # anvil mines it at once, but a loaded machine may answer before it has
        found = client.get(f"/tx/{tx_hash}")
        assert found.status_code == 200, found.text
        body = found.json()
        if body["status"] != "pending":
            break
        time.sleep(0.05)
    assert body["status"] == "reverted" and body["revert"]["error"] == "TimeLimitPassed"
    assert body["revert"]["args"]["deadline"] == str(deadline)
    ok = client.get(f"/tx/{opened['tx_hash']}").json()
    assert ok["status"] == "success" and "SettlementOpened" in [e["event"] for e in ok["events"]]
    problem(client.get("/tx/0x" + "00" * 32), 404)
    problem(client.get("/tx/0x1234"), 422)
