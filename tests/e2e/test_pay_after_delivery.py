"""Paying after verified delivery through the API on a real anvil: a store's stock and the
operator's couriers, a buyer whose identity is attested and whose history gives a credit limit,
checkout divided by store with the freight broken down, the mandate signed by the wallet and
checked, a right declaration verified, recorded on chain and collected by the keeper with the
buyer told by SMS; a wrong one raising an alarm that the keeper records on chain, which blocks
the payment until the operator resolves it and clears it there; a withdrawn allowance recorded
as a default with its alarm; and a reorganisation that takes a collection back."""

from __future__ import annotations

import json
import time

from eth_account.messages import encode_typed_data

from api.client import answer, sign_transaction
from engine.accounts.sms import Outbox
from engine.deliveries import signature_valid
from engine.evidence import merkle
from tests.e2e.accounts import account_for, attest_account
from tests.e2e.conftest import ADMIN_HEADERS, Wallet, dev_account, landed, register
from tests.e2e.test_group_buy_flow import Receiver
from tests.e2e.test_reputation import settle
from tests.e2e.test_stream import events

UPS = {
    "name": "UPS",
    "waybill_scheme": "ups",
    "hubs": [[55.95, -3.19]],
    "radius_km": "50",
    "base": "2000000",
    "per_km": "10000",
    "per_kg": "500000",
}


def stocked(client, headers) -> None:
    answer(
        client.put(
            "/stores/corner-shop/warehouses/leith", json={"latitude": 55.976, "longitude": -3.17}, headers=headers
        )
    )
    item = {"name": "Green tea", "category": "food", "unit_price": "1250000", "weight_kg": "0.25"}
    answer(client.put("/stores/corner-shop/items/tea", json=item, headers=headers))
    answer(client.put("/stores/corner-shop/items/tea/stock/leith", json={"units": 10}, headers=headers))
    answer(client.put("/operator/couriers/ups", json=UPS, headers=ADMIN_HEADERS))


