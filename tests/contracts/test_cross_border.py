"""CrossBorderEscrow on ape's in-process chain: legs, final bills that refund or ask for a
top-up, returns, silences that end with the arbiter, and every refusal."""

import ape
import pytest

from .conftest import DAY

PRICE, FREIGHT = 100_000_000, 30_000_000
SNAPSHOT = b"\x5a" * 32
WAYBILL = b"\xb1" * 32
SELLER_PAYS, BUYER_PAYS = 0, 1
PAID, TOP_UP, BILLED, RETURN, DISPUTED, SETTLED = 1, 2, 3, 4, 5, 6


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
    c = project.CrossBorderEscrow.deploy(owner, operator, arbiter, 14 * DAY, 7 * DAY, 5 * DAY, 30 * DAY,
                                         sender=owner)
    c.setTokenAllowed(token, True, sender=owner)
    for account in accounts[:8]:
        token.approve(c, 2**256 - 1, sender=account)
    return c


@pytest.fixture
def order(escrow, buyer, seller, token):
    receipt = escrow.pay(seller, token, PRICE, FREIGHT, SNAPSHOT, SELLER_PAYS, sender=buyer)
    return receipt.decode_logs(escrow.OrderPaid)[0].orderId


def later(seconds):
    ape.chain.pending_timestamp += seconds
    ape.chain.mine()


def test_paying_holds_price_and_target_freight(escrow, token, buyer, seller, order):
    o = escrow.orders(order)
    assert (o.status, o.price, o.freightHeld, o.snapshotHash) == (PAID, PRICE, FREIGHT, SNAPSHOT)
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
    with ape.reverts(escrow.NotParty):
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
    receipt = escrow.pay(seller, token, PRICE, FREIGHT, SNAPSHOT, BUYER_PAYS, sender=buyer)
    order = receipt.decode_logs(escrow.OrderPaid)[0].orderId
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


def test_a_refused_return_keeps_the_window_and_a_return_after_it_is_too_late(escrow, token, order, buyer, seller,
                                                                             carrier):
    escrow.finalBill(order, carrier, 10_000_000, WAYBILL, sender=seller)
    escrow.requestReturn(order, b"\x01" * 32, sender=buyer)
    receipt = escrow.answerReturn(order, False, 0, b"\x02" * 32, sender=seller)
    assert receipt.decode_logs(escrow.ReturnRefused)[0].reasonHash == b"\x02" * 32
    later(14 * DAY + 1)
    with ape.reverts(escrow.TooLate):
        escrow.requestReturn(order, b"\x01" * 32, sender=buyer)
    escrow.release(order, sender=buyer)
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
    c = project.CrossBorderEscrow.deploy(owner, operator, arbiter, 14 * DAY, 7 * DAY, 5 * DAY, 30 * DAY,
                                         sender=owner)
    c.setTokenAllowed(blocking, True, sender=owner)
    blocking.mint(buyer, 10**12, sender=owner)
    blocking.approve(c, 2**256 - 1, sender=buyer)
    order = c.pay(seller, blocking, PRICE, FREIGHT, SNAPSHOT, SELLER_PAYS, sender=buyer).decode_logs(
        c.OrderPaid)[0].orderId
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
        escrow.pay(seller, token, 0, FREIGHT, SNAPSHOT, SELLER_PAYS, sender=buyer)
    other = project.TestStablecoin.deploy(owner, sender=owner)
    with ape.reverts(escrow.TokenNotAllowed):
        escrow.pay(seller, other, PRICE, FREIGHT, SNAPSHOT, SELLER_PAYS, sender=buyer)
