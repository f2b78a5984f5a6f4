"""C2CSettlement on ape's in-process chain: each path, each refusal, and the races."""

import ape
import pytest
from ape.exceptions import ContractLogicError
from eth_account.messages import encode_typed_data

from .conftest import DAY, ORDER, SNAPSHOT

AMOUNT = 25_000_000
WAYBILL = b"\x33" * 32
REASON = b"\x44" * 32
PAID, SHIPPED, CLAIMED, DISPUTED, COMPLETED, RELEASED, REJECTED, RESOLVED = range(1, 9)
CONFIRMED, CLAIM_ACCEPTED, CLAIM_EXECUTED, AGREED, ARBITRATED, LAPSED = range(6)


def state(settlement, key):
    return settlement.getSettlement(key)[1]


def ship(settlement, key, store, amount=AMOUNT, snapshot=SNAPSHOT):
    return settlement.ship(key, WAYBILL, amount, snapshot, sender=store)


def agreement(settlement, key, signer, to_store, deadline=2**40) -> bytes:
    """``signer``'s EIP-712 signature of the split, as a wallet makes it."""
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Agreement": [{"name": "settlementId", "type": "bytes32"}, {"name": "toStore", "type": "uint256"},
                          {"name": "deadline", "type": "uint256"}]},
        "primaryType": "Agreement",
        "domain": {"name": "C2CSettlement", "version": "1", "chainId": ape.chain.chain_id,
                   "verifyingContract": settlement.address},
        "message": {"settlementId": settlement.settlementId(key), "toStore": to_store, "deadline": deadline},
    }
    sig = signer.sign_message(encode_typed_data(full_message=typed))
    return sig.encode_rsv()  # r and s padded to 32 bytes each (short when they begin with a zero byte)


def payout(receipt, settlement, event):
    [log] = receipt.decode_logs(getattr(settlement, event))
    return log


# -- opening and updating

def test_open_freezes_funds_and_records_the_order(settlement, token, buyer, store, key):
    before = token.balanceOf(buyer)
    receipt = settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    assert token.balanceOf(settlement) == AMOUNT and token.balanceOf(buyer) == before - AMOUNT
    opened = payout(receipt, settlement, "SettlementOpened")
    assert (opened.store, opened.payer, opened.buyer) == (store.address, buyer.address, buyer.address)
    assert opened.amount == AMOUNT and opened.snapshotHash == SNAPSHOT
    assert opened.deadline - opened.paidAt == 10 * DAY
    assert state(settlement, key).status == PAID
    assert settlement.SettlementOpened.abi.inputs[2].indexed and settlement.SettlementOpened.abi.inputs[2].name == "payer"


def test_open_again_tops_up_or_refunds_and_keeps_the_id(settlement, token, buyer, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.open(key, AMOUNT + 5, SNAPSHOT, 0, sender=buyer)
    assert token.balanceOf(settlement) == AMOUNT + 5
    receipt = settlement.open(key, AMOUNT - 7, b"\x22" * 32, 0, sender=buyer)
    assert token.balanceOf(settlement) == AMOUNT - 7
    updated = payout(receipt, settlement, "SettlementUpdated")
    assert updated.id == settlement.settlementId(key)
    assert (updated.previousAmount, updated.amount) == (AMOUNT + 5, AMOUNT - 7)


def test_an_update_keeps_the_time_limit_and_never_moves_the_deadline_into_the_past(settlement, buyer, key, chain):
    opened = payout(settlement.open(key, AMOUNT, SNAPSHOT, 30 * DAY, sender=buyer), settlement, "SettlementOpened")
    updated = payout(settlement.open(key, AMOUNT + 1, SNAPSHOT, 0, sender=buyer), settlement, "SettlementUpdated")
    assert updated.deadline == opened.deadline   # a top-up with the default keeps the 30 days
    chain.pending_timestamp += 12 * DAY
    with ape.reverts(settlement.TimeLimitPassed):
        settlement.open(key, AMOUNT + 2, SNAPSHOT, 10 * DAY, sender=buyer)   # would be releasable at once
    updated = payout(settlement.open(key, AMOUNT + 2, SNAPSHOT, 20 * DAY, sender=buyer), settlement,
                     "SettlementUpdated")
    assert updated.deadline == opened.paidAt + 20 * DAY


def test_another_party_cannot_block_or_take_over_the_order(settlement, token, buyer, store, stranger, key):
    squat = (store.address, ORDER, stranger.address, stranger.address, token.address)
    settlement.open(squat, 1, SNAPSHOT, 0, sender=stranger)
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)   # not blocked
    assert settlement.settlementId(squat) != settlement.settlementId(key)
    with ape.reverts(settlement.NotPayer, caller=stranger.address, payer=buyer.address):
        settlement.open(key, 1, SNAPSHOT, 0, sender=stranger)
    with ape.reverts(settlement.NotBuyer):
        settlement.confirm(key, sender=stranger)


