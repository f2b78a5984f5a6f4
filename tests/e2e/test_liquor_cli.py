"""`orderchain wallet` and `orderchain warehouse` for liquor cases: from keystores, no code written.

The delivery address is typed at the holder's prompt and read back only by the
warehouse's `queue`, decrypted with the key in the warehouse's keystore.
"""

from __future__ import annotations

import json

import pytest

from api.client.liquor import decrypt_address

from .accounts import account_for
from .conftest import ADMIN_HEADERS, Wallet, dev_account
from .test_liquor_flow import FACTS, PRICE, TERMS


def test_a_case_from_the_command_line(cli, client, service, tmp_path):
    keystores = {}
    for name, index in (("producer", 2), ("buyer", 3), ("warehouse", 6), ("lender", 7)):
        keystores[name] = str(tmp_path / f"{name}.json")
        group = "warehouse" if name == "warehouse" else "wallet"
        cli(
            group,
            "import",
            "--keystore",
            keystores[name],
            env={"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(index).key.hex()},
        )
    producer, buyer, warehouse = dev_account(2), dev_account(3), dev_account(6)
    token = service.manifest.contract("TestStablecoin").address
    r = client.post(
        "/liquor/listings",
        headers=ADMIN_HEADERS,
        json={
            "producer": producer.address,
            "facts": FACTS,
            "terms": TERMS,
            "sale": {
                "cases": 5,
                "unit_price": str(PRICE),
                "token": token,
                "warehouse": warehouse.address,
                "fulfilment_window": 86_400,
            },
        },
    )
    assert r.status_code == 201, r.text

    assert "no cases held by" in cli("wallet", "cases", "--keystore", keystores["buyer"])
    assert "buyer, store, holder and lender actions" in cli("wallet", "--help")
    assert "PlanCreated(" in cli(
        "wallet", "create-plan", "--keystore", keystores["producer"], "--facts-hash", r.json()["facts_hash"], "-y"
    )
    out = cli("wallet", "buy", "--keystore", keystores["buyer"], "--plan", "1", "--quantity", "1", "-y")
    assert "insured at 12-16 C" in out and "Purchased(" in out
    out = cli(
        "warehouse",
        "outbound",
        "--keystore",
        keystores["warehouse"],
        "--purchase",
        "1",
        "--case-code",
        "GLN-CLI-1",
        "-y",
    )
    assert "CaseOutbound(" in out
    service.step()
    assert "GLN-CLI-1" in cli("wallet", "cases", "--keystore", keystores["buyer"])

    offer = (
        cli(
            "wallet",
            "offer-loan",
            "--keystore",
            keystores["lender"],
            "--token-id",
            "1",
            "--principal",
            "1000000",
            "--interest",
            "10000",
            "--due-in-days",
            "10",
        )
        .strip()
        .splitlines()[-1]
    )
    assert json.loads(offer)["lender"] == dev_account(7).address
    assert "Pledged(" in cli("wallet", "pledge", "--keystore", keystores["buyer"], "--offer", offer, "-y")
    service.step()
    assert "pledged to" in cli("wallet", "cases", "--keystore", keystores["buyer"])
    assert "Repaid(" in cli("wallet", "repay", "--keystore", keystores["buyer"], "--token-id", "1", "-y")

    cli("warehouse", "publish-key", "--keystore", keystores["warehouse"], "-y")
    service.step()
    refused = cli(
        "wallet", "pickup", "--keystore", keystores["buyer"], "--token-id", "1", input="12 Quay Street\n", ok=False
    )
    assert "bind this wallet to an account" in refused  # a pickup needs a complete profile: nothing signed
    account_for(client, service, Wallet(client, buyer), tmp_path, "buyer@example.org")
    out = cli("wallet", "pickup", "--keystore", keystores["buyer"], "--token-id", "1", input="12 Quay Street, Leith\n")
    code = out.split("pickup code ")[1].split(":")[0]
    service.step()
    assert "deliver to: 12 Quay Street, Leith" in cli("warehouse", "queue", "--keystore", keystores["warehouse"])
    # On chain and in the API it is only ciphertext, which no other key opens.
    ciphertext = service.liquor.redemption_queue(warehouse.address.lower())[0]["ciphertext"]
    assert b"Quay" not in bytes.fromhex(ciphertext[2:])
    assert decrypt_address(warehouse, ciphertext) == "12 Quay Street, Leith"
    with pytest.raises(ValueError):
        decrypt_address(buyer, ciphertext)
    cli("warehouse", "dispatch", "--keystore", keystores["warehouse"], "--token-id", "1", "-y")
    out = cli(
        "warehouse",
        "deliver",
        "--keystore",
        keystores["warehouse"],
        "--token-id",
        "1",
        "-y",
        input="wrong-code\n",
        ok=False,
    )
    assert "WrongPickupCode" in out
    assert "Delivered(" in cli(
        "warehouse", "deliver", "--keystore", keystores["warehouse"], "--token-id", "1", "-y", input=code + "\n"
    )
    service.step()
    assert service.liquor.case(1)["state"] == "delivered"