def test_checkout_mandate_declaration_and_alarm(client, service, chain, tmp_path):
    key, _, store_headers = settle(client, service)  # the buyer's history: a settled order
    buyer = Wallet(client, dev_account(1))
    buyer.send("/settlements/confirm", {"key": key})
    service.step()
    headers = account_for(client, service, buyer, tmp_path, "ada@example.org")
    stocked(client, store_headers)
    token = service.manifest.contract("TestStablecoin").address
    body = {
        "checkout_id": "c-1",
        "lines": [
            {"store_id": "corner-shop", "sku": "tea", "quantity": 2, "unit_price": "1250000", "category": "food"}
        ],
        "token": token,
    }
    refused = client.post("/checkout", json=body, headers=headers)
    assert refused.status_code == 422 and refused.json()["missing"] == ["attested"]  # nothing recorded
    attest_account(client, service, "ada@example.org")
    wrong = client.post(
        "/checkout",
        json=body | {"checkout_id": "c-0", "lines": [body["lines"][0] | {"unit_price": "1"}]},
        headers=headers,
    )
    assert wrong.status_code == 422 and "price_changed" in wrong.json()["detail"]
    placed = client.post("/checkout", json=body, headers=headers)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    [shipment] = order["shipments"]
    freight = shipment["freight"]
    assert shipment["goods"] == "2500000" and freight["weight_part"] == 250_000
    assert int(shipment["amount"]) == 2_500_000 + freight["total"] == int(order["total"])
    assert int(order["total"]) <= int(order["credit_limit"])
    typed = shipment["typed_data"]
    assert (
        typed["message"]["buyer"].lower() == buyer.address.lower()
        and typed["message"]["maxAmount"] == shipment["amount"]
    )
    # The mandate id the engine gives is the contract's.
    mandate = typed["message"]
    onchain = service.transactions.view(
        "OfflinePayment",
        "mandateId",
        (
            mandate["buyer"],
            mandate["store"],
            mandate["token"],
            int(mandate["maxAmount"]),
            bytes.fromhex(mandate["orderHash"][2:]),
            int(mandate["validUntil"]),
            int(mandate["nonce"]),
        ),
    )[0]
    assert shipment["mandate_id"] == (onchain if isinstance(onchain, str) else "0x" + onchain.hex())

    stranger = dev_account(6).sign_message(encode_typed_data(full_message=typed))
    bad = client.post(
        "/checkout/c-1/mandates",
        json={"store_id": "corner-shop", "signature": "0x" + bytes(stranger.signature).hex()},
        headers=headers,
    )
    assert bad.status_code == 422
    signature = "0x" + bytes(buyer.account.sign_message(encode_typed_data(full_message=typed)).signature).hex()
    signed = answer(
        client.post("/checkout/c-1/mandates", json={"store_id": "corner-shop", "signature": signature}, headers=headers)
    )
    assert signed["status"] == "open" and signed["shipments"][0]["status"] == "awaiting_shipment"
    again = client.post(
        "/checkout/c-1/mandates", json={"store_id": "corner-shop", "signature": signature}, headers=headers
    )
    assert again.status_code == 409

    # A wrong declaration raises an alarm; another store cannot declare this shipment.
    other = register(client, "other-shop", dev_account(5).address)
    declaration = {"courier_id": "ups", "waybill": "1Z5R89390357567128", "category": "food", "items": {"tea": 2}}
    assert client.post("/stores/other-shop/checkouts/c-1/ship", json=declaration, headers=other).status_code == 404
    shipped = answer(client.post("/stores/corner-shop/checkouts/c-1/ship", json=declaration, headers=store_headers))
    assert shipped["status"] == "alarmed" and [e["reason"] for e in shipped["errors"]] == ["bad_waybill"]
    alarm = shipped["alarm_id"]
    assert client.post(f"/operator/alarms/{alarm}/acknowledge").status_code == 401
    acknowledged = answer(client.post(f"/operator/alarms/{alarm}/acknowledge", headers=ADMIN_HEADERS))
    assert acknowledged["state"] == "acknowledged"
    # The store may acknowledge or cancel only its own shipment's alarm, and never let it proceed.
    store_alarm = f"/stores/corner-shop/alarms/{alarm}"
    assert client.post(f"/stores/other-shop/alarms/{alarm}/acknowledge", headers=other).status_code == 404
    assert client.post(f"{store_alarm}/acknowledge", headers=store_headers).status_code == 409  # acknowledged already
    cancel = {"reason": "sent the wrong box"}
    assert client.post(f"/stores/other-shop/alarms/{alarm}/cancel", json=cancel, headers=other).status_code == 404
    assert (
        client.post(f"{store_alarm}/cancel", json={**cancel, "proceed": True}, headers=store_headers).status_code == 422
    )
    assert client.post(f"{store_alarm}/cancel", json=cancel).status_code == 401
    resolved = answer(
        client.post(
            f"/operator/alarms/{alarm}/resolve",
            json={"proceed": False, "reason": "a mistyped waybill"},
            headers=ADMIN_HEADERS,
        )
    )
    assert resolved["state"] == "resolved" and resolved["resolution"]["proceed"] is False
    assert resolved["transaction"] is None  # resolved before the keeper put it on chain: nothing to clear there
    assert client.get("/checkout/c-1", headers=headers).json()["shipments"][0]["status"] == "cancelled"
    service.project()
    listed = answer(client.get("/operator/alarms", headers=ADMIN_HEADERS))
    assert [(a["alarm_id"], a["state"], a["resolution"]["reason"]) for a in listed] == [
        (alarm, "resolved", "a mistyped waybill")
    ]
    assert answer(client.get("/operator/alarms", params={"state": "open"}, headers=ADMIN_HEADERS)) == []
    assert [a["alarm_id"] for a in answer(client.get("/stores/corner-shop/alarms", headers=store_headers))] == [alarm]
    assert answer(client.get("/stores/other-shop/alarms", headers=other)) == []
    live = service.alarms.snapshot()
    service.alarms.rebuild()
    assert service.alarms.snapshot() == live


