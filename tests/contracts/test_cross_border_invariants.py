"""Stateful property test of CrossBorderEscrow: random payments, legs, final bills, top-ups,
returns accepted or refused (and contested), cancellations, escalations, rulings and
lapses, with time travel.

An independent model keeps every order's price, freight held and paid, and every party's
balance. After every step: balances equal the model; the escrow holds exactly what its
orders hold (price + freight held - legs paid); no order ever paid more legs than the
freight it held; a final bill is issued once per order; an accepted return keeps at most
the order's freight; a settled order holds nothing; and at the end every order ends."""

import ape
from ape.exceptions import ContractLogicError
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .conftest import DAY

WAYBILL = b"\xb1" * 32
SEEN = {"paid": 0, "legs": 0, "billed": 0, "topped_up": 0, "returned": 0, "refused": 0, "released": 0,
        "escalated": 0, "ended": 0, "cancelled": 0}


def run_machine(project, owner, buyer, seller, operator, carrier, arbiter):
    token = project.TestStablecoin.deploy(owner, sender=owner)
    parties = [buyer, seller, operator, carrier, arbiter]
    for p in parties:
        token.mint(p, 10**12, sender=owner)

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = ape.chain.snapshot()

        @initialize()
        def deploy(self):
            self.c = project.CrossBorderEscrow.deploy(owner, operator, arbiter, 14 * DAY, 7 * DAY, 5 * DAY,
                                                      30 * DAY, 3 * DAY, sender=owner)
            self.c.setTokenAllowed(token, True, sender=owner)
            for p in parties:
                token.approve(self.c, 2**256 - 1, sender=p)
            self.balance = {p.address: token.balanceOf(p) for p in parties}
            self.orders: dict[int, dict] = {}

        def teardown(self):
            try:
                if hasattr(self, "c"):
                    self._every_order_ends()
            finally:
                ape.chain.restore(self.snapshot)

        def _every_order_ends(self):
            """Nothing gets stuck: once the windows passed, every order ends by what anyone may
            call (the buyer's cancellation, escalation, the lapse, the release). Time moves twice
            in all, past every window, so the clock of the tests after this one stays near."""
            def later():
                ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + 91 * DAY)
            later()
            for order, o in self.orders.items():
                if o["status"] == "paid":
                    self.c.cancel(order, sender=buyer)
                    o["status"] = "settled"
                    SEEN["cancelled"] += 1
                elif o["status"] in ("top_up", "return"):
                    self.c.escalate(order, sender=carrier)
                    o["status"] = "disputed"
                elif o["status"] in ("billed", "refused"):
                    self.c.release(order, sender=carrier)
                    SEEN["released"] += 1
            later()
            for order, o in self.orders.items():
                if o["status"] == "disputed":
                    self.c.endLapsed(order, sender=carrier)
                    SEEN["ended"] += 1
            assert token.balanceOf(self.c) == 0, "an order's money was stuck in the escrow"

        def _call(self, fn, *args, sender):
            try:
                return fn(*args, sender=sender)
            except ContractLogicError:
                return None

        def _ids(self, *statuses):
            return [i for i, o in sorted(getattr(self, "orders", {}).items()) if o["status"] in statuses]

        def _move(self, receipt):
            """Every transfer the contract made, taken into the model from its Transfer logs."""
            for log in receipt.decode_logs(token.Transfer):
                args = log.event_arguments
                if args["from"] in self.balance:
                    self.balance[args["from"]] -= args["value"]
                if args["to"] in self.balance:
                    self.balance[args["to"]] += args["value"]

        @precondition(lambda self: len(self._ids("paid")) < 3)   # so that orders go on to their later steps
        @rule(price=st.integers(1, 5_000), freight=st.integers(0, 2_000), policy=st.integers(0, 1),
              billing_days=st.integers(10, 90))
        def pay(self, price, freight, policy, billing_days):
            quote = (len(self.orders) + 1).to_bytes(32, "big")
            receipt = self.c.pay(seller, token, price, freight, quote, policy, billing_days * DAY, sender=buyer)
            order = receipt.decode_logs(self.c.OrderPaid)[0].orderId
            self.orders[order] = {"price": price, "held": freight, "paid": 0, "status": "paid", "bills": 0,
                                  "policy": policy}
            self._move(receipt)
            SEEN["paid"] += 1

        @precondition(lambda self: bool(self._ids("paid")))
        @rule(data=st.data(), amount=st.integers(1, 1_500), by_operator=st.booleans())
        def leg(self, data, amount, by_operator):
            order = data.draw(st.sampled_from(self._ids("paid")))
            o = self.orders[order]
            receipt = self._call(self.c.payLeg, order, carrier, amount, WAYBILL,
                                 sender=operator if by_operator else seller)
            assert (receipt is not None) == (o["paid"] + amount <= o["held"]), "a leg beyond the freight held"
            if receipt is not None:
                o["paid"] += amount
                self._move(receipt)
                SEEN["legs"] += 1

        @precondition(lambda self: bool(getattr(self, "orders", None)))
        @rule(data=st.data(), last=st.integers(0, 2_000), any_order=st.booleans())
        def final_bill(self, data, last, any_order):
            order = data.draw(st.sampled_from(sorted(self.orders) if any_order or not self._ids("paid")
                                              else self._ids("paid")))
            o = self.orders[order]
            receipt = self._call(self.c.finalBill, order, carrier, last, WAYBILL, sender=seller)
            assert (receipt is not None) == (o["status"] == "paid"), "a final bill twice, or one refused"
            if receipt is None:
                return
            o["bills"] += 1
            if o["paid"] + last > o["held"]:
                o["status"], o["owed"], o["last"] = "top_up", o["paid"] + last - o["held"], last
            else:
                o["status"] = "billed"
                o["paid"] += last
                o["held"] = o["paid"]
            self._move(receipt)
            SEEN["billed"] += 1
            if o["status"] == "top_up" and data.draw(st.booleans()):   # the buyer pays the rest at once
                self._top_up(order)

        @precondition(lambda self: bool(self._ids("top_up")))
        @rule(data=st.data())
        def top_up(self, data):
            self._top_up(data.draw(st.sampled_from(self._ids("top_up"))))

        def _top_up(self, order):
            o = self.orders[order]
            receipt = self._call(self.c.topUp, order, sender=buyer)
            if receipt is not None:
                o["held"] += o["owed"]
                o["paid"] += o["last"]
                o["status"] = "billed"
                self._move(receipt)
                SEEN["topped_up"] += 1

        @precondition(lambda self: bool(self._ids("billed", "return")))
        @rule(data=st.data(), accept=st.booleans(), freight=st.integers(0, 2_500),
              within=st.integers(0, 3))   # mostly a freight within the cap, sometimes beyond
        def returns(self, data, accept, freight, within):
            order = data.draw(st.sampled_from(self._ids("billed", "return")))
            o = self.orders[order]
            if o["status"] == "billed":
                if self._call(self.c.requestReturn, order, b"\x01" * 32, sender=buyer) is None:
                    return
                o["status"] = "return"   # and the seller answers at once
            cap = min(o["paid"], o["price"]) if o["policy"] == 1 else 0
            if within:
                freight = min(freight, cap)
            receipt = self._call(self.c.answerReturn, order, accept, freight, b"\x02" * 32, sender=seller)
            assert (receipt is not None) == (not accept or freight <= cap), "a return freight beyond the order's"
            if receipt is None:
                return
            self._move(receipt)
            if accept:
                o.update(status="settled", price=0)
                SEEN["returned"] += 1
            else:
                o["status"] = "refused"
                SEEN["refused"] += 1

        @precondition(lambda self: bool(self._ids("paid", "refused")))
        @rule(data=st.data(), cancel=st.booleans())
        def the_buyer_acts_on_a_silence(self, data, cancel):
            """An order left unbilled: the buyer cancels or escalates; a refused return: the buyer contests."""
            order = data.draw(st.sampled_from(self._ids("paid", "refused")))
            o = self.orders[order]
            if o["status"] == "paid" and cancel:
                receipt = self._call(self.c.cancel, order, sender=buyer)
                if receipt is not None:
                    o.update(status="settled", price=0, held=o["paid"])
                    SEEN["cancelled"] += 1
            else:
                receipt = self._call(self.c.escalate, order, sender=buyer)
                if receipt is not None:
                    o["status"] = "disputed"
                    SEEN["escalated"] += 1
            if receipt is not None:
                self._move(receipt)

        @precondition(lambda self: bool(self._ids("disputed")))
        @rule(data=st.data(), split=st.integers(0, 100))
        def end_dispute(self, data, split):
            self.silences(data, split, self._ids("disputed"))

        @precondition(lambda self: bool(self._ids("billed", "refused", "top_up", "return", "disputed")))
        @rule(data=st.data(), split=st.integers(0, 100))
        def silences(self, data, split, among=None):
            order = data.draw(st.sampled_from(among or self._ids("billed", "refused", "top_up", "return",
                                                                 "disputed")))
            o = self.orders[order]
            if o["status"] in ("billed", "refused"):
                receipt = self._call(self.c.release, order, sender=carrier)
                if receipt is not None:
                    o.update(status="settled", price=0)
                    SEEN["released"] += 1
            elif o["status"] in ("top_up", "return"):
                receipt = self._call(self.c.escalate, order, sender=carrier)
                if receipt is not None:
                    o["status"] = "disputed"
                    SEEN["escalated"] += 1
            else:
                held = o["price"] + o["held"] - o["paid"]
                receipt = self._call(self.c.resolve, order, held * split // 100, sender=arbiter)
                if receipt is None:
                    receipt = self._call(self.c.endLapsed, order, sender=carrier)
                if receipt is not None:
                    o.update(status="settled", price=0, held=o["paid"])
                    SEEN["ended"] += 1
            if receipt is not None:
                self._move(receipt)

        @rule(days=st.integers(1, 20))
        def time_passes(self, days):
            ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + days * DAY)

        @invariant()
        def the_escrow_holds_what_its_orders_hold(self):
            if not hasattr(self, "c"):
                return
            for party, expected in self.balance.items():
                assert token.balanceOf(party) == expected, f"{party} holds what the model does not say"
            held = sum(o["price"] + o["held"] - o["paid"] for o in self.orders.values())
            assert token.balanceOf(self.c) == held
            for order, o in self.orders.items():
                on_chain = self.c.orders(order)
                assert on_chain.freightPaid <= on_chain.freightHeld or o["status"] in ("top_up", "disputed")
                assert on_chain.freightPaid == o["paid"], "legs paid differ from the model"
                assert o["bills"] <= 1, "a second final bill"
                if o["status"] == "settled":
                    assert on_chain.price == 0 and on_chain.freightHeld == on_chain.freightPaid

    Machine.TestCase.settings = settings(max_examples=10, stateful_step_count=35, deadline=None, derandomize=True,
                                         database=None)
    return Machine


def test_cross_border_invariants_hold_across_random_action_sequences(project, owner, accounts):
    run_machine(project, owner, accounts[1], accounts[2], accounts[5], accounts[6], accounts[3]).TestCase().runTest()
    assert SEEN["legs"] >= 5 and SEEN["billed"] >= 5 and SEEN["released"] + SEEN["returned"] >= 2, SEEN
    assert SEEN["escalated"] >= 1 and SEEN["ended"] >= 1 and SEEN["cancelled"] >= 1, SEEN   # (teardown included)
    assert SEEN["refused"] >= 1 and SEEN["returned"] >= 1 and SEEN["topped_up"] >= 1, SEEN
