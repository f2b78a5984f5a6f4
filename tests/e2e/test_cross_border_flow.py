"""Cross-border orders on anvil through the API: a quote at the operator's signed rate, the
payment into the notary escrow, two freight legs, a refunding final bill, the release and
the order joining the freight history; a top-up final bill, the top-up, a return; a reorg
that undoes a release; and the views equal a rebuild."""

from __future__ import annotations

import json

import pytest

from api.client import answer
from api.client.holder import ApiError, sign_transaction
from engine.cross_border.freight import parse_csv
from engine.cross_border.orders import rate_document, sign_rate
from engine.deliveries import signature_valid

from .conftest import Wallet, dev_account, register
from .test_freight import HEADER, REQUEST, ROWS
from .test_group_buy_flow import Receiver
from .test_liquor_flow import advance, event, ok

DAY = 86_400
RATE = "1.08"  # 1 EUR = 1.08 USD; the token has 6 decimals, EUR minor units 2: x 10^4
PRICE = 1_080_000_000  # 100,000 EUR cents at 1.08, in the token's base units
TARGET = 408_045_600  # the target freight 37,782 EUR cents (see test_freight) at 1.08


def setup_history_and_rate(service, client) -> None:
    orders = parse_csv("\n".join([HEADER, *ROWS]) + "\n")
    service.app.import_freight(orders, "history.csv", service.freight.known([o.order_id for o in orders]))
    operator = dev_account(0)  # the deployer is the escrow's operator on the dev chain
    fields = {"base": "EUR", "quote": "USD", "rate": RATE, "source": "ECB reference", "at": "2026-06-30T14:15:00Z"}
    document = rate_document(**fields)
    r = client.post("/rates", json=dict(fields, signature=sign_rate(document, operator)))
    assert r.status_code == 201, r.text


