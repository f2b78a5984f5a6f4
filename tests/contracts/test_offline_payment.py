"""OfflinePayment on ape's in-process chain: a mandate the buyer signs without a transaction,
shipments verified then collected straight to the store, and every way a party might try to
take more: collecting twice, over the maximum, before verification, after revocation or
expiry, for another store, with an alarm open; a withdrawn allowance is a default."""

import ape
import pytest
from eth_account.messages import encode_typed_data

from engine.delivery.mandate import FIELDS, mandate_id, typed_data

NONE, VERIFIED, COLLECTED, DEFAULTED, CANCELLED = range(5)
WAYBILL = b"\x57" * 32
CATEGORY = b"\xca" * 32
REASON = b"\x44" * 32
ORDER = b"\x0d" * 32


def index(n: int) -> int:
    return n


def ref(n: int) -> bytes:
    """The engine's reference of a shipment (the contract numbers them 1, 2 ...)."""
    return (1000 + n).to_bytes(32, "big")


@pytest.fixture(scope="module")
def verifier(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def operator(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def payment(project, owner, verifier, operator, token, accounts):
    p = project.OfflinePayment.deploy(owner, verifier, operator, sender=owner)
    p.setTokenAllowed(token, True, sender=owner)
    for account in accounts[:8]:
        token.approve(p, 2**256 - 1, sender=account)
    return p


def mandate(buyer, store, token, max_amount=100_000_000, valid_for=30 * 86_400, nonce=1) -> tuple:
    return (buyer.address, store.address, token.address, max_amount, ORDER, ape.chain.pending_timestamp + valid_for, nonce)


def as_dict(m: tuple) -> dict:
    return dict(zip([n for n, _ in FIELDS], m))


def signed(payment, signer, m: tuple) -> bytes:
    """The buyer's signature of the typed data the engine hands out, as its wallet makes it."""
    typed = typed_data(ape.chain.chain_id, payment.address, as_dict(m))
    sig = signer.sign_message(encode_typed_data(full_message=typed))
    return sig.encode_rsv()  # r and s padded to 32 bytes each (short when they begin with a zero byte)


def test_the_engine_knows_a_mandates_id_before_anything_is_on_chain(payment, token, buyer, store):
    m = mandate(buyer, store, token, nonce=77)
    assert mandate_id(ape.chain.chain_id, payment.address, as_dict(m)) == "0x" + payment.mandateId(m).hex()


def verify(payment, verifier, m, sig, n, amount):
    return payment.verify(m, sig, ref(n), amount, WAYBILL, CATEGORY, sender=verifier)


def test_a_verified_shipment_is_collected_once_straight_to_the_store(payment, token, buyer, store, verifier, stranger):
    m = mandate(buyer, store, token)
    sig = signed(payment, buyer, m)
    with ape.reverts(payment.NotCollectable):  # nothing is collectable before its verification
        payment.collect(m, index(1), sender=store)
    receipt = verify(payment, verifier, m, sig, 1, 60_000_000)
    [registered] = receipt.decode_logs(payment.MandateRegistered)
    assert (registered.buyer, registered.store, registered.maxAmount) == (buyer.address, store.address, 100_000_000)
    assert registered.mandateId == payment.mandateId(m)
    buyer_before, store_before = token.balanceOf(buyer), token.balanceOf(store)
    receipt = payment.collect(m, index(1), sender=stranger)  # anyone may: it only pays the store
    [log] = receipt.decode_logs(payment.Collected)
    assert (log.store, log.amount, log.credited) == (store.address, 60_000_000, False)
    assert token.balanceOf(buyer) == buyer_before - 60_000_000
    assert token.balanceOf(store) == store_before + 60_000_000
    assert token.balanceOf(payment) == 0  # nothing is held here
    assert payment.shipment(payment.mandateId(m), index(1)).status == COLLECTED
    with ape.reverts(payment.NotCollectable):
        payment.collect(m, index(1), sender=store)  # never twice


def test_never_more_than_the_maximum_across_shipments_numbered_in_turn(payment, token, buyer, store, verifier):
    m = mandate(buyer, store, token, nonce=2)
    sig = signed(payment, buyer, m)
    receipt = verify(payment, verifier, m, sig, 1, 70_000_000)
    [log] = receipt.decode_logs(payment.ShipmentVerified)
    assert (log.index, log.shipmentRef, log.amount) == (1, ref(1), 70_000_000)
    with ape.reverts(payment.OverMandate, total=110_000_000, maxAmount=100_000_000):
        verify(payment, verifier, m, sig, 2, 40_000_000)
    receipt = verify(payment, verifier, m, b"", 2, 30_000_000)  # the signature was checked once, at the first
    assert receipt.decode_logs(payment.ShipmentVerified)[0].index == 2
    with ape.reverts(payment.ZeroAmount):
        verify(payment, verifier, m, b"", 3, 0)
    mid = payment.mandateId(m)
    assert payment.mandate(mid).verified == 100_000_000 and payment.mandate(mid).shipments == 2
    payment.collect(m, 2, sender=store)  # the second, kept apart from the first, collected alone
    assert payment.shipment(mid, 1).status == VERIFIED and payment.shipment(mid, 2).status == COLLECTED
    with ape.reverts(payment.NotCollectable):
        payment.collect(m, 3, sender=store)  # a shipment never verified


def test_only_the_verifier_verifies_only_the_buyers_signature_counts(payment, token, buyer, store, verifier, stranger):
    m = mandate(buyer, store, token, nonce=3)
    with ape.reverts(payment.NotVerifier):
        verify(payment, stranger, m, signed(payment, buyer, m), 1, 1)
    with ape.reverts(payment.BadSignature):
        verify(payment, verifier, m, signed(payment, stranger, m), 1, 1)


def test_the_verifier_cannot_pay_anyone_but_the_mandates_store(payment, token, buyer, store, verifier, stranger):
    m = mandate(buyer, store, token, nonce=4)
    sig = signed(payment, buyer, m)
    # The same signature over a mandate naming another store checks out as nobody's.
    elsewhere = (m[0], stranger.address, *m[2:])
    with ape.reverts(payment.BadSignature):
        verify(payment, verifier, elsewhere, sig, 1, 1_000_000)
    verify(payment, verifier, m, sig, 1, 1_000_000)
    with ape.reverts(payment.NotCollectable):  # another store's mandate id: nothing verified there
        payment.collect(elsewhere, index(1), sender=stranger)


def test_the_buyer_revokes_before_the_first_verification_not_after(payment, token, buyer, store, verifier, stranger):
    m = mandate(buyer, store, token, nonce=5)
    sig = signed(payment, buyer, m)
    with ape.reverts(payment.NotBuyer):
        payment.revoke(m, sender=stranger)
    payment.revoke(m, sender=buyer)
    with ape.reverts(payment.MandateNotOpen):
        verify(payment, verifier, m, sig, 1, 1)
    used = mandate(buyer, store, token, nonce=6)
    verify(payment, verifier, used, signed(payment, buyer, used), 1, 1)
    with ape.reverts(payment.MandateInUse):
        payment.revoke(used, sender=buyer)


def test_nothing_moves_after_valid_until(payment, token, buyer, store, verifier):
    m = mandate(buyer, store, token, valid_for=100, nonce=7)
    sig = signed(payment, buyer, m)
    verify(payment, verifier, m, sig, 1, 5_000_000)
    ape.chain.mine(1, timestamp=m[5] + 1)
    with ape.reverts(payment.MandateExpired):
        payment.collect(m, index(1), sender=store)
    with ape.reverts(payment.MandateExpired):
        verify(payment, verifier, m, sig, 2, 1)


def test_an_open_alarm_blocks_collection_until_the_operator_clears_it(
    payment, token, buyer, store, verifier, operator, stranger
):
    m = mandate(buyer, store, token, nonce=8)
    sig = signed(payment, buyer, m)
    mid = payment.mandateId(m)
    verify(payment, verifier, m, sig, 1, 10_000_000)
    verify(payment, verifier, m, sig, 2, 20_000_000)
    payment.raiseAlarm(mid, index(2), REASON, sender=verifier)
    with ape.reverts(payment.AlarmOpen):  # every collection of the mandate waits
        payment.collect(m, index(1), sender=store)
    with ape.reverts(payment.AlreadyAlarmed):
        payment.raiseAlarm(mid, index(2), REASON, sender=verifier)
    with ape.reverts(payment.NotOperator):
        payment.clearAlarm(mid, index(2), True, REASON, sender=stranger)
    with ape.reverts(payment.NotVerifier):
        payment.raiseAlarm(mid, index(1), REASON, sender=store)
    payment.clearAlarm(mid, index(2), False, REASON, sender=operator)  # the wrong goods: cancelled
    assert payment.shipment(mid, index(2)).status == CANCELLED
    assert payment.mandate(mid).verified == 10_000_000  # the cancelled amount no longer counts
    with ape.reverts(payment.NotCollectable):
        payment.collect(m, index(2), sender=store)
    payment.collect(m, index(1), sender=store)
    # An alarm cleared to proceed lets its shipment be collected.
    verify(payment, verifier, m, sig, 3, 5_000_000)
    payment.raiseAlarm(mid, index(3), REASON, sender=verifier)
    payment.clearAlarm(mid, index(3), True, REASON, sender=operator)
    payment.collect(m, index(3), sender=store)
    with ape.reverts(payment.NotAlarmable):
        payment.raiseAlarm(mid, index(3), REASON, sender=verifier)
    with ape.reverts(payment.NoAlarm):
        payment.clearAlarm(mid, index(3), True, REASON, sender=operator)


def test_an_alarm_on_the_mandate_holds_everything_back_and_may_cancel_it(
    payment, token, buyer, store, verifier, operator
):
    m = mandate(buyer, store, token, nonce=9)
    sig = signed(payment, buyer, m)
    mid = payment.mandateId(m)
    verify(payment, verifier, m, sig, 1, 1_000_000)
    payment.raiseAlarm(mid, 0, REASON, sender=verifier)  # another shipment's waybill does not match
    with ape.reverts(payment.AlarmOpen):
        verify(payment, verifier, m, sig, 2, 1_000_000)
    with ape.reverts(payment.AlarmOpen):
        payment.collect(m, 1, sender=store)
    with ape.reverts(payment.NotAlarmable):
        payment.raiseAlarm(mid, 5, REASON, sender=verifier)  # no such shipment
    payment.clearAlarm(mid, 0, True, REASON, sender=operator)
    verify(payment, verifier, m, sig, 2, 1_000_000)
    payment.raiseAlarm(mid, 0, REASON, sender=verifier)
    payment.clearAlarm(mid, 0, False, REASON, sender=operator)  # the order is called off
    with ape.reverts(payment.MandateNotOpen):
        payment.collect(m, 1, sender=store)
    with ape.reverts(payment.MandateNotOpen):
        verify(payment, verifier, m, sig, 3, 1)
    other = mandate(buyer, store, token, nonce=11)
    payment.raiseAlarm(payment.mandateId(other), 0, REASON, sender=verifier)  # before any verification
    with ape.reverts(payment.AlarmOpen):
        verify(payment, verifier, other, signed(payment, buyer, other), 1, 1)


def test_a_withdrawn_allowance_is_a_default_not_a_retry(payment, token, buyer, store, verifier):
    m = mandate(buyer, store, token, nonce=10)
    sig = signed(payment, buyer, m)
    verify(payment, verifier, m, sig, 1, 3_000_000)
    token.approve(payment, 0, sender=buyer)
    store_before = token.balanceOf(store)
    receipt = payment.collect(m, index(1), sender=store)
    [log] = receipt.decode_logs(payment.CollectionDefaulted)
    assert (log.buyer, log.amount) == (buyer.address, 3_000_000)
    assert token.balanceOf(store) == store_before
    assert payment.shipment(payment.mandateId(m), index(1)).status == DEFAULTED
    token.approve(payment, 2**256 - 1, sender=buyer)
    with ape.reverts(payment.NotCollectable):  # ended: the engine raises the alarm, nothing retries
        payment.collect(m, index(1), sender=store)


def test_a_store_the_token_refuses_is_credited_and_claims_later(project, payment, owner, buyer, store, verifier, accounts):
    blocking = project.TestBlocklistToken.deploy(owner, sender=owner)
    payment.setTokenAllowed(blocking, True, sender=owner)
    blocking.mint(buyer, 10**12, sender=owner)
    blocking.approve(payment, 2**256 - 1, sender=buyer)
    m = (buyer.address, store.address, blocking.address, 50_000_000, ORDER, ape.chain.pending_timestamp + 86_400, 1)
    verify(payment, verifier, m, signed(payment, buyer, m), 1, 8_000_000)
    blocking.setBlocked(store, True, sender=owner)
    receipt = payment.collect(m, index(1), sender=accounts[7])
    [log] = receipt.decode_logs(payment.Collected)
    assert log.credited and payment.credits(blocking, store) == 8_000_000
    payment.claimCredit(blocking, accounts[7], sender=store)
    assert blocking.balanceOf(accounts[7]) == 8_000_000


def test_an_unlisted_token_and_the_owners_roles(project, payment, owner, buyer, store, verifier, stranger):
    other = project.TestStablecoin.deploy(owner, sender=owner)
    m = (buyer.address, store.address, other.address, 1, ORDER, ape.chain.pending_timestamp + 86_400, 1)
    with ape.reverts(payment.TokenNotAllowed):
        verify(payment, verifier, m, signed(payment, buyer, m), 1, 1)
    with ape.reverts():
        payment.setVerifier(stranger, sender=stranger)
    payment.setVerifier(stranger, sender=owner)
    assert payment.verifier() == stranger.address
    payment.setVerifier(verifier, sender=owner)
