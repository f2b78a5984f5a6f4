"""`orderchain wallet`: a person pays, ships and confirms from keystores, no code written."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import wallet
from api.cli import app

from .conftest import create_order, dev_account, register, view

PASSWORD = "correct horse battery"


@pytest.fixture
def run(client, monkeypatch):
    monkeypatch.setattr(wallet, "http_client", lambda api: client)
    monkeypatch.setenv("ORDERCHAIN_WALLET_PASSWORD", PASSWORD)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True, env: dict | None = None):
        result = runner.invoke(app, ["wallet", *args], env=env)
        assert (result.exit_code == 0) == ok, result.output
        return result.output
    return invoke


def test_a_whole_flow_from_keystores(run, client, service, tmp_path):
    buyer_ks, store_ks = str(tmp_path / "buyer.json"), str(tmp_path / "store.json")
    buyer, store = dev_account(1), dev_account(2)
    run("import", "--keystore", buyer_ks, env={"ORDERCHAIN_WALLET_IMPORT_KEY": buyer.key.hex()})
    run("import", "--keystore", store_ks, env={"ORDERCHAIN_WALLET_IMPORT_KEY": store.key.hex()})
    keystore = json.loads(open(buyer_ks).read())
    assert "crypto" in keystore and buyer.key.hex()[2:] not in open(buyer_ks).read()
    assert run("address", "--keystore", buyer_ks).strip() == buyer.address

    token = service.manifest.contract("TestStablecoin").address
    headers = register(client, "cli-shop", store.address)
    order = create_order(client, "cli-shop", headers, "C-1", 3_000_000, token)

    out = run("approve", "--keystore", buyer_ks, "--amount", "3000000", "-y")
    assert "success" in out and "Approval(" in out
    out = run("open", "--keystore", buyer_ks, "--store", store.address, "--order", "C-1", "--amount", "3000000",
              "--snapshot-hash", order["snapshot_hash"], "-y")
    assert "SettlementOpened(" in out
    assert view(client, service, "cli-shop", headers, "C-1")["status"] == "paid"
    run("ship", "--keystore", store_ks, "--store", store.address, "--order", "C-1", "--buyer", buyer.address,
        "--waybill", "SF-CLI-1", "-y")
    assert view(client, service, "cli-shop", headers, "C-1")["status"] == "shipped"
    # The store cannot confirm for the buyer: the wallet will not sign another account's transaction.
    out = run("confirm", "--keystore", store_ks, "--store", store.address, "--order", "C-1", "--buyer",
              buyer.address, "--amount-due", "3000000", "-y", ok=False)
    assert f"must be signed by {buyer.address}" in out
    run("confirm", "--keystore", buyer_ks, "--store", store.address, "--order", "C-1", "--amount-due", "3000000", "-y")
    state = view(client, service, "cli-shop", headers, "C-1")
    assert state["status"] == "completed" and state["paid_to_store"] == "3000000"


def test_keystore_mistakes_are_clear(run, tmp_path):
    ks = str(tmp_path / "k.json")
    assert "no keystore" in run("address", "--keystore", ks, ok=False)
    created = run("new", "--keystore", ks).split()[0]
    assert created.startswith("0x") and len(created) == 42
    assert "already exists" in run("new", "--keystore", ks, ok=False)
    out = run("approve", "--keystore", ks, "--amount", "1", "-y", ok=False,
              env={"ORDERCHAIN_WALLET_PASSWORD": "not the password"})
    assert "wrong password" in out
    assert "not a private key" in run("import", "--keystore", str(tmp_path / "x.json"), ok=False,
                                      env={"ORDERCHAIN_WALLET_IMPORT_KEY": "0x1234"})


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
        run("open", "--keystore", keystores["buyer"], "--store", store.address, "--order", number,
            "--amount", "2000000", "--snapshot-hash", order["snapshot_hash"], "-y")
    where = ["--store", store.address, "--order", "C-2"]
    assert "DisputeRaised(" in run("dispute", "--keystore", keystores["buyer"], *where, "--reason", "broken", "-y")
    assert "NotArbiter" in run("resolve", "--keystore", keystores["store"], *where, "--buyer", buyer.address,
                               "--to-store", "1", "-y", ok=False)
    assert "DisputeResolved(" in run("resolve", "--keystore", keystores["arbiter"], *where, "--buyer", buyer.address,
                                     "--to-store", "500000", "-y")
    assert "TimeLimitNotReached" in run("release", "--keystore", keystores["arbiter"], "--store", store.address,
                                        "--order", "C-3", "--buyer", buyer.address, "-y", ok=False)
    assert "SettlementRejected(" in run("reject", "--keystore", keystores["store"], "--store", store.address,
                                        "--order", "C-3", "--buyer", buyer.address, "-y")
    c2 = view(client, service, "cli-dispute-shop", headers, "C-2")
    c3 = view(client, service, "cli-dispute-shop", headers, "C-3")
    assert (c2["settlement_status"], c2["paid_to_store"], c2["refunded_to_payer"]) == ("resolved", "500000", "1500000")
    assert c3["status"] == "refunded"
