"""Stateful property test: random sequences of every action, by several stores, buyers and
payers other than the buyer, with random time limits and response windows, a token that
blocklists parties on and off, and time travel past every window.

A model kept independently of the contract's events says what every party's token balance
must be; after every step the balances equal the model (nobody receives more, or less),
the contract holds exactly the frozen amounts plus the unclaimed credits, and every
settlement that ended did so in exactly one payout. At the end of each run, once every
window has passed, anyone can end whatever is still open and every credit can be claimed:
nothing is stuck."""

import ape
from ape.exceptions import ContractLogicError
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .conftest import DAY

PAYOUTS = ("SettlementCompleted", "SettlementReleased", "SettlementRejected", "DisputeResolved")
SNAP = b"\x01" * 32
SEEN = {"opens": 0, "payouts": 0, "credits": 0, "claims": 0, "disputes": 0}
MAX_LIMIT = 90 * DAY


class Deal:
    """The model of one key's latest settlement."""

    def __init__(self):
        self.status = "none"
        self.amount = 0
        self.claimed = 0      # the buyer's amount due, or its proposed split in a dispute
        self.payouts = 0


def run_machine(project, owner, arbiter, stranger, stores, buyers, lender):
    token = project.TestBlocklistToken.deploy(owner, sender=owner)
    parties = [*stores, *buyers, lender]
    for p in parties:
        token.mint(p, 10**15, sender=owner)
    # (store, buyer, payer): payers other than the buyer too.
    deals = [(stores[0], buyers[0], buyers[0]), (stores[0], buyers[1], lender), (stores[1], buyers[0], lender),
             (stores[1], buyers[1], buyers[1])]

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = ape.chain.snapshot()

        @initialize(response=st.integers(1, 20), arbitration=st.integers(1, 45))
        def deploy(self, response, arbitration):
            self.response, self.arbitration = response * DAY, arbitration * DAY
            self.c = project.C2CSettlement.deploy(owner, arbiter, 10 * DAY, 3600, MAX_LIMIT, self.response,
                                                  self.arbitration, DAY, sender=owner)
            self.c.setTokenAllowed(token, True, sender=owner)
            for p in parties:
                token.approve(self.c, 2**256 - 1, sender=p)
            self.keys = [(s.address, f"O-{i}".encode().ljust(32, b"\0"), b.address, p.address, token.address)
                         for i, (s, b, p) in enumerate(deals)]
            self.model = [Deal() for _ in deals]
            self.balance = {p.address: token.balanceOf(p) for p in parties}
            self.credits = {p.address: 0 for p in parties}
            self.blocked = {p.address: False for p in parties}

        def teardown(self):
            if hasattr(self, "c"):
                try:
                    self._nothing_is_stuck()
                finally:
                    ape.chain.restore(self.snapshot)
            else:
                ape.chain.restore(self.snapshot)

        # -- acting and modelling

        def _any(self, *statuses) -> bool:
            return hasattr(self, "model") and any(d.status in statuses for d in self.model)

        def _pick(self, data, *statuses) -> int:
            """A deal in one of ``statuses`` (most of the time), so that most steps do something."""
            fitting = [i for i, d in enumerate(self.model) if d.status in statuses]
            everyone = list(range(len(deals)))
            return data.draw(st.sampled_from(fitting) if fitting and data.draw(st.integers(0, 9)) else
                             st.sampled_from(everyone))

        def _call(self, fn, *args, sender):
            try:
                return fn(*args, sender=sender)
            except ContractLogicError:
                return None

        def _pay(self, to: str, amount: int) -> None:
            if amount == 0:
                return
            if self.blocked[to]:
                self.credits[to] += amount
                SEEN["credits"] += 1
            else:
                self.balance[to] += amount

        def _ended(self, i, receipt, to_store: int) -> None:
            deal, (store, _, payer) = self.model[i], deals[i]
            payouts = [log for log in receipt.events if log.event_name in PAYOUTS]
            assert len(payouts) == 1, "a settlement ended without exactly one payout"
            self._pay(store.address, to_store)
            self._pay(payer.address, deal.amount - to_store)
            deal.status, deal.amount, deal.payouts = "closed", 0, deal.payouts + 1
            SEEN["payouts"] += 1

        # -- the payer

        @rule(i=st.integers(0, len(deals) - 1), amount=st.integers(1, 10**9), days=st.integers(0, 90))
        def open(self, i, amount, days):
            deal, payer = self.model[i], deals[i][2]
            receipt = self._call(self.c.open, self.keys[i], amount, SNAP, days * DAY, sender=payer)
            if receipt is None:
                return
            if deal.status in ("none", "closed"):
                self.balance[payer.address] -= amount
            else:
                assert deal.status == "paid"
                self.balance[payer.address] += deal.amount - amount
            deal.status, deal.amount = "paid", amount
            SEEN["opens"] += 1

        # -- the store

        @precondition(lambda self: self._any(*("paid",)))
        @rule(data=st.data())
        def ship(self, data):
            i = self._pick(data, *("paid",))
            deal = self.model[i]
            if self._call(self.c.ship, self.keys[i], SNAP, deal.amount, SNAP, sender=deals[i][0]) is not None:
                deal.status = "shipped"

        @precondition(lambda self: self._any(*("paid", "claimed", "disputed")))
        @rule(data=st.data())
        def reject(self, data):
            i = self._pick(data, *("paid", "claimed", "disputed"))
            receipt = self._call(self.c.reject, self.keys[i], sender=deals[i][0])
            if receipt is not None:
                self._ended(i, receipt, 0)

        @precondition(lambda self: self._any(*("claimed",)))
        @rule(data=st.data())
        def accept_claim(self, data):
            i = self._pick(data, *("claimed",))
            receipt = self._call(self.c.acceptClaim, self.keys[i], sender=deals[i][0])
            if receipt is not None:
                self._ended(i, receipt, self.model[i].claimed)

        @precondition(lambda self: self._any(*("claimed",)))
        @rule(data=st.data())
        def contest_claim(self, data):
            i = self._pick(data, *("claimed",))
            if self._call(self.c.contestClaim, self.keys[i], SNAP, sender=deals[i][0]) is not None:
                self.model[i].status = "disputed"
                SEEN["disputes"] += 1

        # -- the buyer

        @precondition(lambda self: self._any(*("paid", "shipped", "claimed", "disputed")))
        @rule(data=st.data())
        def confirm(self, data):
            i = self._pick(data, *("paid", "shipped", "claimed", "disputed"))
            receipt = self._call(self.c.confirm, self.keys[i], sender=deals[i][1])
            if receipt is not None:
                self._ended(i, receipt, self.model[i].amount)

        @precondition(lambda self: self._any(*("paid", "shipped")))
        @rule(data=st.data(), share=st.floats(0, 0.99))
        def claim(self, data, share):
            i = self._pick(data, *("paid", "shipped"))
            deal = self.model[i]
            due = int(deal.amount * share)
            if self._call(self.c.claim, self.keys[i], due, SNAP, sender=deals[i][1]) is not None:
                deal.status, deal.claimed = "claimed", due
                SEEN["claims"] += 1

        @precondition(lambda self: self._any(*("paid", "shipped")))
        @rule(data=st.data(), share=st.floats(0, 1))
        def dispute(self, data, share):
            i = self._pick(data, *("paid", "shipped"))
            deal = self.model[i]
            proposed = int(deal.amount * share)
            if self._call(self.c.dispute, self.keys[i], proposed, SNAP, sender=deals[i][1]) is not None:
                deal.status, deal.claimed = "disputed", proposed
                SEEN["disputes"] += 1

        # -- anyone, the arbiter

        @precondition(lambda self: self._any(*("paid", "shipped")))
        @rule(data=st.data())
        def release(self, data):
            i = self._pick(data, *("paid", "shipped"))
            receipt = self._call(self.c.release, self.keys[i], sender=stranger)
            if receipt is not None:
                self._ended(i, receipt, self.model[i].amount)

        @precondition(lambda self: self._any(*("claimed",)))
        @rule(data=st.data())
        def execute_claim(self, data):
            i = self._pick(data, *("claimed",))
            receipt = self._call(self.c.executeClaim, self.keys[i], sender=stranger)
            if receipt is not None:
                self._ended(i, receipt, self.model[i].claimed)

        @precondition(lambda self: self._any(*("disputed",)))
        @rule(data=st.data(), share=st.floats(0, 1))
        def resolve(self, data, share):
            i = self._pick(data, *("disputed",))
            to_store = int(self.model[i].amount * share)
            receipt = self._call(self.c.resolve, self.keys[i], to_store, sender=arbiter)
            if receipt is not None:
                self._ended(i, receipt, to_store)

        @precondition(lambda self: self._any(*("disputed",)))
        @rule(data=st.data())
        def end_lapsed_dispute(self, data):
            i = self._pick(data, *("disputed",))
            deal = self.model[i]
            receipt = self._call(self.c.endLapsedDispute, self.keys[i], sender=stranger)
            if receipt is not None:
                self._ended(i, receipt, deal.claimed + (deal.amount - deal.claimed) // 2)

        @rule(who=st.integers(0, len(parties) - 1))
        def claim_credit(self, who):
            party = parties[who].address
            if self._call(self.c.claimCredit, token, party, sender=parties[who]) is not None:
                self.balance[party] += self.credits[party]
                self.credits[party] = 0

        # -- the world

        @rule(data=st.data(), unblock=st.integers(0, 3))
        def blocklist(self, data, unblock):
            # Mostly blocking a party of a deal that holds funds, so that payouts meet blocked recipients.
            holding = [p for i, (s_, _, p) in enumerate(deals)
                       if self.model[i].status not in ("none", "closed") for p in (s_, p)]
            who = parties.index(data.draw(st.sampled_from(holding or parties)))
            blocked = unblock != 0
            token.setBlocked(parties[who], blocked, sender=owner)
            self.blocked[parties[who].address] = blocked

        @rule(days=st.integers(1, 16))
        def time_passes(self, days):
            ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + days * DAY)

        # -- what must always hold

        @invariant()
        def every_balance_is_what_the_model_says(self):
            if not hasattr(self, "c"):
                return
            for party, expected in self.balance.items():
                assert token.balanceOf(party) == expected, f"{party} holds what the model does not say"

        @invariant()
        def the_contract_holds_the_frozen_amounts_and_the_credits(self):
            if not hasattr(self, "c"):
                return
            assert token.balanceOf(self.c) == sum(d.amount for d in self.model) + sum(self.credits.values())

        # -- at the end

        def _nothing_is_stuck(self):
            for party, owed in self.credits.items():
                assert self.c.credits(token, party) == owed
            for party in parties:
                token.setBlocked(party, False, sender=owner)
            ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + MAX_LIMIT + self.response + self.arbitration)
            for i, deal in enumerate(self.model):
                if deal.status in ("paid", "shipped"):
                    self.c.release(self.keys[i], sender=stranger)
                elif deal.status == "claimed":
                    self.c.executeClaim(self.keys[i], sender=stranger)
                elif deal.status == "disputed":
                    self.c.endLapsedDispute(self.keys[i], sender=stranger)
            for party in parties:
                if self.c.credits(token, party):
                    self.c.claimCredit(token, party, sender=party)
            assert token.balanceOf(self.c) == 0, "something is stuck once every window has passed"

    Machine.TestCase.settings = settings(max_examples=12, stateful_step_count=40, deadline=None, derandomize=True,
                                         database=None)
    return Machine


def test_invariants_hold_across_random_action_sequences(project, owner, arbiter, stranger, accounts):
    machine = run_machine(project, owner, arbiter, stranger, [accounts[2], accounts[6]], [accounts[1], accounts[5]],
                          accounts[7])
    machine.TestCase().runTest()
    # The properties held over sequences that really moved money, not only over refusals.
    assert SEEN["opens"] >= 5 and SEEN["payouts"] >= 3 and SEEN["claims"] >= 1 and SEEN["disputes"] >= 1, SEEN
    assert SEEN["credits"] >= 1, SEEN