def test_a_right_declaration_verifies_the_shipment(client, service, chain, tmp_path):
    key, _, store_headers = settle(client, service)
    buyer = Wallet(client, dev_account(1))
    buyer.send("/settlements/confirm", {"key": key})
    service.step()
    headers = account_for(client, service, buyer, tmp_path, "ada@example.org", attested=True)
    stocked(client, store_headers)
    line = {"store_id": "corner-shop", "sku": "tea", "quantity": 1, "unit_price": "1250000", "category": "food"}
    token = service.manifest.contract("TestStablecoin").address
    order = answer(
        client.post("/checkout", json={"checkout_id": "c-2", "lines": [line], "token": token}, headers=headers)
    )
    typed = order["shipments"][0]["typed_data"]
    signature = "0x" + bytes(buyer.account.sign_message(encode_typed_data(full_message=typed)).signature).hex()
    answer(
        client.post("/checkout/c-2/mandates", json={"store_id": "corner-shop", "signature": signature}, headers=headers)
    )
    declaration = {"courier_id": "ups", "waybill": "1Z5R 8939 0357 5671 27", "category": "food", "items": {"tea": 1}}
    shipped = answer(client.post("/stores/corner-shop/checkouts/c-2/ship", json=declaration, headers=store_headers))
    assert shipped == {
        "checkout_id": "c-2",
        "store_id": "corner-shop",
        "status": "verified",
        "errors": [],
        "alarm_id": None,
    }
    assert client.get("/checkout/c-2", headers=register_other(client)).status_code in (401, 404)


def register_other(client) -> dict:
    """A store's key is no account session: the checkout is the buyer's only."""
    return register(client, "third-shop", dev_account(7).address)


