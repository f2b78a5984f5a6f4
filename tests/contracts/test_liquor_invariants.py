"""Stateful property test of LiquorCases: random purchases (some on loan), outbounds, gifts,
transfers, pledges, repayments, seizures, pickups and deliveries, with time travel.

An independent model says who owns each case, what state it is in and what every party's
token balance must be. After every step: balances equal the model; the contract holds
exactly the paid-but-unassigned units plus the unclaimed refunds; every case has the owner
the model says (so a locked case never moved, except by its lender's seizure); a case code,
once used, never mints again. At the end, once every window has passed, every purchased
unit is assigned or refunded and every refund can be withdrawn."""

import ape
from ape.exceptions import ContractLogicError
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .conftest import DAY, deploy_liquor
from .test_liquor import CODE, TERMS, custody, offer, pickup

PRICE = 1_000
WINDOW = 20 * DAY
SEEN = {"outbound": 0, "pledged": 0, "seized": 0, "repaid": 0, "pickups": 0, "delivered": 0, "refunded": 0,
        "gifted": 0}


def run_machine(project, owner, producer, warehouse, buyers, lender):
    token = project.TestStablecoin.deploy(owner, sender=owner)
    parties = [producer, warehouse, *buyers, lender]
    for p in parties:
        token.mint(p, 10**12, sender=owner)

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = ape.chain.snapshot()

        @initialize()
        def deploy(self):
            self.c = deploy_liquor(project, owner)
            self.c.setTokenAllowed(token, True, sender=owner)
            for p in parties:
                token.approve(self.c, 2**256 - 1, sender=p)
            receipt = self.c.createPlan(b"\x01" * 32, 40, PRICE, token, warehouse, TERMS, WINDOW, sender=producer)
            self.plan = receipt.decode_logs(self.c.PlanCreated)[0].planId
            self.balance = {p.address: token.balanceOf(p) for p in parties}
            self.credits = {p.address: 0 for p in parties}
            self.purchases: dict[int, dict] = {}
            self.cases: dict[int, dict] = {}
            self.codes: list[bytes] = []

        def teardown(self):
            try:
                if hasattr(self, "c"):
                    self._every_unit_ends_assigned_or_refunded()
            finally:
                ape.chain.restore(self.snapshot)

        def _call(self, fn, *args, sender):
            try:
                return fn(*args, sender=sender)
            except ContractLogicError:
                return None

        def _cases(self, *states):
            return [t for t, c in self.cases.items() if c["state"] in states]

        # -- buying and assigning

        @rule(who=st.integers(0, len(buyers) - 1), quantity=st.integers(1, 3), loan=st.booleans())
        def buy(self, who, quantity, loan):
            buyer = buyers[who]
            terms = {"lender": lender.address, "interest": 50, "term": 10 * DAY} if loan else {}
            request, signature = custody(self.c, buyer, self.plan, quantity, **terms)
            payer = lender if loan else buyer
            receipt = self._call(self.c.buy, request, signature, sender=payer)
            if receipt is None:
                return
            purchase = receipt.decode_logs(self.c.Purchased)[0].purchaseId
            self.purchases[purchase] = {"payer": payer.address, "buyer": buyer.address, "quantity": quantity,
                                        "assigned": 0, "cancelled": 0, "loan": loan}
            self.balance[payer.address] -= quantity * PRICE

        @precondition(lambda self: any(p["assigned"] + p["cancelled"] < p["quantity"]
                                       for p in getattr(self, "purchases", {}).values()))
        @rule(data=st.data(), reuse=st.integers(0, 5))
        def outbound(self, data, reuse):
            open_ = [i for i, p in self.purchases.items() if p["assigned"] + p["cancelled"] < p["quantity"]]
            purchase = data.draw(st.sampled_from(open_))
            code = (data.draw(st.sampled_from(self.codes)) if self.codes and reuse == 0
                    else f"BOX-{len(self.codes)}".encode().ljust(32, b"\0"))
            receipt = self._call(self.c.outbound, purchase, code, sender=warehouse)
            if receipt is None:
                return
            assert code not in self.codes, "a used case code minted again"
            self.codes.append(code)
            p = self.purchases[purchase]
            p["assigned"] += 1
            token_id = receipt.decode_logs(self.c.CaseOutbound)[0].tokenId
            self.cases[token_id] = {"owner": p["buyer"], "state": "pledged" if p["loan"] else "custody",
                                    "lender": lender.address if p["loan"] else None, "owed": PRICE + 50,
                                    "due": receipt.timestamp + 10 * DAY}   # the loan term runs from here
            self.balance[producer.address] += PRICE
            SEEN["outbound"] += 1

        @precondition(lambda self: bool(getattr(self, "purchases", None)))
        @rule(data=st.data())
        def cancel_unassigned(self, data):
            purchase = data.draw(st.sampled_from(sorted(self.purchases)))
            p = self.purchases[purchase]
            payer = next(x for x in parties if x.address == p["payer"])
            if self._call(self.c.cancelUnassigned, purchase, sender=payer) is None:
                return
            units = p["quantity"] - p["assigned"] - p["cancelled"]
            p["cancelled"] += units
            self.credits[p["payer"]] += units * PRICE
            SEEN["refunded"] += 1

        @rule(who=st.integers(0, len(parties) - 1))
        def claim_credit(self, who):
            party = parties[who]
            if self._call(self.c.claimCredit, token, party, sender=party) is not None:
                self.balance[party.address] += self.credits[party.address]
                self.credits[party.address] = 0

        # -- moving cases

        def _holder(self, token_id):
            return next(x for x in parties if x.address == self.cases[token_id]["owner"])

        def _move(self, token_id, to, plain):
            holder, recipient = self._holder(token_id), buyers[to]
            if plain:
                return self._call(self.c.transferFrom, holder, recipient, token_id, sender=holder)
            return self._call(self.c.gift, token_id, recipient, b"\x05" * 32, sender=holder)

        @precondition(lambda self: bool(getattr(self, "cases", None)) and bool(self._cases("custody")))
        @rule(data=st.data(), to=st.integers(0, len(buyers) - 1), plain=st.booleans())
        def give(self, data, to, plain):
            token_id = data.draw(st.sampled_from(self._cases("custody")))
            assert self._move(token_id, to, plain) is not None, "a case in custody did not move"
            self.cases[token_id]["owner"] = buyers[to].address
            SEEN["gifted"] += 1

        @precondition(lambda self: bool(getattr(self, "cases", None)) and bool(self._cases("pledged", "redeeming")))
        @rule(data=st.data(), to=st.integers(0, len(buyers) - 1), plain=st.booleans())
        def give_locked(self, data, to, plain):
            token_id = data.draw(st.sampled_from(self._cases("pledged", "redeeming")))
            assert self._move(token_id, to, plain) is None, "a locked case moved"

        @precondition(lambda self: bool(getattr(self, "cases", None)) and bool(self._cases("custody")))
        @rule(data=st.data(), days=st.integers(1, 15))
        def pledge(self, data, days):
            token_id = data.draw(st.sampled_from(self._cases("custody")))
            holder = self._holder(token_id)
            due = ape.chain.pending_timestamp + days * DAY
            if holder.address == lender.address:
                return
            receipt = self._call(self.c.pledge, token_id, *offer(self.c, lender, token_id, 700, 30, due),
                                 sender=holder)
            if receipt is None:
                return
            self.cases[token_id].update(state="pledged", lender=lender.address, owed=730, due=due)
            self.balance[lender.address] -= 700
            self.balance[holder.address] += 700
            SEEN["pledged"] += 1

        @precondition(lambda self: bool(getattr(self, "cases", None)) and bool(self._cases("pledged")))
        @rule(data=st.data(), who=st.integers(0, len(parties) - 1))
        def repay(self, data, who):
            token_id = data.draw(st.sampled_from(self._cases("pledged")))
            payer, case = parties[who], self.cases[token_id]
            if self._call(self.c.repay, token_id, sender=payer) is None:
                return
            self.balance[payer.address] -= case["owed"]
            self.balance[case["lender"]] += case["owed"]
            case.update(state="custody", lender=None)
            SEEN["repaid"] += 1

        @precondition(lambda self: bool(getattr(self, "cases", None)) and bool(self._cases("pledged")))
        @rule(data=st.data())
        def seize(self, data):
            token_id = data.draw(st.sampled_from(self._cases("pledged")))
            if self._call(self.c.seize, token_id, sender=lender) is None:
                return
            case = self.cases[token_id]
            assert ape.chain.blocks.head.timestamp > case["due"], "seized before the due date"
            case.update(state="custody", owner=lender.address, lender=None)
            SEEN["seized"] += 1

        # -- redeeming

        @precondition(lambda self: bool(getattr(self, "cases", None)) and bool(self._cases("custody")))
        @rule(data=st.data())
        def request_pickup(self, data):
            token_id = data.draw(st.sampled_from(self._cases("custody")))
            holder = self._holder(token_id)
            if self._call(self.c.requestPickup, *pickup(self.c, holder, token_id), sender=holder) is not None:
                self.cases[token_id]["state"] = "redeeming"
                SEEN["pickups"] += 1

        @precondition(lambda self: bool(getattr(self, "cases", None)) and bool(self._cases("redeeming")))
        @rule(data=st.data(), step=st.sampled_from(["cancel", "dispatch"]))
        def pickup_step(self, data, step):
            token_id = data.draw(st.sampled_from(self._cases("redeeming")))
            if step == "cancel":
                if self._call(self.c.cancelPickup, token_id, sender=self._holder(token_id)) is not None:
                    self.cases[token_id]["state"] = "custody"
            elif self._call(self.c.dispatch, token_id, sender=warehouse) is not None:
                self.cases[token_id]["state"] = "dispatched"

        @precondition(lambda self: bool(getattr(self, "cases", None)) and bool(self._cases("redeeming", "dispatched")))
        @rule(data=st.data(), right_code=st.booleans(), give_back=st.booleans())
        def deliver(self, data, right_code, give_back):
            token_id = data.draw(st.sampled_from(self._cases("redeeming", "dispatched")))
            if give_back and self.cases[token_id]["state"] == "dispatched":
                if self._call(self.c.returnToCustody, token_id, sender=warehouse) is not None:
                    self.cases[token_id]["state"] = "custody"
                return
            receipt = self._call(self.c.confirmDelivery, token_id, CODE if right_code else b"guess", sender=warehouse)
            assert (receipt is not None) == right_code, "delivery with the wrong code, or refused with the right one"
            if receipt is not None:
                self.cases[token_id]["state"] = "burned"
                SEEN["delivered"] += 1

        @rule(days=st.integers(1, 12))
        def time_passes(self, days):
            ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + days * DAY)

        # -- what must always hold

        @invariant()
        def balances_and_holdings_are_what_the_model_says(self):
            if not hasattr(self, "c"):
                return
            for party, expected in self.balance.items():
                assert token.balanceOf(party) == expected, f"{party} holds what the model does not say"
            unassigned = sum(p["quantity"] - p["assigned"] - p["cancelled"] for p in self.purchases.values())
            assert token.balanceOf(self.c) == unassigned * PRICE + sum(self.credits.values())
            for token_id, case in self.cases.items():
                if case["state"] != "burned":
                    assert self.c.ownerOf(token_id) == case["owner"]
                    assert self.c.locked(token_id) == (case["state"] != "custody")

        def _every_unit_ends_assigned_or_refunded(self):
            ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + WINDOW + DAY)
            for purchase, p in self.purchases.items():
                if p["assigned"] + p["cancelled"] < p["quantity"]:
                    payer = next(x for x in parties if x.address == p["payer"])
                    self.c.cancelUnassigned(purchase, sender=payer)
            for party in parties:
                if self.c.credits(token, party):
                    self.c.claimCredit(token, party, sender=party)
            assert token.balanceOf(self.c) == 0, "a purchased unit ended neither assigned nor refunded"

    Machine.TestCase.settings = settings(max_examples=12, stateful_step_count=40, deadline=None, derandomize=True,
                                         database=None)
    return Machine


def test_liquor_invariants_hold_across_random_action_sequences(project, owner, accounts):
    machine = run_machine(project, owner, accounts[2], accounts[6], [accounts[1], accounts[5]], accounts[7])
    machine.TestCase().runTest()
    assert SEEN["outbound"] >= 5 and SEEN["pledged"] >= 1 and SEEN["gifted"] >= 1, SEEN
    assert SEEN["repaid"] + SEEN["seized"] >= 1 and SEEN["pickups"] >= 1, SEEN