def quote(client, buyer: Wallet, seller: Wallet, token: str, **extra) -> dict:
    body = {
        **REQUEST,
        "buyer": buyer.address,
        "seller": seller.address,
        "token": token,
        "settlement_currency": "USD",
        "goods": "12 hand-thrown stoneware plates",
        **extra,
    }
    r = client.post("/cross-border/quotes", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def paid_order(client, buyer: Wallet, quoted: dict) -> int:
    ok(buyer.relay(sign_transaction(buyer.account, quoted["approve"])))
    paid = ok(buyer.send("/cross-border/pay", {"sender": buyer.address, "snapshot_hash": quoted["snapshot_hash"]}))
    return int(event(paid, "OrderPaid")["orderId"])


def order(client, service, order_id: int) -> dict:
    service.step()
    return answer(client.get(f"/cross-border/orders/{order_id}"))


AMOUNT_KEYS = {
    "price",
    "target_freight",
    "freight_held",
    "freight_paid",
    "refunded_freight",
    "amount",
    "freight",
    "refunded",
    "top_up",
    "to_buyer",
    "to_seller",
    "lapse_to_seller",
}


def amounts_are_strings(value, path: str = "order") -> None:
    """Every amount of an order, however deep, is a decimal string (a JavaScript client loses
    precision in numbers past 2**53)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in AMOUNT_KEYS and inner is not None and not isinstance(inner, dict):
                assert isinstance(inner, str) and inner.isdigit(), f"{path}.{key} is {inner!r}"
            amounts_are_strings(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            amounts_are_strings(inner, f"{path}[{i}]")


def balance(service, token: str, who: str) -> int:
    return service.transactions._token_call(token, "balanceOf", who)[0]


def test_quote_pay_legs_final_bills_top_up_return_and_a_reorg(chain, service, client):
    _, _, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    operator, seller, buyer, carrier_a, carrier_b = (Wallet(client, dev_account(i)) for i in (0, 2, 3, 4, 5))
    setup_history_and_rate(service, client)

    # The quote: price + target freight at the signed rate, the snapshot recorded by its hash.
    quoted = quote(client, buyer, seller, token)
    assert quoted["breakdown"] == {"price": str(PRICE), "target_freight": str(TARGET), "hold": str(PRICE + TARGET)}
    snapshot = quoted["snapshot"]
    assert (
        snapshot["rate"]["rate"] == RATE
        and snapshot["rate"]["signature_hash"] == answer(client.get("/rates/EUR/USD"))["signature_hash"]
    )
    assert snapshot["freight"]["target_freight_minor"] == "37782" and snapshot["return_policy"] == "seller_pays_return"
    assert answer(client.get(f"/cross-border/quotes/{quoted['snapshot_hash']}")) == snapshot
    # Only the quote's buyer pays it.
    r = client.post("/cross-border/pay", json={"sender": seller.address, "snapshot_hash": quoted["snapshot_hash"]})
    assert r.status_code == 403, r.text

    # Payment, two legs (by the seller, then the operator), a leg above the freight held refused.
    before = balance(service, token, buyer.address)
    order_id = paid_order(client, buyer, quoted)
    assert balance(service, token, buyer.address) == before - PRICE - TARGET
    ok(
        seller.send(
            "/cross-border/pay-leg",
            {
                "sender": seller.address,
                "order_id": order_id,
                "carrier": carrier_a.address,
                "amount": "150000000",
                "waybill": "SZX-HAM-0001",
            },
        )
    )
    ok(
        operator.send(
            "/cross-border/pay-leg",
            {
                "sender": operator.address,
                "order_id": order_id,
                "carrier": carrier_b.address,
                "amount": "100000000",
                "waybill": "HAM-local-77",
            },
        )
    )
    r = client.post(
        "/cross-border/pay-leg",
        json={
            "sender": seller.address,
            "order_id": order_id,
            "carrier": carrier_b.address,
            "amount": str(TARGET),
            "waybill": "too much",
        },
    )
    assert r.status_code == 422 and r.json()["revert"]["error"] == "OverFreight", r.text
    shown = order(client, service, order_id)
    assert (shown["status"], shown["freight_paid"], shown["quote_problems"]) == ("in_transit", "250000000", [])
    schema = client.get("/openapi.json").json()["components"]["schemas"]["CrossBorderOrderOut"]
    assert "in_transit" in schema["properties"]["status"]["enum"]
    assert [o["order_id"] for o in answer(client.get("/cross-border/orders", params={"status": "in_transit"}))] == [
        order_id
    ]
    assert [leg["amount"] for leg in shown["legs"]] == ["150000000", "100000000"]

    # The final bill with a last leg below the target: the rest of the freight is refunded now.
    before = balance(service, token, buyer.address)
    ok(
        seller.send(
            "/cross-border/final-bill",
            {
                "sender": seller.address,
                "order_id": order_id,
                "carrier": carrier_a.address,
                "last_leg": "50000000",
                "waybill": "HAM-door",
            },
        )
    )
    shown = order(client, service, order_id)
    assert shown["status"] == "billed" and shown["final_bill"]["refunded"] == str(TARGET - 300_000_000)
    assert balance(service, token, buyer.address) == before + TARGET - 300_000_000
    r = client.post("/cross-border/release", json={"sender": buyer.address, "order_id": order_id})
    assert r.status_code == 422 and r.json()["revert"]["error"] == "TooEarly", r.text

    # After the return window anyone releases; the order joins the freight history.
    history = service.freight.count()
    advance(rpc, 14 * DAY + 1)
    ok(buyer.send("/cross-border/release", {"sender": buyer.address, "order_id": order_id}))
    shown = order(client, service, order_id)
    assert shown["status"] == "settled" and shown["ending"]["how"] == "released"
    assert service.freight.count() == history + 1
    row = service.db.fetchone(
        "SELECT freight_minor, currency, price_minor FROM view_freight_history WHERE order_id = ?", (f"cb-{order_id}",)
    )
    assert tuple(row) == (27778, "EUR", 100000)  # 300,000,000 / 1.08 / 10^4 = 27,777.8 -> 27,778 cents

    # A reorg that drops the release: the order is billed again and leaves the history.
    rpc.call("anvil_reorg", 1, [])
    service.step()
    assert service.reader.reorgs == 1
    assert order(client, service, order_id)["status"] == "billed"
    assert service.freight.count() == history
    for view in (service.cross_border, service.freight):
        live = view.snapshot()
        view.rebuild()
        assert view.snapshot() == live
    ok(buyer.send("/cross-border/release", {"sender": buyer.address, "order_id": order_id}))
    assert order(client, service, order_id)["status"] == "settled" and service.freight.count() == history + 1

    # A second order whose freight exceeds the target: the buyer is asked for a top-up, and the
    # engine tells the seller's store (its system reaches the buyer) on its webhook.
    headers = register(client, "ceramics", seller.address)
    receiver = Receiver()
    secret = answer(client.put("/stores/ceramics/webhook", json={"url": receiver.url}, headers=headers))["secret"]
    quoted = quote(client, buyer, seller, token, return_policy="buyer_pays_return")
    second = paid_order(client, buyer, quoted)
    ok(
        seller.send(
            "/cross-border/final-bill",
            {
                "sender": seller.address,
                "order_id": second,
                "carrier": carrier_a.address,
                "last_leg": "450000000",
                "waybill": "SZX-HAM-0002",
            },
        )
    )
    shown = order(client, service, second)
    top_up = 450_000_000 - int(quoted["breakdown"]["target_freight"])
    assert shown["status"] == "top_up_requested" and shown["top_up"]["amount"] == str(top_up)
    assert [
        o["order_id"]
        for o in answer(
            client.get("/cross-border/orders", params={"party": buyer.address, "status": "top_up_requested"})
        )
    ] == [second]
    try:
        assert service.dispatcher.run_once() == 1
        service.project()
        assert service.dispatcher.run_once() == 0  # one notice per final bill
    finally:
        receiver.close()
    ((sent_headers, sent),) = receiver.requests
    assert signature_valid(secret, sent, sent_headers["X-Signature"])
    notice = json.loads(sent)
    assert (notice["notice"], notice["order_id"], notice["amount"], notice["deadline"]) == (
        "top_up_requested",
        second,
        str(top_up),
        shown["top_up"]["deadline"],
    )
    notices = answer(client.get("/stores/ceramics/notices", headers=headers))
    assert [(n["state"], n["body"]["order_id"]) for n in notices] == [("delivered", second)]
    r = client.post("/cross-border/top-up", json={"sender": buyer.address, "order_id": second})
    assert r.status_code == 422, r.text  # nothing approved yet
    ok(buyer.send("/cross-border/approve", {"owner": buyer.address, "token": token, "amount": str(top_up)}))
    ok(buyer.send("/cross-border/top-up", {"sender": buyer.address, "order_id": second}))
    shown = order(client, service, second)
    assert shown["status"] == "billed" and shown["freight_paid"] == "450000000"

    # A return: asked within the window, accepted; the buyer pays the return freight (its policy).
    ok(
        buyer.send(
            "/cross-border/request-return",
            {"sender": buyer.address, "order_id": second, "reason": "two plates arrived broken"},
        )
    )
    assert order(client, service, second)["status"] == "return_requested"
    before = balance(service, token, buyer.address)
    ok(
        seller.send(
            "/cross-border/answer-return",
            {"sender": seller.address, "order_id": second, "accept": True, "return_freight": "20000000"},
        )
    )
    shown = order(client, service, second)
    assert shown["status"] == "returned" and shown["ending"] == {
        "to_seller": "20000000",
        "to_buyer": str(PRICE - 20_000_000),
        "how": "returned",
    }
    amounts_are_strings(shown)
    assert balance(service, token, buyer.address) == before + PRICE - 20_000_000
    assert service.freight.count() == history + 2

    # A quote whose rate no longer holds cannot be paid.
    stale = quote(client, buyer, seller, token, goods="a teapot")
    advance(rpc, service.settings.quote_hold_seconds + 1)
    r = client.post("/cross-border/pay", json={"sender": buyer.address, "snapshot_hash": stale["snapshot_hash"]})
    assert r.status_code == 409 and "ask a new quote" in r.json()["detail"], r.text
    r = client.post("/cross-border/pay", json={"sender": buyer.address, "snapshot_hash": "0x" + "00" * 32})
    assert r.status_code == 404, r.text

    for view in (service.cross_border, service.freight):
        live = view.snapshot()
        view.rebuild()
        assert view.snapshot() == live


def test_the_buyer_pays_the_same_quote_twice_and_a_silent_seller_is_cancelled(chain, service, client):
    """A double click or a wallet retry: the API answers 409 before building anything (even
    before the views saw the payment), and the contract refuses a second `pay` sent anyway.
    The seller then never bills: past the quote's billing window the buyer cancels."""
    _, _, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    seller, buyer, carrier = (Wallet(client, dev_account(i)) for i in (2, 3, 4))
    setup_history_and_rate(service, client)
    quoted = quote(client, buyer, seller, token, goods="a stoneware jug", billing_window=2 * DAY)
    assert quoted["snapshot"]["billing_window"] == 2 * DAY
    ok(buyer.relay(sign_transaction(buyer.account, quoted["approve"])))
    built = answer(
        client.post("/cross-border/pay", json={"sender": buyer.address, "snapshot_hash": quoted["snapshot_hash"]})
    )
    paid = ok(buyer.relay(sign_transaction(buyer.account, built["transaction"])))
    order_id = int(event(paid, "OrderPaid")["orderId"])
    assert service.cross_border.order(order_id) is None  # the views have not seen it: the chain says it is paid
    r = client.post("/cross-border/pay", json={"sender": buyer.address, "snapshot_hash": quoted["snapshot_hash"]})
    assert r.status_code == 409 and f"already paid as order {order_id}" in r.json()["detail"], r.text
    before = balance(service, token, buyer.address)
    nonce = rpc.call("eth_getTransactionCount", buyer.address, "pending")
    with pytest.raises(ApiError, match=rf"QuoteAlreadyPaid\(.*orderId={order_id}\)"):  # sent anyway: the contract
        buyer.relay(sign_transaction(buyer.account, dict(built["transaction"], nonce=nonce)))
    assert balance(service, token, buyer.address) == before  # debited once
    shown = order(client, service, order_id)
    assert shown["quote_problems"] == [] and shown["bill_by"] - shown["steps"][0]["timestamp"] == 2 * DAY
    r = client.post("/cross-border/pay", json={"sender": buyer.address, "snapshot_hash": quoted["snapshot_hash"]})
    assert r.status_code == 409, r.text

    ok(
        seller.send(
            "/cross-border/pay-leg",
            {
                "sender": seller.address,
                "order_id": order_id,
                "carrier": carrier.address,
                "amount": "100000000",
                "waybill": "SZX-1",
            },
        )
    )  # then the seller goes silent
    r = client.post("/cross-border/cancel", json={"sender": buyer.address, "order_id": order_id})
    assert r.status_code == 422 and r.json()["revert"]["error"] == "TooEarly", r.text
    advance(rpc, 2 * DAY + 1)
    before = balance(service, token, buyer.address)
    ok(buyer.send("/cross-border/cancel", {"sender": buyer.address, "order_id": order_id}))
    shown = order(client, service, order_id)
    hold = int(quoted["breakdown"]["hold"])
    assert balance(service, token, buyer.address) == before + hold - 100_000_000  # the leg paid stays paid
    assert (shown["status"], shown["ending"]) == (
        "cancelled",
        {"to_seller": "0", "to_buyer": str(hold - 100_000_000), "how": "cancelled"},
    )
    amounts_are_strings(shown)
    assert [o["order_id"] for o in answer(client.get("/cross-border/orders", params={"status": "cancelled"}))] == [
        order_id
    ]


def test_a_refused_return_goes_to_the_arbiter_when_the_buyer_contests_it(chain, service, client):
    _, _, _rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    arbiter, seller, buyer, carrier = (Wallet(client, dev_account(i)) for i in (0, 2, 3, 4))
    setup_history_and_rate(service, client)
    order_id = paid_order(
        client, buyer, quote(client, buyer, seller, token, goods="a vase", return_policy="buyer_pays_return")
    )
    ok(
        seller.send(
            "/cross-border/final-bill",
            {
                "sender": seller.address,
                "order_id": order_id,
                "carrier": carrier.address,
                "last_leg": "300000000",
                "waybill": "SZX-HAM-9",
            },
        )
    )
    ok(
        buyer.send(
            "/cross-border/request-return",
            {"sender": buyer.address, "order_id": order_id, "reason": "not the colour ordered"},
        )
    )
    r = client.post(
        "/cross-border/answer-return",
        json={"sender": seller.address, "order_id": order_id, "accept": True, "return_freight": str(PRICE)},
    )
    assert r.status_code == 422 and r.json()["revert"]["error"] == "ReturnFreightTooHigh", r.text
    assert r.json()["revert"]["args"]["cap"] == "300000000" or r.json()["revert"]["args"]["cap"] == 300_000_000
    ok(
        seller.send(
            "/cross-border/answer-return",
            {"sender": seller.address, "order_id": order_id, "accept": False, "reason": "it is the colour ordered"},
        )
    )
    shown = order(client, service, order_id)
    assert shown["status"] == "return_refused" and shown["return"]["answer"]["contest_by"] > 0
    r = client.post("/cross-border/release", json={"sender": seller.address, "order_id": order_id})
    assert r.status_code == 422 and r.json()["revert"]["error"] == "TooEarly", r.text
    ok(buyer.send("/cross-border/escalate", {"sender": buyer.address, "order_id": order_id}))
    shown = order(client, service, order_id)
    assert shown["dispute"] == {
        "arbiter": arbiter.address.lower(),
        "lapse_to_seller": str(PRICE // 2),
        "decide_by": shown["dispute"]["decide_by"],
        "raised_from": "return_refused",
    }
    ok(
        arbiter.send(
            "/cross-border/resolve", {"sender": arbiter.address, "order_id": order_id, "to_seller": str(PRICE // 4)}
        )
    )
    shown = order(client, service, order_id)
    assert shown["ending"] == {"to_seller": str(PRICE // 4), "to_buyer": str(PRICE - PRICE // 4), "how": "arbitrated"}
    amounts_are_strings(shown)
    live = service.cross_border.snapshot()
    service.cross_border.rebuild()
    assert service.cross_border.snapshot() == live
