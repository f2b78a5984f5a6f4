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


def pay_after_delivery(client, headers) -> list[str]:
    return client.get("/accounts/me/needs/pay_after_delivery", headers=headers).json()["missing"]


def test_the_operator_attests_a_salted_hash_and_revokes_it(client, service, chain, tmp_path):
    headers = completed(client, tmp_path)
    review = identity(client)
    assert review["missing"] == [] and review["level"] == 0 and review["attestations"] == []
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

    # A changed profile is no longer the record attested; changed back, it is again.
    client.patch("/accounts/me", json={"name": "Augusta Ada King"}, headers=headers)
    assert pay_after_delivery(client, headers) == ["attested"]
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
    live = service.identity.snapshot()
    service.identity.rebuild()
    assert service.identity.snapshot() == live


def test_an_attestation_expires_and_only_trusted_attesters_count(client, service, chain, tmp_path):
    headers = completed(client, tmp_path)
    stranger = client.post(
        "/operator/accounts/ada@example.org/attestation",
        json={"attester": dev_account(3).address, "level": 1},
        headers=ADMIN_HEADERS,
    )
    assert stranger.status_code == 422 and "not a trusted attester" in stranger.json()["detail"]
    attest(client, service, level=2, valid_for=600)
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
