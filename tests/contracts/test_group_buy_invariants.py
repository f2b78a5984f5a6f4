"""Stateful property test of GroupBuy: random campaigns, pledges, MOQ and target-date
changes, cancellations, collections and refunds, with time travel.

An independent model keeps every campaign's terms, pledges and deposits and every party's
token balance. After every step: balances equal the model; the contract holds exactly the
deposits neither collected nor refunded, plus unclaimed credits; a campaign succeeded
exactly once, and only with its pledges at or above its MOQ; the price and deposit per
unit never changed. At the end, every backer of a failed or cancelled campaign refunds
exactly once (a second refund is refused) and every succeeded campaign's deposits are
collected, leaving the contract empty."""

import ape
from ape.exceptions import ContractLogicError
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .conftest import DAY

PRICE, DEPOSIT = 1_000, 200
SEEN = {"pledged": 0, "triggered": 0, "lowered": 0, "extended": 0, "cancelled": 0, "refunded": 0, "collected": 0,
        "failed": 0}


def run_machine(project, owner, enterprise, backers):
    token = project.TestStablecoin.deploy(owner, sender=owner)
    parties = [enterprise, *backers]
    for p in parties:
        token.mint(p, 10**12, sender=owner)

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = ape.chain.snapshot()

        @initialize()
        def deploy(self):
            self.c = project.GroupBuy.deploy(owner, sender=owner)
            self.c.setTokenAllowed(token, True, sender=owner)
            for p in parties:
                token.approve(self.c, 2**256 - 1, sender=p)
            self.balance = {p.address: token.balanceOf(p) for p in parties}
            self.campaigns: dict[int, dict] = {}

        def teardown(self):
            try:
                if hasattr(self, "c"):
                    self._every_deposit_ends_collected_or_refunded_once()
            finally:
                ape.chain.restore(self.snapshot)

        def _call(self, fn, *args, sender):
            try:
                return fn(*args, sender=sender)
            except ContractLogicError:
                return None

        def _now(self) -> int:
            return ape.chain.blocks.head.timestamp

        def _status(self, c: dict, when: int | None = None) -> str:
            """The campaign's status at ``when`` (default: the next transaction's block time)."""
            if c["succeeded"]:
                return "succeeded"
            if c["cancelled"]:
                return "cancelled"
            return "failed" if (when or ape.chain.pending_timestamp) > c["target"] else "open"

        @rule(moq=st.integers(1, 8), extra=st.integers(0, 6), days=st.integers(1, 20))
        def open_campaign(self, moq, extra, days):
            target = ape.chain.pending_timestamp + days * DAY
            receipt = self.c.openCampaign(b"\x01" * 32, 1, token, PRICE, DEPOSIT, moq, moq + extra, target,
                                          sender=enterprise)
            campaign = receipt.decode_logs(self.c.CampaignOpened)[0].campaignId
            self.campaigns[campaign] = {"moq": moq, "max": moq + extra, "target": target, "pledged": 0,
                                        "succeeded": False, "cancelled": False, "backers": {}, "deposits": 0,
                                        "collected": 0, "refunded": set(), "opened": self._now()}

        @precondition(lambda self: bool(getattr(self, "campaigns", None)))
        @rule(data=st.data(), who=st.integers(0, len(backers) - 1), quantity=st.integers(1, 5))
        def pledge(self, data, who, quantity):
            campaign = data.draw(st.sampled_from(sorted(self.campaigns)))
            c, backer = self.campaigns[campaign], backers[who]
            when = ape.chain.pending_timestamp
            allowed = self._status(c, when) in ("open", "succeeded") and when <= c["target"] \
                and c["pledged"] + quantity <= c["max"]
            receipt = self._call(self.c.pledge, campaign, quantity, b"\xc0" * 32, sender=backer)
            assert (receipt is not None) == allowed, (when, c, quantity)
            if receipt is None:
                return
            c["pledged"] += quantity
            c["deposits"] += quantity * DEPOSIT
            c["backers"][backer.address] = c["backers"].get(backer.address, 0) + quantity * DEPOSIT
            self.balance[backer.address] -= quantity * DEPOSIT
            triggered = receipt.decode_logs(self.c.ProductionTriggered)
            self._triggered(c, triggered)
            SEEN["pledged"] += 1

        def _triggered(self, c: dict, triggered) -> None:
            if triggered:
                assert not c["succeeded"], "production triggered twice"
                assert c["pledged"] >= c["moq"], "success below the MOQ"
                c["succeeded"] = True
                SEEN["triggered"] += 1
            else:
                assert c["succeeded"] or c["pledged"] < c["moq"], "the MOQ was reached without success"

        @precondition(lambda self: bool(getattr(self, "campaigns", None)))
        @rule(data=st.data(), by=st.integers(1, 4))
        def lower_moq(self, data, by):
            campaign = data.draw(st.sampled_from(sorted(self.campaigns)))
            c = self.campaigns[campaign]
            moq = max(0, c["moq"] - by)
            allowed = self._status(c) == "open" and 0 < moq < c["moq"]
            receipt = self._call(self.c.lowerMoq, campaign, moq, sender=enterprise)
            assert (receipt is not None) == allowed, "the MOQ of a closed campaign changed, or a lowering refused"
            if receipt is None:
                return
            c["moq"] = moq
            self._triggered(c, receipt.decode_logs(self.c.ProductionTriggered))
            SEEN["lowered"] += 1

        @precondition(lambda self: bool(getattr(self, "campaigns", None)))
        @rule(data=st.data(), days=st.integers(1, 400))
        def extend(self, data, days):
            campaign = data.draw(st.sampled_from(sorted(self.campaigns)))
            c = self.campaigns[campaign]
            target = c["target"] + days * DAY
            allowed = self._status(c) == "open" and target <= c["opened"] + 365 * DAY
            receipt = self._call(self.c.extendTargetDate, campaign, target, sender=enterprise)
            assert (receipt is not None) == allowed, "a target date beyond the bound, or of a closed campaign"
            if receipt is None:
                return
            c["target"] = target
            SEEN["extended"] += 1

        @precondition(lambda self: bool(getattr(self, "campaigns", None)))
        @rule(data=st.data(), now=st.integers(0, 3))
        def cancel(self, data, now):
            if now:   # enterprises seldom cancel: most campaigns run to their end
                return
            campaign = data.draw(st.sampled_from(sorted(self.campaigns)))
            c = self.campaigns[campaign]
            allowed = self._status(c) == "open"
            if self._call(self.c.cancel, campaign, sender=enterprise) is not None:
                assert allowed, "a campaign that had succeeded, failed or been cancelled was cancelled"
                c["cancelled"] = True
                SEEN["cancelled"] += 1

        def _refundable(self) -> list[tuple[int, int]]:
            """(campaign, backer index) pairs of failed or cancelled campaigns the backer backed."""
            return [(i, k) for i, c in sorted(getattr(self, "campaigns", {}).items())
                    if self._status(c) in ("failed", "cancelled") for k, b in enumerate(backers)
                    if c["backers"].get(b.address)]

        @precondition(lambda self: bool(getattr(self, "campaigns", None)))
        @rule(data=st.data(), who=st.integers(0, len(backers) - 1), owed=st.booleans())
        def refund(self, data, who, owed):
            choices = self._refundable() if owed else []
            if choices:   # mostly refunds that are owed; else anyone of any campaign (refused unless owed)
                campaign, who = data.draw(st.sampled_from(choices))
            else:
                campaign = data.draw(st.sampled_from(sorted(self.campaigns)))
            c, backer = self.campaigns[campaign], backers[who]
            owed = c["backers"].get(backer.address, 0)
            may = self._status(c) in ("failed", "cancelled") and owed > 0 and backer.address not in c["refunded"]
            receipt = self._call(self.c.refund, campaign, sender=backer)
            assert (receipt is not None) == may, "a refund where none is owed, or none where one is"
            if receipt is not None:
                c["refunded"].add(backer.address)
                self.balance[backer.address] += owed
                SEEN["refunded"] += 1
                if not c["cancelled"]:
                    SEEN["failed"] += 1

        @precondition(lambda self: bool(getattr(self, "campaigns", None)))
        @rule(data=st.data())
        def collect(self, data):
            campaign = data.draw(st.sampled_from(sorted(self.campaigns)))
            c = self.campaigns[campaign]
            receipt = self._call(self.c.collect, campaign, sender=enterprise)
            if receipt is None:
                assert not c["succeeded"] or c["deposits"] == c["collected"]
                return
            assert c["succeeded"], "deposits of a campaign that did not succeed were collected"
            self.balance[enterprise.address] += c["deposits"] - c["collected"]
            c["collected"] = c["deposits"]
            SEEN["collected"] += 1

        @rule(days=st.integers(1, 15))
        def time_passes(self, days):
            ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + days * DAY)

        @invariant()
        def money_and_terms_are_what_the_model_says(self):
            if not hasattr(self, "c"):
                return
            for party, expected in self.balance.items():
                assert token.balanceOf(party) == expected, f"{party} holds what the model does not say"
            unpaid = sum(c["deposits"] - c["collected"] - sum(c["backers"][b] for b in c["refunded"])
                         for c in self.campaigns.values())
            assert token.balanceOf(self.c) == unpaid
            for campaign, c in self.campaigns.items():
                on_chain = self.c.campaigns(campaign)
                assert (on_chain.unitPrice, on_chain.depositPerUnit) == (PRICE, DEPOSIT), "price or deposit changed"
                assert (on_chain.succeeded, on_chain.pledged, on_chain.moq) == (c["succeeded"], c["pledged"], c["moq"])
                for backer, deposit in c["backers"].items():
                    assert self.c.backings(campaign, backer).deposit == deposit

        def _every_deposit_ends_collected_or_refunded_once(self):
            ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + 366 * DAY)
            for campaign, c in self.campaigns.items():
                if c["succeeded"]:
                    if c["deposits"] > c["collected"]:
                        self.c.collect(campaign, sender=enterprise)
                    continue
                for backer in backers:
                    if c["backers"].get(backer.address) and backer.address not in c["refunded"]:
                        self.c.refund(campaign, sender=backer)
                        SEEN["refunded"] += 1
                        SEEN["failed"] += not c["cancelled"]
                    assert self._call(self.c.refund, campaign, sender=backer) is None, "refunded twice"
            assert token.balanceOf(self.c) == 0, "a deposit ended neither collected nor refunded"

    Machine.TestCase.settings = settings(max_examples=10, stateful_step_count=35, deadline=None, derandomize=True,
                                         database=None)
    return Machine


def test_group_buy_invariants_hold_across_random_action_sequences(project, owner, accounts):
    machine = run_machine(project, owner, accounts[2], [accounts[1], accounts[5], accounts[6]])
    machine.TestCase().runTest()
    assert SEEN["pledged"] >= 10 and SEEN["triggered"] >= 2 and SEEN["refunded"] >= 2 and SEEN["failed"] >= 1, SEEN
    assert SEEN["lowered"] >= 1 and SEEN["extended"] >= 1 and SEEN["collected"] >= 1, SEEN
