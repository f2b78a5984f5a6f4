"""CrossBorderEscrow on ape's in-process chain: legs, final bills that refund or ask for a
top-up, returns, silences that end with the arbiter or a cancellation, and every refusal.
The stories named after what a party tries are the ways one party could lock or take the
other's money, each refused."""

import itertools

import ape
import pytest

from .conftest import DAY

PRICE, FREIGHT = 100_000_000, 30_000_000
WAYBILL = b"\xb1" * 32
SELLER_PAYS, BUYER_PAYS = 0, 1
PAID, TOP_UP, BILLED, RETURN, REFUSED, DISPUTED, SETTLED = 1, 2, 3, 4, 5, 6, 7
BILLING = 20 * DAY
CANCELLED = 3
_snapshots = itertools.count(1)


def snapshot() -> bytes:
    """A fresh order snapshot hash (a buyer pays each quote once)."""
    return next(_snapshots).to_bytes(32, "big")


@pytest.fixture(scope="module")
def seller(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def operator(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def carrier(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def escrow(project, owner, operator, arbiter, token, accounts):
    c = project.CrossBorderEscrow.deploy(owner, operator, arbiter, 14 * DAY, 7 * DAY, 5 * DAY, 30 * DAY, 3 * DAY,
                                         sender=owner)
    c.setTokenAllowed(token, True, sender=owner)
    for account in accounts[:8]:
        token.approve(c, 2**256 - 1, sender=account)
    return c


def paid(escrow, buyer, seller, token, policy=SELLER_PAYS, price=PRICE, freight=FREIGHT, snapshot_hash=None):
    receipt = escrow.pay(seller, token, price, freight, snapshot_hash or snapshot(), policy, BILLING, sender=buyer)
    return receipt.decode_logs(escrow.OrderPaid)[0].orderId


@pytest.fixture
def order(escrow, buyer, seller, token):
    return paid(escrow, buyer, seller, token)


def later(seconds):
    ape.chain.pending_timestamp += seconds
    ape.chain.mine()


def test_paying_holds_price_and_target_freight_until_the_billing_deadline(escrow, token, buyer, seller):
    quote = snapshot()
    receipt = escrow.pay(seller, token, PRICE, FREIGHT, quote, SELLER_PAYS, BILLING, sender=buyer)
    event = receipt.decode_logs(escrow.OrderPaid)[0]
    assert (event.snapshotHash, event.billBy) == (quote, receipt.timestamp + BILLING)
    o = escrow.orders(event.orderId)
    assert (o.status, o.price, o.freightHeld, o.deadline) == (PAID, PRICE, FREIGHT, receipt.timestamp + BILLING)
    assert escrow.orderOfQuote(buyer, quote) == event.orderId
    assert token.balanceOf(escrow) == PRICE + FREIGHT


def test_legs_are_paid_by_seller_or_operator_never_beyond_the_freight_held(escrow, token, order, seller, operator,
                                                                           carrier, buyer):
    before = token.balanceOf(carrier)
    receipt = escrow.payLeg(order, carrier, 10_000_000, WAYBILL, sender=seller)
    assert [(e.amount, e.freightPaid) for e in receipt.decode_logs(escrow.LegPaid)] == [(10_000_000, 10_000_000)]
    escrow.payLeg(order, carrier, 15_000_000, WAYBILL, sender=operator)
    assert token.balanceOf(carrier) == before + 25_000_000
    with ape.reverts(escrow.OverFreight, orderId=order, available=5_000_000):
        escrow.payLeg(order, carrier, 5_000_001, WAYBILL, sender=seller)
    with ape.reverts(escrow.NotParty):
        escrow.payLeg(order, carrier, 1, WAYBILL, sender=buyer)


def test_a_final_bill_under_the_target_refunds_the_rest_and_the_price_waits_out_the_return_window(
        escrow, token, order, seller, carrier, buyer, accounts):
    escrow.payLeg(order, carrier, 12_000_000, WAYBILL, sender=seller)
    before = token.balanceOf(buyer)
    receipt = escrow.finalBill(order, carrier, 8_000_000, WAYBILL, sender=seller)
    bill = receipt.decode_logs(escrow.FinalBill)[0]
    assert (bill.freight, bill.refunded, bill.topUp) == (20_000_000, 10_000_000, 0)
    assert token.balanceOf(buyer) == before + 10_000_000   # unused freight back at once
    with ape.reverts(escrow.TooEarly):
        escrow.release(order, sender=accounts[7])
    later(14 * DAY + 1)
    paid = token.balanceOf(seller)
    escrow.release(order, sender=accounts[7])   # anyone, once the window passed
    assert token.balanceOf(seller) == paid + PRICE and token.balanceOf(escrow) == 0
    assert escrow.orders(order).status == SETTLED


def test_a_final_bill_over_the_target_asks_for_a_top_up_that_settles_the_freight(escrow, token, order, seller,
                                                                                    carrier, buyer):
    escrow.payLeg(order, carrier, 25_000_000, WAYBILL, sender=seller)
    receipt = escrow.finalBill(order, carrier, 9_000_000, WAYBILL, sender=seller)   # 34 > 30 held
    bill = receipt.decode_logs(escrow.FinalBill)[0]
    assert (bill.freight, bill.topUp) == (34_000_000, 4_000_000)
    assert escrow.orders(order).status == TOP_UP
    with ape.reverts(escrow.NotParty):
        escrow.topUp(order, sender=seller)
    before = token.balanceOf(carrier)
    escrow.topUp(order, sender=buyer)
    assert token.balanceOf(carrier) == before + 9_000_000   # the last leg, paid with the top-up
    o = escrow.orders(order)
    assert (o.status, o.freightPaid, o.freightHeld) == (BILLED, 34_000_000, 34_000_000)
    assert token.balanceOf(escrow) == PRICE


def test_an_unpaid_top_up_goes_to_the_arbiter_and_a_silent_arbiter_lapses(escrow, token, order, seller, carrier,
                                                                          buyer, arbiter, accounts):
    escrow.finalBill(order, carrier, 40_000_000, WAYBILL, sender=seller)
    with ape.reverts(escrow.TooEarly):
        escrow.escalate(order, sender=accounts[7])
    later(7 * DAY + 1)
    with ape.reverts(escrow.TooLate):
        escrow.topUp(order, sender=buyer)
    receipt = escrow.escalate(order, sender=accounts[7])
    assert receipt.decode_logs(escrow.Escalated)[0].lapseToSeller == PRICE + FREIGHT   # all it holds
    with ape.reverts(escrow.NotArbiter):
        escrow.resolve(order, 0, sender=seller)
    with ape.reverts(escrow.TooEarly):
        escrow.endLapsed(order, sender=accounts[7])
    later(30 * DAY + 1)
    before = token.balanceOf(seller)
    escrow.endLapsed(order, sender=accounts[7])
    assert token.balanceOf(seller) == before + PRICE + FREIGHT and token.balanceOf(escrow) == 0


def test_the_arbiter_splits_a_disputed_order(escrow, token, order, seller, carrier, buyer, arbiter, accounts):
    escrow.finalBill(order, carrier, 40_000_000, WAYBILL, sender=seller)
    later(7 * DAY + 1)
    escrow.escalate(order, sender=accounts[7])
    with ape.reverts(escrow.SplitTooLarge):
        escrow.resolve(order, PRICE + FREIGHT + 1, sender=arbiter)
    before = (token.balanceOf(seller), token.balanceOf(buyer))
    escrow.resolve(order, 110_000_000, sender=arbiter)
    assert (token.balanceOf(seller) - before[0], token.balanceOf(buyer) - before[1]) == (110_000_000, 20_000_000)


def test_a_return_accepted_refunds_the_price_less_return_freight_when_the_buyer_pays_it(escrow, token, buyer,
                                                                                        seller, carrier):
    order = paid(escrow, buyer, seller, token, BUYER_PAYS)
    escrow.finalBill(order, carrier, FREIGHT, WAYBILL, sender=seller)
    with ape.reverts(escrow.NotParty):
        escrow.requestReturn(order, b"\x01" * 32, sender=seller)
    escrow.requestReturn(order, b"\x01" * 32, sender=buyer)
    with ape.reverts(escrow.WrongStatus):
        escrow.release(order, sender=seller)   # the price waits for the answer
    before = (token.balanceOf(buyer), token.balanceOf(seller))
    receipt = escrow.answerReturn(order, True, 6_000_000, b"", sender=seller)
    assert [(r.toBuyer, r.toSeller) for r in receipt.decode_logs(escrow.Returned)] == [(94_000_000, 6_000_000)]
    assert (token.balanceOf(buyer) - before[0], token.balanceOf(seller) - before[1]) == (94_000_000, 6_000_000)


def test_a_return_after_the_window_is_too_late(escrow, order, buyer, seller, carrier, accounts):
    escrow.finalBill(order, carrier, 10_000_000, WAYBILL, sender=seller)
    later(14 * DAY + 1)
    with ape.reverts(escrow.TooLate):
        escrow.requestReturn(order, b"\x01" * 32, sender=buyer)
    escrow.release(order, sender=accounts[7])
    assert escrow.orders(order).status == SETTLED


def test_a_return_the_seller_leaves_unanswered_goes_to_the_arbiter(escrow, token, order, buyer, seller, carrier,
                                                                   accounts):
    escrow.finalBill(order, carrier, 10_000_000, WAYBILL, sender=seller)
    escrow.requestReturn(order, b"\x01" * 32, sender=buyer)
    with ape.reverts(escrow.TooEarly):
        escrow.escalate(order, sender=buyer)
    later(5 * DAY + 1)
    receipt = escrow.escalate(order, sender=buyer)
    assert receipt.decode_logs(escrow.Escalated)[0].lapseToSeller == PRICE // 2
    later(30 * DAY + 1)
    before = token.balanceOf(buyer)
    escrow.endLapsed(order, sender=buyer)
    assert token.balanceOf(buyer) == before + PRICE // 2 and token.balanceOf(escrow) == 0


def test_a_blocked_carrier_is_credited_and_holds_nobody_up(project, owner, operator, arbiter, buyer, seller,
                                                           carrier):
    blocking = project.TestBlocklistToken.deploy(owner, sender=owner)
    c = project.CrossBorderEscrow.deploy(owner, operator, arbiter, 14 * DAY, 7 * DAY, 5 * DAY, 30 * DAY, 3 * DAY,
                                         sender=owner)
    c.setTokenAllowed(blocking, True, sender=owner)
    blocking.mint(buyer, 10**12, sender=owner)
    blocking.approve(c, 2**256 - 1, sender=buyer)
    order = paid(c, buyer, seller, blocking)
    blocking.setBlocked(carrier, True, sender=owner)
    receipt = c.payLeg(order, carrier, 10_000_000, WAYBILL, sender=seller)
    assert [(e.recipient, e.amount) for e in receipt.decode_logs(c.Credited)] == [(carrier.address, 10_000_000)]
    c.finalBill(order, carrier, 0, WAYBILL, sender=seller)   # the rest of the freight back to the buyer
    assert c.credits(blocking, carrier) == 10_000_000


def test_unknown_orders_and_wrong_steps_are_refused(escrow, token, order, buyer, seller, owner, project):
    with ape.reverts(escrow.InvalidOrder):
        escrow.payLeg(999, seller, 1, WAYBILL, sender=seller)
    with ape.reverts(escrow.WrongStatus):
        escrow.topUp(order, sender=buyer)
    with ape.reverts(escrow.InvalidAmount):
        escrow.pay(seller, token, 0, FREIGHT, snapshot(), SELLER_PAYS, BILLING, sender=buyer)
    other = project.TestStablecoin.deploy(owner, sender=owner)
    with ape.reverts(escrow.TokenNotAllowed):
        escrow.pay(seller, other, PRICE, FREIGHT, snapshot(), SELLER_PAYS, BILLING, sender=buyer)
    for window in (DAY - 1, 180 * DAY + 1):   # a billing window is bounded like the other windows
        with ape.reverts(escrow.WindowOutOfRange, window=window, min=DAY, max=180 * DAY):
            escrow.pay(seller, token, PRICE, FREIGHT, snapshot(), SELLER_PAYS, window, sender=buyer)
    with ape.reverts(project.CrossBorderEscrow.WindowOutOfRange):
        project.CrossBorderEscrow.deploy(owner, owner, owner, 0, 7 * DAY, 5 * DAY, 30 * DAY, 3 * DAY, sender=owner)


# -- what a party tries: none of it locks or takes the other party's money


def test_the_seller_stays_silent_and_the_buyer_cancels_after_the_billing_deadline(escrow, token, order, buyer,
                                                                                   seller, carrier, accounts):
    escrow.payLeg(order, carrier, 12_000_000, WAYBILL, sender=seller)   # then the seller goes away
    for step in (escrow.escalate, escrow.release):
        with ape.reverts():
            step(order, sender=buyer)
    with ape.reverts(escrow.TooEarly, until=escrow.orders(order).deadline):
        escrow.cancel(order, sender=buyer)
    later(BILLING + 1)
    with ape.reverts(escrow.NotParty):
        escrow.cancel(order, sender=accounts[7])   # the buyer's choice, nobody else's
    before = token.balanceOf(buyer)
    receipt = escrow.cancel(order, sender=buyer)
    ended = receipt.decode_logs(escrow.Released)[0]
    assert (ended.toSeller, ended.toBuyer, ended.ending) == (0, PRICE + FREIGHT - 12_000_000, CANCELLED)
    assert token.balanceOf(buyer) == before + PRICE + FREIGHT - 12_000_000   # the leg paid stays paid
    assert token.balanceOf(escrow) == 0 and escrow.orders(order).status == SETTLED
    with ape.reverts(escrow.WrongStatus):
        escrow.finalBill(order, carrier, 0, WAYBILL, sender=seller)


def test_the_seller_stays_silent_and_the_buyer_escalates_to_the_arbiter(escrow, token, order, buyer, seller,
                                                                         arbiter, accounts):
    later(BILLING + 1)
    with ape.reverts(escrow.NotParty):
        escrow.escalate(order, sender=accounts[7])
    receipt = escrow.escalate(order, sender=buyer)
    assert receipt.decode_logs(escrow.Escalated)[0].lapseToSeller == 0   # a silent arbiter: as if cancelled
    later(30 * DAY + 1)
    before = token.balanceOf(buyer)
    escrow.endLapsed(order, sender=accounts[7])
    assert token.balanceOf(buyer) == before + PRICE + FREIGHT


def test_a_late_seller_may_still_bill_until_the_buyer_acts(escrow, order, buyer, seller, carrier):
    later(BILLING + 1)
    escrow.finalBill(order, carrier, FREIGHT, WAYBILL, sender=seller)
    with ape.reverts(escrow.WrongStatus):
        escrow.cancel(order, sender=buyer)


def test_the_seller_accepts_a_return_for_the_whole_price(escrow, token, buyer, seller, carrier):
    order = paid(escrow, buyer, seller, token, BUYER_PAYS)
    escrow.finalBill(order, carrier, 20_000_000, WAYBILL, sender=seller)   # the order's freight: 20
    escrow.requestReturn(order, b"\x01" * 32, sender=buyer)
    with ape.reverts(escrow.ReturnFreightTooHigh, returnFreight=PRICE, cap=20_000_000):
        escrow.answerReturn(order, True, PRICE, b"", sender=seller)
    with ape.reverts(escrow.ReturnFreightTooHigh, returnFreight=20_000_001, cap=20_000_000):
        escrow.answerReturn(order, True, 20_000_001, b"", sender=seller)
    before = token.balanceOf(buyer)
    receipt = escrow.answerReturn(order, True, 20_000_000, b"", sender=seller)
    assert [(r.toBuyer, r.toSeller) for r in receipt.decode_logs(escrow.Returned)] == [(80_000_000, 20_000_000)]
    assert token.balanceOf(buyer) == before + 80_000_000


def test_under_the_seller_pays_policy_a_return_keeps_nothing(escrow, order, buyer, seller, carrier):
    escrow.finalBill(order, carrier, 20_000_000, WAYBILL, sender=seller)
    escrow.requestReturn(order, b"\x01" * 32, sender=buyer)
    with ape.reverts(escrow.ReturnFreightTooHigh, returnFreight=1, cap=0):
        escrow.answerReturn(order, True, 1, b"", sender=seller)
    escrow.answerReturn(order, True, 0, b"", sender=seller)


def test_the_seller_refuses_a_return_and_cannot_release_in_the_same_block(escrow, token, order, buyer, seller,
                                                                           carrier, accounts):
    escrow.finalBill(order, carrier, 10_000_000, WAYBILL, sender=seller)
    later(14 * DAY - 60)
    escrow.requestReturn(order, b"\x01" * 32, sender=buyer)   # a minute before the return window ends
    later(5 * DAY - 60)
    receipt = escrow.answerReturn(order, False, 0, b"\x02" * 32, sender=seller)   # refused at the last minute
    refused = receipt.decode_logs(escrow.ReturnRefused)[0]
    assert (refused.reasonHash, refused.contestBy) == (b"\x02" * 32, receipt.timestamp + 5 * DAY)
    assert escrow.orders(order).status == REFUSED
    with ape.reverts(escrow.TooEarly, until=refused.contestBy):
        escrow.release(order, sender=seller)   # the price stays held while the buyer may contest
    with ape.reverts(escrow.NotParty):
        escrow.escalate(order, sender=seller)
    with ape.reverts(escrow.WrongStatus):
        escrow.requestReturn(order, b"\x01" * 32, sender=buyer)   # one request per order
    escalated = escrow.escalate(order, sender=buyer).decode_logs(escrow.Escalated)[0]
    assert escalated.lapseToSeller == PRICE // 2   # what silence would have given
    later(30 * DAY + 1)
    before = token.balanceOf(buyer)
    escrow.endLapsed(order, sender=accounts[7])
    assert token.balanceOf(buyer) == before + PRICE // 2


def test_a_refusal_the_buyer_does_not_contest_releases_the_price_after_its_window(escrow, token, order, buyer,
                                                                                   seller, carrier, accounts):
    escrow.finalBill(order, carrier, 10_000_000, WAYBILL, sender=seller)
    escrow.requestReturn(order, b"\x01" * 32, sender=buyer)
    escrow.answerReturn(order, False, 0, b"\x02" * 32, sender=seller)
    later(5 * DAY + 1)
    with ape.reverts(escrow.TooLate):
        escrow.escalate(order, sender=buyer)
    paid_out = token.balanceOf(seller)
    escrow.release(order, sender=accounts[7])
    assert token.balanceOf(seller) == paid_out + PRICE


def test_the_owner_swaps_the_arbiter_mid_dispute(escrow, token, order, buyer, seller, carrier, owner, arbiter,
                                                 accounts):
    escrow.finalBill(order, carrier, 40_000_000, WAYBILL, sender=seller)
    later(7 * DAY + 1)
    escrow.escalate(order, sender=accounts[7])   # raised with `arbiter`
    announced = escrow.announceArbiter(owner, sender=owner).decode_logs(escrow.ArbiterAnnounced)[0]
    assert announced.effectiveFrom > ape.chain.pending_timestamp
    later(3 * DAY + 1)
    assert escrow.arbiter() == owner.address   # for disputes raised from now on
    with ape.reverts(escrow.NotArbiter, caller=owner.address, arbiter=arbiter.address):
        escrow.resolve(order, PRICE + FREIGHT, sender=owner)   # the owner cannot decide the running dispute
    with ape.reverts(escrow.OwnableUnauthorizedAccount):
        escrow.announceArbiter(buyer, sender=buyer)
    escrow.resolve(order, 60_000_000, sender=arbiter)
    later_order = paid(escrow, buyer, seller, token)
    escrow.finalBill(later_order, carrier, 40_000_000, WAYBILL, sender=seller)
    later(7 * DAY + 1)
    assert escrow.escalate(later_order, sender=buyer).decode_logs(escrow.Escalated)[0].arbiter == owner.address


def test_an_order_above_2_96_ends_its_dispute(escrow, token, buyer, seller, carrier, owner, arbiter, accounts):
    big = 2**96 - 1
    token.mint(buyer, 6 * big, sender=owner)
    returned = paid(escrow, buyer, seller, token, price=big, freight=big)
    escrow.finalBill(returned, carrier, 0, WAYBILL, sender=seller)
    escrow.requestReturn(returned, b"\x01" * 32, sender=buyer)
    later(5 * DAY + 1)
    assert escrow.escalate(returned, sender=buyer).decode_logs(escrow.Escalated)[0].lapseToSeller == big // 2
    topped = paid(escrow, buyer, seller, token, price=big, freight=big - 10)
    escrow.finalBill(topped, carrier, big, WAYBILL, sender=seller)   # asks a top-up of 10
    later(7 * DAY + 1)
    lapse = escrow.escalate(topped, sender=accounts[7]).decode_logs(escrow.Escalated)[0].lapseToSeller
    assert lapse == 2 * big - 10   # beyond 2**96: summed in 256 bits
    unbilled = paid(escrow, buyer, seller, token, price=big, freight=big)
    later(BILLING + 1)
    escrow.escalate(unbilled, sender=buyer)
    escrow.resolve(unbilled, big + 1, sender=arbiter)   # a split beyond 2**96 too
    later(30 * DAY + 1)
    for order in (returned, topped):
        escrow.endLapsed(order, sender=accounts[7])
    assert token.balanceOf(escrow) == 0


def test_a_final_bill_beyond_what_an_order_can_hold_is_refused(escrow, token, order, seller, carrier):
    escrow.payLeg(order, carrier, FREIGHT, WAYBILL, sender=seller)
    with ape.reverts(escrow.InvalidAmount):
        escrow.finalBill(order, carrier, 2**96 - 1, WAYBILL, sender=seller)


def test_the_buyer_pays_the_same_quote_twice(escrow, token, buyer, seller, accounts):
    quote = snapshot()
    first = paid(escrow, buyer, seller, token, snapshot_hash=quote)
    before = token.balanceOf(buyer)
    with ape.reverts(escrow.QuoteAlreadyPaid, snapshotHash=quote, orderId=first):
        escrow.pay(seller, token, PRICE, FREIGHT, quote, SELLER_PAYS, BILLING, sender=buyer)
    assert token.balanceOf(buyer) == before   # debited once
    other = accounts[7]   # another buyer's order under the same hash is its own
    assert paid(escrow, other, seller, token, snapshot_hash=quote) == first + 1
