"""`orderchain account` against the test API: register, verify the phone, sign in with the
password and the code, complete the profile, see the reputation, sign out; and `orderchain
notices outbox` printing the codes a development setup keeps."""

from __future__ import annotations

import json

from tests.e2e.accounts import PASSWORD, last_code


def test_an_account_is_made_and_used_from_the_command_line(cli, client, tmp_path, monkeypatch):
    monkeypatch.setenv("ORDERCHAIN_ACCOUNT_PASSWORD", PASSWORD)
    monkeypatch.setenv("ORDERCHAIN_SESSION", str(tmp_path / "session.json"))
    monkeypatch.setenv("ORDERCHAIN_VAR", str(tmp_path))
    out = cli("account", "register", "--login", "ada@example.org", "--phone", "07911 123456", "--region", "GB")
    assert "a code went to +44 ********56" in out
    outbox = cli("notices", "outbox")
    assert "to +447911123456: orderchain:" in outbox and last_code(tmp_path) in outbox
    assert "is verified" in cli("account", "verify-phone", "--login", "ada@example.org", "--code", last_code(tmp_path))

    wrong = cli("account", "login", "--login", "ada@example.org", "--code", "000000", ok=False)
    assert "sign-in refused" in wrong
    assert not (tmp_path / "session.json").exists()
    client.post("/accounts/sign-in/code", json={"login": "ada@example.org"})
    out = cli("account", "login", "--login", "ada@example.org", "--code", last_code(tmp_path))
    assert "signed in as ada@example.org (buyer, sms)" in out
    kept = json.loads((tmp_path / "session.json").read_text())
    assert kept["token"].startswith("ocacct_") and kept["token"] not in out
    assert (tmp_path / "session.json").stat().st_mode & 0o777 == 0o600

    out = cli("account", "profile", "--name", "Ada Lovelace")
    assert "Ada Lovelace, phone +447911123456 (verified)" in out and "to pickup: add default_address" in out
    out = cli(
        "account",
        "address",
        "add",
        "home",
        "--line",
        "12 High Street",
        "--country",
        "GB",
        "--lat",
        "55.95",
        "--lon",
        "-3.19",
    )
    assert "saved home; default: home" in out
    assert "to pickup" not in cli("account", "profile")
    assert "score 0.000000 (0 for, 0 against" in cli("account", "reputation")
    exported = json.loads(cli("account", "export"))
    assert exported["account"]["addresses"][0]["label"] == "home"
    assert "signed out" in cli("account", "logout")
    assert "not signed in" in cli("account", "profile", ok=False)


def test_the_operator_and_a_store_open_accounts_for_other_roles_from_the_command_line(cli, client, monkeypatch):
    from tests.e2e.conftest import ADMIN_HEADERS, dev_account, register

    monkeypatch.setenv("ORDERCHAIN_ACCOUNT_PASSWORD", PASSWORD)
    admin = ADMIN_HEADERS["Authorization"].split()[1]
    ops = ("account", "register", "--login", "ops@example.org", "--phone", "+44 7911 123460", "--role", "operator")
    assert "give --admin-token" in cli(*ops, ok=False)
    assert "wrong operator token" in cli(*ops, "--admin-token", "nope", ok=False)
    assert "registered ops@example.org (operator)" in cli(*ops, "--admin-token", admin)
    key = register(client, "corner-shop", dev_account(2).address)["Authorization"].split()[1]
    staff = ("account", "register", "--login", "sam@corner.example", "--phone", "+44 7911 123461", "--role",
             "store_staff", "--store", "corner-shop")  # fmt: skip
    assert "needs --store and --store-key" in cli(*staff, ok=False)
    assert "registered sam@corner.example (store staff)" in cli(*staff, "--store-key", key)
