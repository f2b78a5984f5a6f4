"""C2CSettlement on ape's in-process chain: each path, each refusal."""

import ape
import pytest

from .conftest import DAY, ORDER, SNAPSHOT

AMOUNT = 25_000_000


def status_of(settlement, key):
    return settlement.getSettlement(settlement.settlementId(key)).status


def test_open_freezes_funds_and_records_the_order(settlement, token, buyer, store, key):
    before = token.balanceOf(buyer)
    receipt = settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    assert token.balanceOf(settlement) == AMOUNT
    assert token.balanceOf(buyer) == before - AMOUNT
    [opened] = receipt.decode_logs(settlement.SettlementOpened)
    assert opened.store == store.address and opened.buyer == buyer.address
    assert opened.amount == AMOUNT and opened.snapshotHash == SNAPSHOT
    assert opened.deadline - opened.paidAt == 10 * DAY
    assert status_of(settlement, key) == 1  # Paid


def test_open_again_tops_up_or_refunds_and_keeps_the_id(settlement, token, buyer, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.open(key, AMOUNT + 5, SNAPSHOT, 0, sender=buyer)
    assert token.balanceOf(settlement) == AMOUNT + 5
    receipt = settlement.open(key, AMOUNT - 7, b"\x22" * 32, 0, sender=buyer)
    assert token.balanceOf(settlement) == AMOUNT - 7
    [updated] = receipt.decode_logs(settlement.SettlementUpdated)
    assert updated.id == settlement.settlementId(key)
    assert (updated.previousAmount, updated.amount) == (AMOUNT + 5, AMOUNT - 7)


def test_another_party_cannot_block_or_take_over_the_order(settlement, token, buyer, store, stranger, key):
    squat = (store.address, ORDER, stranger.address, stranger.address, token.address)
    settlement.open(squat, 1, SNAPSHOT, 0, sender=stranger)
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)   # not blocked
    assert settlement.settlementId(squat) != settlement.settlementId(key)
    with ape.reverts(settlement.NotPayer, caller=stranger.address, payer=buyer.address):
        settlement.open(key, 1, SNAPSHOT, 0, sender=stranger)
    with ape.reverts(settlement.NotBuyer):
        settlement.confirm(key, 0, sender=stranger)


