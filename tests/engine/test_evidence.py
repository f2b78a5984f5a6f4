"""Order evidence as stories: a bundle the buyer signed checks out; any change is caught."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from siwe import SiweMessage

from engine.chain import typed_data
from engine.evidence import bundles as evidence
from engine.evidence import merkle

BUYER, OTHER, WITNESS = Account.create(), Account.create(), Account.create()
CONTRACT = "0x" + "6b" * 20
ISSUED = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
RISK = "If you do not pay the balance when production starts, your deposit is forfeit and you may be liable."


def sign_in(account) -> dict:
    text = SiweMessage(
        domain="shop.example",
        address=account.address,
        statement="Sign in to order",
        uri="https://shop.example/",
        version="1",
        chain_id=31337,
        nonce="n0nce12345",
        issued_at=ISSUED.isoformat().replace("+00:00", "Z"),
    ).prepare_message()
    return {"message": text, "signature": "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()}


def signed(account, typed: dict) -> dict:
    signable = typed_data.signable(typed)
    return {"typed_data": typed, "signature": "0x" + bytes(account.sign_message(signable).signature).hex()}


def make_bundle(signer=BUYER, buyer=BUYER, quantity: int = 3) -> dict:
    dom = evidence.domain(31337, CONTRACT)
    login = sign_in(signer)
    order = {
        "campaign_id": 7,
        "scheme": "color=red",
        "scheme_hash": "0x" + "5c" * 32,
        "term": 1,
        "quantity": quantity,
        "unit_price": "100000000",
        "deposit": "60000000",
        "buyer": buyer.address.lower(),
    }
    ack = signed(signer, evidence.acknowledgement_typed_data(dom, RISK, 7, buyer.address))
    conf = signed(signer, evidence.confirmation_typed_data(dom, order, RISK, login["message"]))
    deposit = {
        "campaign_id": 7,
        "backer": buyer.address.lower(),
        "tx_hash": "0x" + "ab" * 32,
        "block_number": 12,
        "confirmation_hash": evidence.digest(conf["typed_data"]),
    }
    return evidence.bundle(login, order, RISK, ack, conf, deposit)


def test_a_bundle_the_buyer_signed_checks_out():
    report = evidence.check(make_bundle(), now=ISSUED + timedelta(minutes=5), max_sign_in_age=900)
    assert report["ok"], report["problems"]
    assert report["buyer"] == BUYER.address.lower()
    assert all(report["checks"].values()) and set(report["checks"]) == {
        "sign_in",
        "sign_in_fresh",
        "risk_notice",
        "acknowledgement",
        "confirmation",
        "deposit",
    }


def test_the_hash_is_of_canonical_json_so_key_order_does_not_matter():
    b = make_bundle()
    shuffled = {k: b[k] for k in reversed(list(b))}
    assert evidence.hash_of(shuffled) == evidence.hash_of(b)
    assert evidence.canonical({"b": 1, "a": "x"}) == b'{"a":"x","b":1}'


@pytest.mark.parametrize(
    "path, value, failing",
    [
        (("order", "quantity"), 4, "confirmation"),
        (("order", "unit_price"), "90000000", "confirmation"),
        (("risk_notice", "text"), RISK + " ", "risk_notice"),
        (("sign_in", "message"), None, "sign_in"),
        (("deposit", "confirmation_hash"), "0x" + "00" * 32, "deposit"),
        (("acknowledgement", "signature"), None, "acknowledgement"),
    ],
)
def test_a_changed_byte_anywhere_is_caught(path, value, failing):
    b = make_bundle()
    original = evidence.hash_of(b)
    changed = copy.deepcopy(b)
    part, key = path
    if value is None:  # flip one character of the text
        text = changed[part][key]
        value = text[:-3] + ("0" if text[-3] != "0" else "1") + text[-2:]
    changed[part][key] = value
    report = evidence.check(changed)
    assert report["hash"] != original
    assert not report["ok"] and report["checks"][failing] is False, report


def test_signatures_of_another_account_are_not_the_buyers():
    report = evidence.check(make_bundle(signer=OTHER, buyer=BUYER))
    assert not report["ok"]
    assert [k for k, v in report["checks"].items() if not v] == ["sign_in", "acknowledgement", "confirmation"]


def test_a_stale_sign_in_is_flagged():
    report = evidence.check(make_bundle(), now=ISSUED + timedelta(hours=2), max_sign_in_age=900)
    assert report["checks"]["sign_in_fresh"] is False and "fresh" in report["problems"][0]


def test_the_witness_seal_and_the_merkle_proof_bind_the_bundle_hash():
    hashes = [evidence.hash_of(make_bundle(quantity=q)) for q in range(1, 6)]  # five orders
    seal = evidence.seal(hashes[2], WITNESS)
    assert evidence.seal_signer(hashes[2], seal) == WITNESS.address.lower()
    assert evidence.seal_signer(hashes[3], seal) != WITNESS.address.lower()
    root = merkle.root(hashes)
    assert all(merkle.root_of(h, merkle.proof(hashes, i)) == root for i, h in enumerate(hashes))
    assert len(set(hashes)) == 5 and merkle.root_of(hashes[1], merkle.proof(hashes, 2)) != root


def test_a_proof_folds_by_hand_as_the_readme_says():
    # Given five bundle hashes, When the proof of the fourth is folded by hand (the leaf is
    # keccak256 of the 32 bytes, each pair hashed smaller first), Then each step is the fold's
    # and the last is the root.
    from eth_utils import keccak

    hashes = [evidence.hash_of(make_bundle(quantity=q)) for q in range(1, 6)]
    proof = merkle.proof(hashes, 3)
    node = keccak(bytes.fromhex(hashes[3][2:]))
    by_hand = ["0x" + node.hex()]
    for sibling in proof:
        node = keccak(b"".join(sorted((node, bytes.fromhex(sibling[2:])))))
        by_hand.append("0x" + node.hex())
    assert merkle.fold(hashes[3], proof) == by_hand and by_hand[-1] == merkle.root(hashes) and len(proof) == 3