def test_the_buyer_signs_the_mandates_from_the_command_line(cli, client, service, chain, tmp_path, monkeypatch):
    key, _, store_headers = settle(client, service)
    buyer = Wallet(client, dev_account(1))
    buyer.send("/settlements/confirm", {"key": key})
    service.step()
    headers = account_for(client, service, buyer, tmp_path, "ada@example.org", attested=True)
    stocked(client, store_headers)
    line = {"store_id": "corner-shop", "sku": "tea", "quantity": 1, "unit_price": "1250000", "category": "food"}
    token = service.manifest.contract("TestStablecoin").address
    answer(client.post("/checkout", json={"checkout_id": "c-3", "lines": [line], "token": token}, headers=headers))
    session = tmp_path / "session.json"
    session.write_text(json.dumps({"token": headers["Authorization"].split()[1]}))
    monkeypatch.setenv("ORDERCHAIN_SESSION", str(session))
    keystore = str(tmp_path / "wrong.json")
    cli("wallet", "import", "--keystore", keystore, env={"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(6).key.hex()})
    assert "the keystore holds" in cli(
        "account", "sign-mandates", "--checkout", "c-3", "--keystore", keystore, "-y", ok=False
    )
    keystore = str(tmp_path / "buyer.json")
    cli("wallet", "import", "--keystore", keystore, env={"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(1).key.hex()})
    assert "nothing signed" in cli(
        "account", "sign-mandates", "--checkout", "c-3", "--keystore", keystore, input="n\n", ok=False
    )
    out = cli("account", "sign-mandates", "--checkout", "c-3", "--keystore", keystore, input="y\ny\n")
    assert "corner-shop: at most" in out and "checkout c-3 is open" in out
    assert "approving OfflinePayment" in out and "success: tx" in out
    assert "no mandate left" in cli(
        "account", "sign-mandates", "--checkout", "c-3", "--keystore", keystore, "-y", ok=False
    )

    # A wrong waybill: the keeper holds the payment on chain; the operator resolves it from the
    # command line, signing the clearAlarm with its own keystore; then it is verified and collected.
    declaration = dict(WRONG, items={"tea": 1})
    alarm = answer(client.post("/stores/corner-shop/checkouts/c-3/ship", json=declaration, headers=store_headers))
    keep(service)
    operator = str(tmp_path / "operator.json")
    cli("wallet", "import", "--keystore", operator, env={"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(0).key.hex()})
    admin = {"ORDERCHAIN_ADMIN_TOKEN": ADMIN_HEADERS["Authorization"].split()[1]}
    resolve = ("wallet", "resolve-alarm", alarm["alarm_id"], "--proceed", "--reason", "courier confirmed")
    wrong_key = cli(*resolve, "--keystore", keystore, "-y", env=admin, ok=False)
    assert "must be signed by OfflinePayment's operator" in wrong_key  # resolved off chain, still held on chain
    assert payment(client, headers, "c-3")["alarm_on_chain"] is True
    out = cli(*resolve, "--keystore", operator, "-y", env=admin)  # the same resolution again: cleared on chain
    assert "AlarmCleared" in out
    keep(service, 2)
    collected = payment(client, headers, "c-3")
    assert collected["status"] == "collected"

    # Purchases, as a table and as CSV.
    out = cli("account", "purchases")
    assert "settlement" in out and "corner-shop" in out
    target = tmp_path / "purchases.csv"
    cli("account", "purchases", "--csv", "--output", str(target))
    header, *rows = target.read_text().splitlines()
    assert header.startswith("at,capability,reference,seller,store_id,item")
    assert any(",settlement," in r for r in rows)
    assert any(",pay_after_delivery," in r and ",tea," in r and collected["collected_tx"] in r for r in rows)
    assert "[delivered]" in cli("account", "notices")
    assert "nothing to recommend yet" in cli("account", "recommendations")  # the only buyer: nothing bought beside
    refused = cli("account", "revoke-mandate", "--checkout", "c-3", "--store", "corner-shop", "-y", ok=False)
    assert "MandateInUse" in refused  # verified: too late to revoke


def bought(client, service, tmp_path, checkout_id="c-9", quantity=2, approve=True):
    """A buyer with a signed mandate for a checkout of ``quantity`` teas (and the allowance)."""
    key, _, store_headers = settle(client, service)
    buyer = Wallet(client, dev_account(1))
    buyer.send("/settlements/confirm", {"key": key})
    service.step()
    headers = account_for(client, service, buyer, tmp_path, "ada@example.org", attested=True)
    stocked(client, store_headers)
    line = {"store_id": "corner-shop", "sku": "tea", "quantity": quantity, "unit_price": "1250000", "category": "food"}
    token = service.manifest.contract("TestStablecoin").address
    order = answer(
        client.post("/checkout", json={"checkout_id": checkout_id, "lines": [line], "token": token}, headers=headers)
    )
    [shipment] = order["shipments"]
    signature = (
        "0x" + bytes(buyer.account.sign_message(encode_typed_data(full_message=shipment["typed_data"])).signature).hex()
    )
    answer(
        client.post(
            f"/checkout/{checkout_id}/mandates",
            json={"store_id": "corner-shop", "signature": signature},
            headers=headers,
        )
    )
    if approve:
        buyer.send("/checkout/approve", {"owner": buyer.address, "token": token, "amount": shipment["amount"]})
    return buyer, headers, store_headers, int(shipment["amount"]), token


def balance(service, token: str, owner: str) -> int:
    return service.transactions._token_call(token, "balanceOf", owner)[0]


def keep(service, rounds: int = 1) -> list[str]:
    """Keeper rounds, each followed by reading the chain into the views."""
    sent = []
    keeper = service.payment_keeper
    for _ in range(rounds):
        service.step()
        sent += landed(keeper.rpc, keeper.run_once())  # else the step may read the chain before its block
        service.step()
    return sent


def payment(client, headers, checkout_id) -> dict:
    return answer(client.get(f"/checkout/{checkout_id}", headers=headers))["shipments"][0]["payment"]


RIGHT = {"courier_id": "ups", "waybill": "1Z5R89390357567127", "category": "food", "items": {"tea": 2}}
WRONG = dict(RIGHT, waybill="1Z5R89390357567128")


def test_a_verified_shipment_is_recorded_on_chain_collected_and_the_buyer_told(client, service, chain, tmp_path):
    buyer, headers, store_headers, amount, token = bought(client, service, tmp_path)
    store = dev_account(2).address
    before = balance(service, token, buyer.address), balance(service, token, store)
    assert keep(service) == [] and payment(client, headers, "c-9") is None  # nothing shipped: nothing on chain
    answer(client.post("/stores/corner-shop/checkouts/c-9/ship", json=RIGHT, headers=store_headers))
    [verify] = keep(service)
    verified = payment(client, headers, "c-9")
    assert verified["status"] == "verified" and verified["verified_tx"] == verify and verified["index"] == 1
    assert balance(service, token, buyer.address) == before[0]  # verified is not paid: nothing moved yet
    [collect] = keep(service)
    collected = payment(client, headers, "c-9")
    assert collected["status"] == "collected" and collected["collected_tx"] == collect
    assert balance(service, token, buyer.address) == before[0] - amount
    assert balance(service, token, store) == before[1] + amount
    assert keep(service, 2) == []  # nothing is sent twice
    sent = service.payment_keeper.sent
    assert (sent["verify"], sent["collect"], sent["raiseAlarm"]) == (1, 1, 0)

    # The buyer was told by SMS, once per notice: shipped, verified, collected (with the transaction).
    texts = [m["text"] for m in Outbox(tmp_path / "sms-outbox.jsonl").messages() if "your order c-9" in m["text"]]
    assert len(texts) == 3 and len(set(texts)) == 3
    assert any(f"{amount} was collected" in t and collect in t for t in texts)
    mine = answer(client.get("/accounts/me/notices", headers=headers))
    assert sorted(n["kind"] for n in mine) == ["collected", "shipped", "verified"]
    assert {n["state"] for n in mine} == {"delivered"}

    # The buyer rates the collected shipment once; the rating is anchored in a Merkle batch.
    rate = {"store_id": "corner-shop", "rating": "positive", "comment": "fresh tea"}
    given = answer(client.post("/checkout/c-9/feedback", json=rate, headers=headers))
    assert client.post("/checkout/c-9/feedback", json=rate, headers=headers).status_code == 409
    assert given["store"] == store.lower()
    service.step()
    landed(service.rpc, service.anchorer.run_once())
    service.step()
    proof = answer(client.get(f"/feedback/{given['document_hash']}"))
    assert proof["anchored"] is True and proof["document"]["rating"] == "positive"
    assert merkle.root_of(given["document_hash"], proof["anchoring"]["proof"]) == proof["anchoring"]["root"]
    reputation = answer(client.get(f"/reputation/{store}"))
    assert any(c["name"] == "feedback" and c["counts"] == "for" for c in reputation["counters"])
    live = service.payments.snapshot()
    service.payments.rebuild()
    assert service.payments.snapshot() == live


def test_a_wrong_waybill_holds_the_payment_on_chain_until_the_operator_clears_it(client, service, chain, tmp_path):
    buyer, headers, store_headers, amount, token = bought(client, service, tmp_path)
    before = balance(service, token, buyer.address)
    early = client.post(
        "/checkout/c-9/feedback", json={"store_id": "corner-shop", "rating": "negative"}, headers=headers
    )
    assert early.status_code == 422 and "not been collected" in early.json()["detail"]
    shipped = answer(client.post("/stores/corner-shop/checkouts/c-9/ship", json=WRONG, headers=store_headers))
    alarm = shipped["alarm_id"]
    [raised] = keep(service)
    held = payment(client, headers, "c-9")
    assert held == held | {"mandate_status": "unseen", "alarm_on_chain": True, "status": None}
    assert keep(service) == []  # held: nothing verified, nothing collected
    texts = [m["text"] for m in Outbox(tmp_path / "sms-outbox.jsonl").messages() if "your order c-9" in m["text"]]
    assert any("is held: bad waybill" in t for t in texts)

    resolved = answer(
        client.post(
            f"/operator/alarms/{alarm}/resolve",
            json={"proceed": True, "reason": "the courier confirmed the parcel"},
            headers=ADMIN_HEADERS,
        )
    )
    tx = resolved["transaction"]
    assert tx is not None and tx["from"].lower() == dev_account(0).address.lower()
    assert keep(service) == []  # resolved off chain, still held on chain until the operator signs
    assert balance(service, token, buyer.address) == before
    stranger = dict(tx, **{"from": dev_account(6).address, "nonce": hex(0)})  # only the operator clears
    refused = client.post("/tx", json={"raw": sign_transaction(dev_account(6), stranger), "wait": 10}).json()
    assert refused["status"] == 422 and refused["revert"]["error"] == "NotOperator", refused
    answer(client.post("/tx", json={"raw": sign_transaction(dev_account(0), tx), "wait": 10}))
    keep(service, 2)  # verified, then collected
    assert payment(client, headers, "c-9")["status"] == "collected"
    assert balance(service, token, buyer.address) == before - amount
    assert raised


def test_a_withdrawn_allowance_is_a_default_with_its_alarm(client, service, chain, tmp_path):
    buyer, headers, store_headers, amount, token = bought(client, service, tmp_path)
    answer(client.post("/stores/corner-shop/checkouts/c-9/ship", json=RIGHT, headers=store_headers))
    keep(service)  # verified on chain
    buyer.send("/checkout/approve", {"owner": buyer.address, "token": token, "amount": "0"})
    before = balance(service, token, buyer.address)
    keep(service, 2)
    assert payment(client, headers, "c-9")["status"] == "defaulted"
    assert balance(service, token, buyer.address) == before  # nothing moved, and never retried
    [alarm] = answer(client.get("/stores/corner-shop/alarms", headers=store_headers))
    assert alarm["kind"] == "collection_defaulted" and alarm["state"] == "open"
    texts = [m["text"] for m in Outbox(tmp_path / "sms-outbox.jsonl").messages() if "your order c-9" in m["text"]]
    assert any(f"collecting {amount} for your order c-9" in t for t in texts)
    reputation = answer(client.get("/accounts/me/reputation", headers=headers))
    assert any(c["name"] == "collection_defaulted" and c["last_365_days"] == 1 for c in reputation["counters"])


def test_a_reorganisation_takes_a_collection_back(client, service, chain, tmp_path):
    _, _, rpc = chain
    _buyer, headers, store_headers, _amount, _token = bought(client, service, tmp_path)
    answer(client.post("/stores/corner-shop/checkouts/c-9/ship", json=RIGHT, headers=store_headers))
    keep(service)
    snapshot = rpc.call("evm_snapshot")
    keep(service)
    assert payment(client, headers, "c-9")["status"] == "collected"
    assert service.payments.holdings("ada@example.org") == {"corner-shop/tea": 2}
    rpc.call("evm_revert", snapshot)
    rpc.call("anvil_mine", "0x3")  # a longer chain without the collection
    service.step()
    assert payment(client, headers, "c-9")["status"] == "verified"
    assert service.payments.holdings("ada@example.org") == {}
    live = service.payments.snapshot()
    service.payments.rebuild()
    assert service.payments.snapshot() == live


def test_alarms_stream_to_the_operator_and_the_store_and_reach_its_webhook(client, served, service, chain, tmp_path):
    _buyer, _headers, store_headers, _amount, _token = bought(client, service, tmp_path)
    receiver = Receiver()
    try:
        secret = answer(client.put("/stores/corner-shop/webhook", json={"url": receiver.url}, headers=store_headers))[
            "secret"
        ]
        shipped = answer(client.post("/stores/corner-shop/checkouts/c-9/ship", json=WRONG, headers=store_headers))
        alarm = shipped["alarm_id"]
        keep(service)  # recorded on chain; the buyer's notices made and sent (SMS and the store's webhook)
        assert service.dispatcher.run_once() == 1  # the alarm's own notice to the store
        service.project()
        assert service.dispatcher.run_once() == 0  # once
    finally:
        receiver.close()
    bodies = [json.loads(body) for _, body in receiver.requests]
    assert all(signature_valid(secret, body, h["X-Signature"]) for h, body in receiver.requests)
    assert [b["notice"] for b in bodies].count("alarm") == 2  # the buyer's, passed on, and the alarm itself
    assert any(b["notice"] == "alarm" and b.get("state") == "open" and b["alarm_id"] == alarm for b in bodies)

    # Over server-sent events: the operator sees every alarm, the store its own, live.
    admin = ADMIN_HEADERS
    store_key = {"Authorization": store_headers["Authorization"]}
    got = events(served, "/operator/alarms/stream", admin, 1)
    assert [(e["event"], e["data"]["alarm_id"], e["data"]["state"]) for e in got if "id" in e] == [
        ("alarm", alarm, "open")
    ]
    first = next(e["id"] for e in got if "id" in e)

    def acknowledge():
        served.post(f"/operator/alarms/{alarm}/acknowledge", headers=admin)
        service.project()

    resumed = events(served, "/stores/corner-shop/alarms/stream", store_key | {"Last-Event-ID": first}, 1, acknowledge)
    assert [(e["data"]["alarm_id"], e["data"]["state"]) for e in resumed if "id" in e] == [(alarm, "acknowledged")]
    other = register(client, "other-shop", dev_account(5).address)
    assert served.get("/stores/other-shop/alarms", headers=other).json() == []


def test_the_buyer_revokes_a_mandate_before_its_first_verification_only(client, service, chain, tmp_path):
    buyer, headers, store_headers, _, _ = bought(client, service, tmp_path)
    built = answer(client.post("/checkout/c-9/revoke", json={"store_id": "corner-shop"}, headers=headers))
    assert built["transaction"]["from"].lower() == buyer.address.lower()
    answer(client.post("/tx", json={"raw": sign_transaction(buyer.account, built["transaction"]), "wait": 10}))
    service.step()
    assert payment(client, headers, "c-9")["mandate_status"] == "revoked"
    answer(client.post("/stores/corner-shop/checkouts/c-9/ship", json=RIGHT, headers=store_headers))
    assert keep(service, 2) == []  # verified off chain, but the mandate is dead: nothing is recorded or collected
    again = client.post("/checkout/c-9/revoke", json={"store_id": "corner-shop"}, headers=headers)
    assert again.status_code == 422 and again.json()["revert"]["error"] == "MandateNotOpen"


def test_a_reorganisation_takes_a_verification_back_and_the_keeper_records_it_again(client, service, chain, tmp_path):
    _, _, rpc = chain
    _, headers, store_headers, _, _ = bought(client, service, tmp_path)
    answer(client.post("/stores/corner-shop/checkouts/c-9/ship", json=RIGHT, headers=store_headers))
    service.step()
    snapshot = rpc.call("evm_snapshot")
    [first] = landed(rpc, service.payment_keeper.run_once())
    service.step()
    assert payment(client, headers, "c-9")["verified_tx"] == first
    rpc.call("evm_revert", snapshot)
    rpc.call("anvil_mine", "0x3")
    service.step()
    assert payment(client, headers, "c-9") is None  # the verification left with its block
    service.payment_keeper.in_flight.clear()  # what a restarted keeper knows; else it waits out IN_FLIGHT
    [again] = keep(service)
    assert again and payment(client, headers, "c-9")["status"] == "verified"
    live = service.payments.snapshot()
    service.payments.rebuild()
    assert service.payments.snapshot() == live


def test_a_notice_the_gateway_never_takes_is_a_dead_letter_the_operator_replays(
    client, service, chain, tmp_path, gateway
):
    from engine.accounts.sms import HttpGateway
    from tests.gateway import SECRET

    url, seen, plan = gateway
    _, headers, store_headers, _, _ = bought(client, service, tmp_path)
    now = [time.time()]
    service.payment_keeper.sms = HttpGateway(url, SECRET, retries=0)
    service.payment_keeper.clock = lambda: now[0]
    plan.extend([503] * 40)  # the gateway is down
    answer(client.post("/stores/corner-shop/checkouts/c-9/ship", json=RIGHT, headers=store_headers))
    for _ in range(10):  # each round a day later: every back-off has passed
        keep(service)
        now[0] += 86_400
    dead = answer(client.get("/operator/notices", params={"state": "dead"}, headers=ADMIN_HEADERS))
    assert {n["kind"] for n in dead} == {"shipped", "verified", "collected"}
    assert all(n["attempts"] == 8 and n["last_error"] == "HTTP 503" and n["channel"] == "sms" for n in dead)
    shipped = next(n for n in dead if n["kind"] == "shipped")
    keys = [h["webhook-id"] for h, body in seen if b"was shipped" in body]
    assert len(keys) == 8 and set(keys) == {shipped["notice_id"]}  # one idempotency key for every attempt
    assert client.post(f"/operator/notices/{shipped['notice_id']}/replay").status_code == 401

    plan.clear()  # the gateway is back
    replayed = answer(client.post(f"/operator/notices/{shipped['notice_id']}/replay", headers=ADMIN_HEADERS))
    assert replayed["state"] == "pending"
    again = client.post(f"/operator/notices/{shipped['notice_id']}/replay", headers=ADMIN_HEADERS)
    assert again.status_code == 409  # only a dead letter is replayed
    keep(service)
    mine = {n["kind"]: n["state"] for n in answer(client.get("/accounts/me/notices", headers=headers))}
    assert mine == {"shipped": "delivered", "verified": "dead", "collected": "dead"}
    assert [h["webhook-id"] for h, body in seen if b"was shipped" in body][-1] == shipped["notice_id"]
