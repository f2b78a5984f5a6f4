"""Identity attested on chain with the Ethereum Attestation Service, deployed on anvil from the
npm package's compiled artifacts: the operator reviews a completed profile and attests a
salted hash of it with a level; the engine reads ``Attested`` / ``Revoked`` (fetching the
attestation at the log's block); revocation, expiry, a changed profile and a reorganisation
each end what the attestation vouches for."""

from __future__ import annotations

from api.client.holder import answer, sign_transaction
from engine.accounts.identity import decode_data
from tests.e2e.accounts import HOME, attest_account, bearer, new_account, sign_in
from tests.e2e.conftest import ADMIN_HEADERS, dev_account
from tests.e2e.exact import assert_exact

OPERATOR = dev_account(0)  # the deployer: the attester the deployment trusts by default


def completed(client, tmp_path) -> dict:
    new_account(client, tmp_path)
    headers = bearer(sign_in(client, tmp_path))
    client.patch("/accounts/me", json={"name": "Ada Lovelace"}, headers=headers)
    client.put("/accounts/me/addresses/home", json=HOME, headers=headers)
    return headers


def attest(client, service, level=1, valid_for=3600) -> dict:
    return attest_account(client, service, "ada@example.org", level, valid_for)


def identity(client) -> dict:
    return answer(client.get("/operator/accounts/ada@example.org", headers=ADMIN_HEADERS))["identity"]


def listed(client, service, state: str) -> dict[str, int]:
    """The operator's list of accounts in this state (once the views have caught up with the
    account's changes): each login with its level."""
    service.project()
    page = answer(client.get(f"/operator/accounts?state={state}", headers=ADMIN_HEADERS))
    return {a["login"]: a["level"] for a in page["accounts"]}


def pay_after_delivery(client, headers) -> list[str]:
    return client.get("/accounts/me/needs/pay_after_delivery", headers=headers).json()["missing"]


def test_the_operator_attests_a_salted_hash_and_revokes_it(client, service, chain, tmp_path):
    new_account(client, tmp_path, login="bob@example.org", phone="+44 7911 123459")
    headers = completed(client, tmp_path)
    review = identity(client)
    assert review["missing"] == [] and review["level"] == 0 and review["attestations"] == []
    # The operator's list: Ada is to review; Bob, with no name nor address yet, is incomplete.
    assert listed(client, service, "to_review") == {"ada@example.org": 0}
    assert "bob@example.org" in listed(client, service, "incomplete") and listed(client, service, "attested") == {}
    assert client.get("/operator/accounts").status_code == 401
    assert review["record"]["name"] == "Ada Lovelace" and review["record"]["phone"] == "+447911123456"
    assert pay_after_delivery(client, headers) == ["attested"]
    assert client.get("/operator/accounts/ada@example.org").status_code == 401

    built = attest(client, service)
    # On chain: the hash and the level, nothing of the person.
    data = built["transaction"]["data"].lower()
    for personal in ("Ada Lovelace", "447911123456", "High Street", "ada@example.org"):
        assert personal.encode().hex() not in data
    review = identity(client)
    [made] = review["attestations"]
    assert made["identity_hash"] == built["identity_hash"] == review["identity_hash"]
    assert made["level"] == review["level"] == 1 and not made["revoked"]
    assert made["attester"] == OPERATOR.address.lower() and made["expiration_time"] == built["expiration_time"]
    _, _, rpc = chain
    eas = service.manifest.contract("EAS")
    (onchain,) = eas.functions.decode_output(
        "getAttestation",
        rpc.call(
            "eth_call",
            {"to": eas.address, "data": eas.functions.encode("getAttestation", bytes.fromhex(made["uid"][2:]))},
            "latest",
        ),
    )
    assert decode_data(onchain[9]) == (built["identity_hash"], 1)
    assert pay_after_delivery(client, headers) == []
    assert listed(client, service, "attested") == {"ada@example.org": 1} and listed(client, service, "to_review") == {}

    # A changed profile is no longer the record attested; changed back, it is again.
    client.patch("/accounts/me", json={"name": "Augusta Ada King"}, headers=headers)
    assert pay_after_delivery(client, headers) == ["attested"]
    assert listed(client, service, "to_review") == {"ada@example.org": 0}
    client.patch("/accounts/me", json={"name": "Ada Lovelace"}, headers=headers)
    assert pay_after_delivery(client, headers) == []

    revoke = answer(
        client.post(
            "/operator/accounts/ada@example.org/attestation/revoke",
            json={"attester": OPERATOR.address, "uid": made["uid"]},
            headers=ADMIN_HEADERS,
        )
    )
    outcome = answer(client.post("/tx", json={"raw": sign_transaction(OPERATOR, revoke["transaction"]), "wait": 10}))
    assert outcome["status"] == "success", outcome
    service.step()
    review = identity(client)
    assert review["level"] == 0 and review["attestations"][0]["revoked"]
    assert pay_after_delivery(client, headers) == ["attested"]
    for view in (service.identity, service.accounts_view):
        live = view.snapshot()
        view.rebuild()
        assert view.snapshot() == live


def test_an_attestation_expires_and_only_trusted_attesters_count(client, service, chain, tmp_path, cli):
    headers = completed(client, tmp_path)
    stranger = client.post(
        "/operator/accounts/ada@example.org/attestation",
        json={"attester": dev_account(3).address, "level": 1},
        headers=ADMIN_HEADERS,
    )
    assert stranger.status_code == 422 and "not a trusted attester" in stranger.json()["detail"]
    # The attester signs from the command line with its own keystore.
    admin = {"ORDERCHAIN_ADMIN_TOKEN": ADMIN_HEADERS["Authorization"].split()[1]}
    for who, index in (("stranger", 3), ("operator", 0)):
        keystore = str(tmp_path / f"{who}.json")
        key = {"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(index).key.hex()}
        cli("wallet", "import", "--keystore", keystore, env=key)
    attest_ada = ("wallet", "attest", "ada@example.org", "--level", "2", "--valid-for", "600", "-y")
    assert "not a trusted attester" in cli(
        *attest_ada, "--keystore", str(tmp_path / "stranger.json"), env=admin, ok=False
    )
    out = cli(*attest_ada, "--keystore", str(tmp_path / "operator.json"), env=admin)
    assert "attest ada@example.org at level 2" in out and "Attested(" in out
    service.step()
    assert identity(client)["level"] == 2
    _, _, rpc = chain
    rpc.call("evm_increaseTime", 601)
    rpc.call("evm_mine")
    service.step()
    assert identity(client)["level"] == 0 and pay_after_delivery(client, headers) == ["attested"]


def test_a_reorganisation_that_drops_the_attestation_drops_it_from_the_view(client, service, chain, tmp_path):
    headers = completed(client, tmp_path)
    _, _, rpc = chain
    before = rpc.call("evm_snapshot")
    attest(client, service)
    assert identity(client)["level"] == 1
    rpc.call("evm_revert", before)
    for _ in range(3):
        rpc.call("evm_mine")
    service.step()
    review = identity(client)
    assert review["level"] == 0 and review["attestations"] == []
    assert pay_after_delivery(client, headers) == ["attested"]
    node, deployments, _ = chain
    assert_exact(service, node, deployments, tmp_path)
