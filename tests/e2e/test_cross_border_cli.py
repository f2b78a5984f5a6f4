"""`orderchain wallet cross-border`: a buyer and a seller work an order from their keystores."""

from __future__ import annotations

import json

from .conftest import dev_account
from .test_cross_border_flow import setup_history_and_rate
from .test_freight import REQUEST


def test_an_order_from_the_command_line(cli, client, service, tmp_path):
    keystores = {}
    for name, index in (("seller", 2), ("buyer", 3)):
        keystores[name] = str(tmp_path / f"{name}.json")
        cli(
            "wallet",
            "import",
            "--keystore",
            keystores[name],
            env={"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(index).key.hex()},
        )
    seller, carrier = dev_account(2).address, dev_account(4).address
    setup_history_and_rate(service, client)

    def wallet(who: str, *args: str, ok: bool = True) -> str:
        return cli("wallet", "cross-border", *args, "--keystore", keystores[who], ok=ok)

    assert "no cross-border orders of" in wallet("buyer", "orders")
    out = wallet("buyer", "quote", "--seller", seller, "--shipment", json.dumps(REQUEST), "--goods", "tea set")
    assert "1 EUR = 1.08 USD" in out and "to pay         1488045600 base units" in out
    snapshot_hash = out.split("--quote ")[-1].strip()
    out = wallet("buyer", "pay", "--quote", snapshot_hash, "-y")
    assert "Approval(" in out and "OrderPaid(orderId=1" in out
    assert "LegPaid(" in wallet(
        "seller", "pay-leg", "--order", "1", "--carrier", carrier, "--amount", "100000000", "--waybill", "SZX-1", "-y"
    )
    out = wallet(
        "seller",
        "final-bill",
        "--order",
        "1",
        "--carrier",
        carrier,
        "--last-leg",
        "400000000",
        "--waybill",
        "HAM-1",
        "-y",
    )
    assert "FinalBill(" in out and "topUp=91954400" in out
    service.step()
    assert "TOP-UP 91954400 due by" in wallet("buyer", "orders")
    assert "ToppedUp(orderId=1, amount=91954400" in wallet("buyer", "top-up", "--order", "1", "-y")
    out = wallet("seller", "answer-return", "--order", "1", "--refuse", "-y", ok=False)
    assert "WrongStatus" in out  # nothing to answer: no return was asked for
    assert "ReturnRequested(" in wallet("buyer", "request-return", "--order", "1", "--reason", "wrong colour", "-y")
    assert "ReturnRefused(" in wallet("seller", "answer-return", "--order", "1", "--refuse", "--reason", "used", "-y")
    service.step()
    out = wallet("buyer", "orders")
    assert "order 1  return_refused  (buyer)" in out and "the buyer may escalate until" in out
    assert "TooEarly" in wallet("seller", "release", "--order", "1", "-y", ok=False)  # the price is held
    assert "Escalated(orderId=1" in wallet("buyer", "escalate", "--order", "1", "-y")  # the buyer contests