def test_a_closed_settlement_does_not_block_a_new_one(settlement, token, buyer, store, key):
    first = settlement.settlementId(key)
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.reject(key, sender=store)
    assert settlement.openSettlementId(key) != first
    receipt = settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    opened = payout(receipt, settlement, "SettlementOpened")
    assert opened.id != first and opened.id == settlement.settlementId(key)
    assert state(settlement, key).status == PAID and state(settlement, key).round == 1
    settlement.confirm(key, sender=buyer)
    assert token.balanceOf(settlement) == 0


# -- shipping

def test_shipping_commits_to_the_amount_and_snapshot_the_store_saw(settlement, buyer, store, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.open(key, 1, SNAPSHOT, 0, sender=buyer)   # the payer cuts the amount just before the shipment
    with ape.reverts(settlement.TermsChanged):
        ship(settlement, key, store)
    settlement.open(key, AMOUNT, b"\x99" * 32, 0, sender=buyer)
    with ape.reverts(settlement.TermsChanged):
        ship(settlement, key, store)   # same amount, another snapshot
    ship(settlement, key, store, AMOUNT, b"\x99" * 32)
    with ape.reverts(settlement.InvalidStatus):
        settlement.reject(key, sender=store)   # shipped: no plain rejection any more


def test_store_rejects_before_shipping_with_a_full_refund(settlement, token, buyer, store, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    before = token.balanceOf(buyer)
    settlement.reject(key, sender=store)
    assert token.balanceOf(buyer) == before + AMOUNT


# -- the buyer: full confirmation, claims

def test_a_full_confirmation_pays_the_store_at_once(settlement, token, buyer, store, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    ship(settlement, key, store)
    before = token.balanceOf(store)
    done = payout(settlement.confirm(key, sender=buyer), settlement, "SettlementCompleted")
    assert (done.toStore, done.toPayer, done.ending) == (AMOUNT, 0, CONFIRMED) and done.paymentRecord >= 1
    assert token.balanceOf(store) == before + AMOUNT and token.balanceOf(settlement) == 0
    with ape.reverts(settlement.InvalidStatus):
        settlement.confirm(key, sender=buyer)


def test_a_lower_amount_is_a_claim_the_store_accepts(settlement, token, buyer, store, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    ship(settlement, key, store)
    with ape.reverts(settlement.AmountExceedsFrozen):
        settlement.claim(key, AMOUNT, REASON, sender=buyer)   # the full amount is a confirmation
    claimed = payout(settlement.claim(key, AMOUNT - 1000, REASON, sender=buyer), settlement, "ClaimOpened")
    assert claimed.amountDue == AMOUNT - 1000 and state(settlement, key).status == CLAIMED
    with ape.reverts(settlement.InvalidStatus):
        settlement.release(key, sender=store)
    store_before, buyer_before = token.balanceOf(store), token.balanceOf(buyer)
    done = payout(settlement.acceptClaim(key, sender=store), settlement, "SettlementCompleted")
    assert (done.toStore, done.toPayer, done.ending) == (AMOUNT - 1000, 1000, CLAIM_ACCEPTED)
    assert token.balanceOf(store) == store_before + AMOUNT - 1000 and token.balanceOf(buyer) == buyer_before + 1000


def test_a_claim_the_store_leaves_unanswered_is_executed_by_anyone_after_the_window(
        settlement, token, buyer, store, stranger, key, chain):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.claim(key, 0, REASON, sender=buyer)
    with ape.reverts(settlement.WindowOpen):
        settlement.executeClaim(key, sender=stranger)
    chain.pending_timestamp += 7 * DAY
    done = payout(settlement.executeClaim(key, sender=stranger), settlement, "SettlementCompleted")
    assert (done.toStore, done.toPayer, done.ending) == (0, AMOUNT, CLAIM_EXECUTED)


def test_after_the_time_limit_only_a_full_confirmation_or_a_release(settlement, token, buyer, store, stranger, key,
                                                                     chain):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    ship(settlement, key, store)
    chain.pending_timestamp += 10 * DAY
    with ape.reverts(settlement.TimeLimitPassed):
        settlement.claim(key, 0, REASON, sender=buyer)   # the old confirm(key, 0) front-running the keeper
    with ape.reverts(settlement.TimeLimitPassed):
        settlement.dispute(key, 0, REASON, sender=buyer)
    with ape.reverts(settlement.TimeLimitPassed):
        settlement.settle(key, 0, 2**40, agreement(settlement, key, store, 0), b"", sender=buyer)
    before = token.balanceOf(store)
    settlement.release(key, sender=stranger)
    assert token.balanceOf(store) == before + AMOUNT


def test_a_store_signed_agreement_completes_in_the_same_call(settlement, token, buyer, store, stranger, key):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    with ape.reverts(settlement.BadSignature, signer=store.address):
        settlement.settle(key, 5, 2**40, agreement(settlement, key, stranger, 5), b"", sender=buyer)
    with ape.reverts(settlement.BadSignature, signer=buyer.address):
        settlement.settle(key, 5, 2**40, b"", b"", sender=store)   # never one party alone
    with ape.reverts(settlement.AgreementExpired):
        settlement.settle(key, 5, 1, agreement(settlement, key, store, 5, 1), b"", sender=buyer)
    done = payout(settlement.settle(key, 5, 2**40, agreement(settlement, key, store, 5), b"", sender=buyer),
                  settlement, "SettlementCompleted")
    assert (done.toStore, done.toPayer, done.ending) == (5, AMOUNT - 5, AGREED)


# -- disputes

def test_a_contested_claim_goes_to_the_arbiter(settlement, token, buyer, store, arbiter, stranger, key, chain):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.claim(key, 1000, REASON, sender=buyer)
    raised = payout(settlement.contestClaim(key, REASON, sender=store), settlement, "DisputeRaised")
    assert (raised.by, raised.proposedToStore, raised.arbiter) == (store.address, 1000, arbiter.address)
    chain.pending_timestamp += 11 * DAY
    with ape.reverts(settlement.InvalidStatus):
        settlement.release(key, sender=stranger)
    with ape.reverts(settlement.NotArbiter):
        settlement.resolve(key, 1, sender=stranger)
    done = payout(settlement.resolve(key, AMOUNT // 4, sender=arbiter), settlement, "DisputeResolved")
    assert (done.toStore, done.toPayer, done.ending) == (AMOUNT // 4, AMOUNT - AMOUNT // 4, ARBITRATED)


@pytest.mark.parametrize("ending", ["both sign", "store concedes", "buyer withdraws", "arbiter silent"])
def test_a_dispute_never_ends_by_one_party_alone(settlement, token, buyer, store, stranger, key, chain, ending):
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    ship(settlement, key, store)
    settlement.dispute(key, 10_000_000, REASON, sender=buyer)
    with ape.reverts(settlement.BadSignature):
        settlement.settle(key, AMOUNT, 2**40, b"", b"", sender=store)
    with ape.reverts(settlement.InvalidStatus):
        settlement.claim(key, 0, REASON, sender=buyer)
    if ending == "both sign":
        receipt = settlement.settle(key, 20_000_000, 2**40, agreement(settlement, key, store, 20_000_000),
                                    agreement(settlement, key, buyer, 20_000_000), sender=stranger)
        expected = ("DisputeResolved", 20_000_000, AGREED)
    elif ending == "store concedes":
        receipt = settlement.reject(key, sender=store)
        expected = ("SettlementRejected", 0, None)
    elif ending == "buyer withdraws":
        receipt = settlement.confirm(key, sender=buyer)
        expected = ("SettlementCompleted", AMOUNT, CONFIRMED)
    else:
        with ape.reverts(settlement.WindowOpen):
            settlement.endLapsedDispute(key, sender=stranger)
        chain.pending_timestamp += 30 * DAY
        receipt = settlement.endLapsedDispute(key, sender=stranger)
        expected = ("DisputeResolved", 10_000_000 + (AMOUNT - 10_000_000) // 2, LAPSED)
    log = payout(receipt, settlement, expected[0])
    assert getattr(log, "toStore", 0) == expected[1]
    if expected[2] is not None:
        assert log.ending == expected[2]
    assert token.balanceOf(settlement) == 0


def test_the_arbiter_cannot_be_swapped_in_the_middle_of_a_dispute(settlement, owner, token, buyer, store, arbiter,
                                                                   stranger, accounts, chain):
    newcomer = accounts[5]
    key = (store.address, ORDER, buyer.address, buyer.address, token.address)
    other = (store.address, b"B-2".ljust(32, b"\0"), buyer.address, buyer.address, token.address)
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.open(other, AMOUNT, SNAPSHOT, 0, sender=buyer)
    settlement.dispute(key, 0, REASON, sender=buyer)
    announced = payout(settlement.announceArbiter(newcomer, sender=owner), settlement, "ArbiterAnnounced")
    assert settlement.arbiter() == arbiter.address   # not before the delay
    chain.pending_timestamp += 3 * DAY
    assert settlement.arbiter() == newcomer.address and announced.effectiveFrom <= chain.pending_timestamp
    with ape.reverts(settlement.NotArbiter, caller=newcomer.address, arbiter=arbiter.address):
        settlement.resolve(key, 0, sender=newcomer)   # the dispute raised before stays with its arbiter
    settlement.resolve(key, 0, sender=arbiter)
    settlement.dispute(other, 0, REASON, sender=buyer)
    with ape.reverts(settlement.NotArbiter):
        settlement.resolve(other, 0, sender=arbiter)
    settlement.resolve(other, 0, sender=newcomer)
    with ape.reverts():
        settlement.announceArbiter(stranger, sender=stranger)


# -- hostile tokens

@pytest.fixture
def blocklist(project, owner, settlement, accounts):
    t = project.TestBlocklistToken.deploy(owner, sender=owner)
    settlement.setTokenAllowed(t, True, sender=owner)
    for account in accounts[:8]:
        t.mint(account, 10**12, sender=owner)
        t.approve(settlement, 2**256 - 1, sender=account)
    return t


def test_a_blocklisted_store_never_locks_the_money(settlement, blocklist, owner, buyer, store, stranger, accounts):
    key = (store.address, ORDER, buyer.address, buyer.address, blocklist.address)
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    ship(settlement, key, store)
    settlement.claim(key, 20_000_000, REASON, sender=buyer)
    blocklist.setBlocked(store, True, sender=owner)
    buyer_before = blocklist.balanceOf(buyer)
    receipt = settlement.acceptClaim(key, sender=store)
    credited = payout(receipt, settlement, "PayoutCredited")
    assert (credited.recipient, credited.amount) == (store.address, 20_000_000)
    assert blocklist.balanceOf(buyer) == buyer_before + 5_000_000   # the payer's share paid as usual
    assert settlement.credits(blocklist, store) == 20_000_000
    elsewhere = accounts[6]
    before = blocklist.balanceOf(elsewhere)
    settlement.claimCredit(blocklist, elsewhere, sender=store)
    assert blocklist.balanceOf(elsewhere) == before + 20_000_000 and settlement.credits(blocklist, store) == 0
    with ape.reverts(settlement.NothingToClaim):
        settlement.claimCredit(blocklist, elsewhere, sender=store)


def test_a_blocklisted_payer_is_credited_and_the_store_paid(settlement, blocklist, owner, buyer, store, chain):
    key = (store.address, ORDER, buyer.address, buyer.address, blocklist.address)
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)
    blocklist.setBlocked(buyer, True, sender=owner)
    store_before = blocklist.balanceOf(store)
    settlement.reject(key, sender=store)
    assert settlement.credits(blocklist, buyer) == AMOUNT
    assert blocklist.balanceOf(store) == store_before


def test_a_token_that_delivers_less_than_sent_is_refused(project, settlement, owner, buyer, store):
    fee = project.TestFeeToken.deploy(owner, sender=owner)
    settlement.setTokenAllowed(fee, True, sender=owner)
    fee.mint(buyer, 10**12, sender=owner)
    fee.approve(settlement, 2**256 - 1, sender=buyer)
    key = (store.address, ORDER, buyer.address, buyer.address, fee.address)
    with ape.reverts(settlement.TransferShortfall, token=fee.address, sent=AMOUNT, received=AMOUNT - AMOUNT // 100):
        settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)


# -- bounds

def test_third_party_payer_gets_the_refunds(settlement, token, buyer, store, stranger):
    key = (store.address, ORDER, buyer.address, stranger.address, token.address)
    settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=stranger)
    settlement.claim(key, AMOUNT - 10, REASON, sender=buyer)
    before = token.balanceOf(stranger)
    settlement.acceptClaim(key, sender=store)
    assert token.balanceOf(stranger) == before + 10


@pytest.mark.parametrize("amount", [0, 2**96])
def test_amount_bounds(settlement, buyer, key, amount):
    with ape.reverts(settlement.InvalidAmount, amount=amount):
        settlement.open(key, amount, SNAPSHOT, 0, sender=buyer)


def test_time_limit_and_window_bounds(project, settlement, owner, arbiter, buyer, key):
    with ape.reverts(settlement.TimeLimitOutOfRange):
        settlement.open(key, AMOUNT, SNAPSHOT, 60, sender=buyer)
    with pytest.raises(ContractLogicError) as refused:   # a maximum time limit of more than a year
        project.C2CSettlement.deploy(owner, arbiter, 10 * DAY, 3600, 366 * DAY, 7 * DAY, 30 * DAY, 3 * DAY,
                                     sender=owner)
    assert type(refused.value).__name__ == "TimeLimitOutOfRange"
    with pytest.raises(ContractLogicError) as refused:   # a response window of a minute
        project.C2CSettlement.deploy(owner, arbiter, 10 * DAY, 3600, 90 * DAY, 60, 30 * DAY, 3 * DAY, sender=owner)
    assert type(refused.value).__name__ == "WindowOutOfRange"


def test_token_must_be_allowed(project, settlement, owner, buyer, store):
    other = project.TestStablecoin.deploy(owner, sender=owner)
    key = (store.address, ORDER, buyer.address, buyer.address, other.address)
    with ape.reverts(settlement.TokenNotAllowed, token=other.address):
        settlement.open(key, AMOUNT, SNAPSHOT, 0, sender=buyer)


def _permit(t, s, buyer, value, deadline, nonce=0):
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                       {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                       {"name": "deadline", "type": "uint256"}]},
        "primaryType": "Permit",
        "domain": {"name": "Test USD", "version": "1", "chainId": ape.chain.chain_id, "verifyingContract": t.address},
        "message": {"owner": buyer.address, "spender": s.address, "value": value, "nonce": nonce,
                    "deadline": deadline},
    }
    return buyer.sign_message(encode_typed_data(full_message=typed))


def test_open_with_permit_needs_no_prior_approval_and_a_bad_permit_says_why(project, owner, arbiter, buyer, store):
    t = project.TestStablecoin.deploy(owner, sender=owner)
    s = project.C2CSettlement.deploy(owner, arbiter, 10 * DAY, 3600, 90 * DAY, 7 * DAY, 30 * DAY, 3 * DAY,
                                     sender=owner)
    s.setTokenAllowed(t, True, sender=owner)
    t.mint(buyer, AMOUNT, sender=owner)
    key = (store.address, ORDER, buyer.address, buyer.address, t.address)
    wrong = _permit(t, s, buyer, AMOUNT, 2**40, nonce=7)   # not the buyer's nonce: the token refuses it
    with ape.reverts(t.ERC2612InvalidSigner):
        s.openWithPermit(key, AMOUNT, SNAPSHOT, 0, AMOUNT, 2**40, wrong.v, wrong.r, wrong.s, sender=buyer)
    sig = _permit(t, s, buyer, AMOUNT, 2**40)
    s.openWithPermit(key, AMOUNT, SNAPSHOT, 0, AMOUNT, 2**40, sig.v, sig.r.rjust(32, b"\0"), sig.s.rjust(32, b"\0"), sender=buyer)
    assert t.balanceOf(s) == AMOUNT
