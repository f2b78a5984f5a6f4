"""`orderchain wallet`: a person pays, ships and confirms from keystores, no code written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import create_order, dev_account, register, view


@pytest.fixture
def run(cli):
    return lambda *args, **kw: cli("wallet", *args, **kw)


def test_a_whole_flow_from_keystores(run, client, service, tmp_path):
    buyer_ks, store_ks = str(tmp_path / "buyer.json"), str(tmp_path / "store.json")
    buyer, store = dev_account(1), dev_account(2)
    run("import", "--keystore", buyer_ks, env={"ORDERCHAIN_WALLET_IMPORT_KEY": buyer.key.hex()})
    run("import", "--keystore", store_ks, env={"ORDERCHAIN_WALLET_IMPORT_KEY": store.key.hex()})
    text = Path(buyer_ks).read_text()
    assert "crypto" in json.loads(text) and buyer.key.hex()[2:] not in text
    assert run("address", "--keystore", buyer_ks).strip() == buyer.address

    token = service.manifest.contract("TestStablecoin").address
    headers = register(client, "cli-shop", store.address)
    order = create_order(client, "cli-shop", headers, "C-1", 3_000_000, token)

    out = run("approve", "--keystore", buyer_ks, "--amount", "3000000", "-y")
    assert "success" in out and "Approval(" in out
    out = run(
        "open",
        "--keystore",
        buyer_ks,
        "--store",
        store.address,
        "--order",
        "C-1",
        "--amount",
        "3000000",
        "--snapshot-hash",
        order["snapshot_hash"],
        "-y",
    )
    assert "SettlementOpened(" in out
    assert view(client, service, "cli-shop", headers, "C-1")["status"] == "paid"
    run(
        "ship",
        "--keystore",
        store_ks,
        "--store",
        store.address,
        "--order",
        "C-1",
        "--buyer",
        buyer.address,
        "--waybill",
        "SF-CLI-1",
        "--amount",
        "3000000",
        "--snapshot-hash",
        order["snapshot_hash"],
        "-y",
    )
    assert view(client, service, "cli-shop", headers, "C-1")["status"] == "shipped"
    # The store cannot confirm for the buyer: the wallet will not sign another account's transaction.
    out = run(
        "confirm",
        "--keystore",
        store_ks,
        "--store",
        store.address,
        "--order",
        "C-1",
        "--buyer",
        buyer.address,
        "-y",
        ok=False,
    )
    assert f"must be signed by {buyer.address}" in out
    run("confirm", "--keystore", buyer_ks, "--store", store.address, "--order", "C-1", "-y")
    state = view(client, service, "cli-shop", headers, "C-1")
    assert state["status"] == "completed" and state["paid_to_store"] == "3000000"


def test_keystore_mistakes_are_clear(run, tmp_path):
    ks = str(tmp_path / "k.json")
    assert "no keystore" in run("address", "--keystore", ks, ok=False)
    created = run("new", "--keystore", ks).split()[0]
    assert created.startswith("0x") and len(created) == 42
    assert "already exists" in run("new", "--keystore", ks, ok=False)
    out = run(
        "approve",
        "--keystore",
        ks,
        "--amount",
        "1",
        "-y",
        ok=False,
        env={"ORDERCHAIN_WALLET_PASSWORD": "not the password"},
    )
    assert "wrong password" in out
    assert "not a private key" in run(
        "import", "--keystore", str(tmp_path / "x.json"), ok=False, env={"ORDERCHAIN_WALLET_IMPORT_KEY": "0x1234"}
    )


def test_dispute_resolve_and_reject_from_keystores(run, client, service, tmp_path):
    keystores = {}
    for name, index in (("arbiter", 0), ("buyer", 1), ("store", 2)):
        keystores[name] = str(tmp_path / f"{name}.json")
        run("import", "--keystore", keystores[name], env={"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(index).key.hex()})
    buyer, store = dev_account(1), dev_account(2)
    token = service.manifest.contract("TestStablecoin").address
    headers = register(client, "cli-dispute-shop", store.address)
    for number in ("C-2", "C-3"):
        order = create_order(client, "cli-dispute-shop", headers, number, 2_000_000, token)
        run("approve", "--keystore", keystores["buyer"], "--amount", "2000000", "-y")
        run(
            "open",
            "--keystore",
            keystores["buyer"],
            "--store",
            store.address,
            "--order",
            number,
            "--amount",
            "2000000",
            "--snapshot-hash",
            order["snapshot_hash"],
            "-y",
        )
    where = ["--store", store.address, "--order", "C-2"]
    assert "DisputeRaised(" in run(
        "dispute", "--keystore", keystores["buyer"], *where, "--proposed-to-store", "0", "--reason", "broken", "-y"
    )
    assert "NotArbiter" in run(
        "resolve", "--keystore", keystores["store"], *where, "--buyer", buyer.address, "--to-store", "1", "-y", ok=False
    )
    assert "DisputeResolved(" in run(
        "resolve", "--keystore", keystores["arbiter"], *where, "--buyer", buyer.address, "--to-store", "500000", "-y"
    )
    assert "TimeLimitNotReached" in run(
        "release",
        "--keystore",
        keystores["arbiter"],
        "--store",
        store.address,
        "--order",
        "C-3",
        "--buyer",
        buyer.address,
        "-y",
        ok=False,
    )
    assert "SettlementRejected(" in run(
        "reject",
        "--keystore",
        keystores["store"],
        "--store",
        store.address,
        "--order",
        "C-3",
        "--buyer",
        buyer.address,
        "-y",
    )
    c2 = view(client, service, "cli-dispute-shop", headers, "C-2")
    c3 = view(client, service, "cli-dispute-shop", headers, "C-3")
    assert (c2["settlement_status"], c2["paid_to_store"], c2["refunded_to_payer"]) == ("resolved", "500000", "1500000")
    assert c3["status"] == "refunded"


def _wallets(run, tmp_path) -> dict:
    keystores = {}
    for name, index in (("arbiter", 0), ("buyer", 1), ("store", 2), ("anyone", 9)):
        keystores[name] = str(tmp_path / f"{name}.json")
        run("import", "--keystore", keystores[name], env={"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(index).key.hex()})
    return keystores


def test_claims_answered_contested_left_unanswered_and_agreed_from_keystores(run, client, service, chain, tmp_path):
    _, _, rpc = chain
    ks = _wallets(run, tmp_path)
    buyer, store = dev_account(1), dev_account(2)
    token = service.manifest.contract("TestStablecoin").address
    headers = register(client, "cli-claim-shop", store.address)
    run("approve", "--keystore", ks["buyer"], "--amount", "8000000", "-y")
    for number in ("K-1", "K-2", "K-3", "K-4"):
        order = create_order(client, "cli-claim-shop", headers, number, 2_000_000, token)
        run(
            "open",
            "--keystore",
            ks["buyer"],
            "--store",
            store.address,
            "--order",
            number,
            "--amount",
            "2000000",
            "--snapshot-hash",
            order["snapshot_hash"],
            "-y",
        )

    def where(number, as_buyer=False):
        return ["--store", store.address, "--order", number] + ([] if as_buyer else ["--buyer", buyer.address])

    def order(number):
        return view(client, service, "cli-claim-shop", headers, number)

    # The buyer claims less; the store accepts.
    assert "ClaimOpened(" in run(
        "claim",
        "--keystore",
        ks["buyer"],
        *where("K-1", True),
        "--amount-due",
        "1500000",
        "--reason",
        "one tin dented",
        "-y",
    )
    assert order("K-1")["status"] == "claimed" and order("K-1")["claim"]["amount_due"] == "1500000"
    assert "SettlementCompleted(" in run("accept-claim", "--keystore", ks["store"], *where("K-1"), "-y")
    k1 = order("K-1")
    assert (k1["status"], k1["ending"], k1["paid_to_store"], k1["refunded_to_payer"]) == (
        "short_paid",
        "claim_accepted",
        "1500000",
        "500000",
    )
    # The store contests; the arbiter splits.
    run("claim", "--keystore", ks["buyer"], *where("K-2", True), "--amount-due", "0", "--reason", "never came", "-y")
    assert "DisputeRaised(" in run(
        "contest-claim", "--keystore", ks["store"], *where("K-2"), "--reason", "tracking says delivered", "-y"
    )
    assert order("K-2")["status"] == "disputed" and order("K-2")["dispute"]["by"] == store.address.lower()
    run("resolve", "--keystore", ks["arbiter"], *where("K-2"), "--to-store", "1000000", "-y")
    assert (order("K-2")["ending"], order("K-2")["paid_to_store"]) == ("arbitrated", "1000000")
    # The store stays silent: anyone executes the claim once its response window has passed.
    run("claim", "--keystore", ks["buyer"], *where("K-3", True), "--amount-due", "500000", "--reason", "late", "-y")
    assert "WindowOpen" in run("execute-claim", "--keystore", ks["anyone"], *where("K-3"), "-y", ok=False)
    rpc.call("evm_increaseTime", 7 * 86_400)
    rpc.call("evm_mine")
    run("execute-claim", "--keystore", ks["anyone"], *where("K-3"), "-y")
    assert (order("K-3")["ending"], order("K-3")["paid_to_store"]) == ("claim_executed", "500000")
    # Amicable: the store signs the lower amount; the buyer completes with it in one call.
    signed = run("agree", "--keystore", ks["store"], *where("K-4"), "--to-store", "1800000")
    signature = next(line.split()[1] for line in signed.splitlines() if line.startswith("signature "))
    deadline = next(line.split()[1] for line in signed.splitlines() if line.startswith("deadline "))
    assert "SettlementCompleted(" in run(
        "settle",
        "--keystore",
        ks["buyer"],
        *where("K-4"),
        "--to-store",
        "1800000",
        "--deadline",
        deadline,
        "--store-signature",
        signature,
        "-y",
    )
    assert (order("K-4")["ending"], order("K-4")["paid_to_store"]) == ("agreed", "1800000")