def test_confirm_pays_the_store_what_is_due_and_the_payer_the_rest(settlement, token, buyer, store, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.ship(key, b"\x33" * 32, sender=store)
    store_before, buyer_before = token.balanceOf(store), token.balanceOf(buyer)
    receipt = settlement.confirm(key, AMOUNT - 1000, sender=buyer)
    assert token.balanceOf(store) == store_before + AMOUNT - 1000
    assert token.balanceOf(buyer) == buyer_before + 1000
    [done] = receipt.decode_logs(settlement.SettlementCompleted)
    assert (done.toStore, done.toPayer) == (AMOUNT - 1000, 1000)
    assert done.paymentRecord >= 1
    assert token.balanceOf(settlement) == 0
    with ape.reverts(settlement.InvalidStatus):
        settlement.confirm(key, 0, sender=buyer)


def test_confirm_cannot_exceed_the_frozen_amount(settlement, buyer, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    with ape.reverts(settlement.AmountExceedsFrozen, amount=AMOUNT + 1, frozen=AMOUNT):
        settlement.confirm(key, AMOUNT + 1, sender=buyer)


def test_release_waits_for_the_time_limit_then_pays_the_store(settlement, token, buyer, store, stranger, key, chain):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    with ape.reverts(settlement.TimeLimitNotReached):
        settlement.release(key, sender=stranger)
    chain.pending_timestamp += 10 * DAY
    before = token.balanceOf(store)
    settlement.release(key, sender=stranger)
    assert token.balanceOf(store) == before + AMOUNT
    assert status_of(settlement, key) == 5  # Released


def test_store_rejects_before_shipping_with_a_full_refund(settlement, token, buyer, store, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    before = token.balanceOf(buyer)
    settlement.reject(key, sender=store)
    assert token.balanceOf(buyer) == before + AMOUNT


def test_store_cannot_reject_after_shipping(settlement, buyer, store, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.ship(key, b"\x33" * 32, sender=store)
    with ape.reverts(settlement.InvalidStatus):
        settlement.reject(key, sender=store)


def test_dispute_stops_release_and_the_arbiter_splits(settlement, token, buyer, store, arbiter, stranger, key, chain):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.dispute(key, b"\x44" * 32, sender=buyer)
    chain.pending_timestamp += 11 * DAY
    with ape.reverts(settlement.InvalidStatus):
        settlement.release(key, sender=stranger)
    with ape.reverts(settlement.NotArbiter):
        settlement.resolve(key, 1, sender=stranger)
    store_before, buyer_before = token.balanceOf(store), token.balanceOf(buyer)
    settlement.resolve(key, AMOUNT // 4, sender=arbiter)
    assert token.balanceOf(store) == store_before + AMOUNT // 4
    assert token.balanceOf(buyer) == buyer_before + AMOUNT - AMOUNT // 4


def test_no_dispute_after_the_time_limit(settlement, buyer, key, chain):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    chain.pending_timestamp += 10 * DAY
    with ape.reverts(settlement.TimeLimitPassed):
        settlement.dispute(key, b"\x44" * 32, sender=buyer)


def test_third_party_payer_gets_the_refunds(settlement, token, buyer, store, stranger):
    key = (store.address, ORDER, buyer.address, stranger.address, token.address)
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=stranger)
    before = token.balanceOf(stranger)
    settlement.confirm(key, AMOUNT - 10, sender=buyer)
    assert token.balanceOf(stranger) == before + 10


@pytest.mark.parametrize("amount", [0, 2**96])
def test_amount_bounds(settlement, buyer, key, amount):
    with ape.reverts(settlement.InvalidAmount, amount=amount):
        settlement.open(key, amount, SNAPSHOT, 0, sender=buyer)


def test_time_limit_bounds(settlement, buyer, key):
    with ape.reverts(settlement.TimeLimitOutOfRange):
        settlement.open(key, AMOUNT, SNAPSHOT, 60, sender=buyer)


def test_token_must_be_allowed(project, settlement, owner, buyer, store):
    other = project.TestStablecoin.deploy(owner, sender=owner)
    key = (store.address, ORDER, buyer.address, buyer.address, other.address)
    with ape.reverts(settlement.TokenNotAllowed, token=other.address):
        settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)


def test_open_with_permit_needs_no_prior_approval(project, owner, arbiter, buyer, store, accounts):
    t = project.TestStablecoin.deploy(owner, sender=owner)
    s = project.C2CSettlement.deploy(owner, arbiter, 10 * DAY, 3600, 90 * DAY, sender=owner)
    s.setTokenAllowed(t, True, sender=owner)
    t.mint(buyer, AMOUNT, sender=owner)
    deadline = 2**40
    from eip712.messages import EIP712Message  # noqa: F401  (ape's typed-data signer)
    from eth_account.messages import encode_typed_data
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                       {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                       {"name": "deadline", "type": "uint256"}]},
        "primaryType": "Permit",
        "domain": {"name": "Test USD", "version": "1", "chainId": ape.chain.chain_id, "verifyingContract": t.address},
        "message": {"owner": buyer.address, "spender": s.address, "value": AMOUNT, "nonce": 0, "deadline": deadline},
    }
    sig = buyer.sign_message(encode_typed_data(full_message=typed))
    key = (store.address, ORDER, buyer.address, buyer.address, t.address)
    s.openWithPermit(key, AMOUNT, SNAPSHOT, 0, AMOUNT, deadline, sig.v, sig.r, sig.s, sender=buyer)
    assert t.balanceOf(s) == AMOUNT
