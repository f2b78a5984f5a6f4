"""Store-device rules as stories: given these settlement events, when this one arrives,
then the store order is in this state with these reasons. No chain needed."""

from __future__ import annotations

import itertools

import pytest

from engine.settlement.escrow import fold
from engine.settlement.store_order import OrderRefused, OrderTerms, decide_terms, follow, history_entry

STORE = "0x" + "51" * 20
BUYER = "0x" + "b1" * 20
STRANGER = "0x" + "c3" * 20
LENDER = "0x" + "d4" * 20
TOKEN = "0x" + "70" * 20
OTHER_TOKEN = "0x" + "71" * 20
SNAPSHOT = "0x" + "5a" * 32
ORDER = "0x" + "41" * 4 + "00" * 28
DAY = 86_400
PAID_AT = 1_700_000_000

_log_index = itertools.count()


class Story:
    """Settlements naming one order, told log by log."""

    def __init__(self, amount_due: int = 25_000_000, buyer: str | None = None, time_limit: int | None = 10 * DAY):
        self.terms = OrderTerms(
            amount_due=amount_due, token=TOKEN, snapshot_hash=SNAPSHOT, buyer=buyer, time_limit=time_limit
        )
        self.logs: dict[str, list[dict]] = {}
        self.block = 100
        self.claims: dict[tuple[str, str], tuple[int, int]] = {}

    def _log(self, settlement: str, event: str, **args) -> None:
        self.block += 1
        coords = {
            "chain_id": 31337,
            "block_number": self.block,
            "block_hash": f"0x{self.block:064x}",
            "tx_hash": f"0x{self.block:064x}",
            "log_index": next(_log_index),
        }
        self.logs.setdefault(settlement, []).append({"event": event, "args": args, "coords": coords})

    # -- givens / whens

    def opened(
        self,
        settlement: str,
        amount: int = 25_000_000,
        buyer: str = BUYER,
        payer: str | None = None,
        token: str = TOKEN,
        snapshot: str = SNAPSHOT,
        time_limit: int = 10 * DAY,
    ) -> Story:
        self._log(
            settlement,
            "SettlementOpened",
            store=STORE,
            buyer=buyer,
            orderNumber=ORDER,
            payer=payer or buyer,
            token=token,
            amount=amount,
            snapshotHash=snapshot,
            paidAt=PAID_AT,
            deadline=PAID_AT + time_limit,
        )
        return self

    def updated(self, settlement: str, amount: int, previous: int, time_limit: int = 10 * DAY) -> Story:
        self._log(
            settlement,
            "SettlementUpdated",
            previousAmount=previous,
            amount=amount,
            snapshotHash=SNAPSHOT,
            deadline=PAID_AT + time_limit,
        )
        return self

    def shipped(self, settlement: str) -> Story:
        self._log(settlement, "SettlementShipped", waybillHash="0x" + "77" * 32)
        return self

    def claimed(self, settlement: str, amount_due: int) -> Story:
        self._log(
            settlement, "ClaimOpened", amountDue=amount_due, reasonHash="0x" + "66" * 32, respondBy=PAID_AT + 7 * DAY
        )
        return self

    def disputed(self, settlement: str, proposed: int = 0, by: str = BUYER) -> Story:
        self._log(
            settlement,
            "DisputeRaised",
            by=by,
            proposedToStore=proposed,
            reasonHash="0x" + "88" * 32,
            arbiter="0x" + "ab" * 20,
            decideBy=PAID_AT + 30 * DAY,
        )
        return self

    def completed(self, settlement: str, to_store: int, to_payer: int = 0, ending: int = 0) -> Story:
        self._log(settlement, "SettlementCompleted", paymentRecord=1, toStore=to_store, toPayer=to_payer, ending=ending)
        return self

    def credited(self, settlement: str, recipient: str, amount: int) -> Story:
        self._log(settlement, "PayoutCredited", recipient=recipient, token=TOKEN, amount=amount)
        return self

    def credit_claimed_by(self, recipient: str) -> Story:
        """The recipient claims its whole credit in the order's token (a log of its credit account)."""
        self.block += 1
        self.claims[(recipient, TOKEN)] = (self.block, next(_log_index))
        return self

    def released(self, settlement: str, to_store: int = 25_000_000) -> Story:
        self._log(settlement, "SettlementReleased", paymentRecord=2, toStore=to_store)
        return self

    def rejected(self, settlement: str, to_payer: int = 25_000_000) -> Story:
        self._log(settlement, "SettlementRejected", paymentRecord=3, toPayer=to_payer)
        return self

    def resolved(self, settlement: str, to_store: int, to_payer: int, ending: int = 4) -> Story:
        self._log(settlement, "DisputeResolved", paymentRecord=4, toStore=to_store, toPayer=to_payer, ending=ending)
        return self

    def retracted(self, settlement: str) -> Story:
        """A reorganisation took the settlement's newest log away."""
        self.logs[settlement].pop()
        return self

    # -- then

    @property
    def order(self) -> dict:
        states = []
        for sid, logs in self.logs.items():  # in the order they were opened
            state = fold(logs)
            state["id"] = sid
            states.append(state)
        return follow(self.terms, states, self.claims)


def test_nothing_paid_yet_awaits_payment():
    order = Story().order
    assert order["status"] == "awaiting_payment" and order["settlement_id"] is None and order["steps"] == []


def test_a_matching_payment_is_paid_and_shipping_and_full_confirmation_complete_it():
    story = Story().opened("S1")
    assert story.order["status"] == "paid" and story.order["mismatch"] == []
    assert story.shipped("S1").order["status"] == "shipped"
    order = story.completed("S1", 25_000_000).order
    assert (order["status"], order["paid_to_store"], order["refunded_to_payer"]) == ("completed", 25_000_000, 0)
    assert [s["step"] for s in order["steps"]] == ["SettlementOpened", "SettlementShipped", "SettlementCompleted"]


@pytest.mark.parametrize(
    "given, reason",
    [
        ({"amount": 24_000_000}, "frozen amount 24000000 differs from the order amount 25000000"),
        ({"token": OTHER_TOKEN}, f"token {OTHER_TOKEN} is not the order's {TOKEN}"),
        ({"snapshot": "0x" + "00" * 32}, "snapshot hash does not match the order snapshot"),
        ({"time_limit": 90 * DAY}, f"time limit {90 * DAY}s is not the order's {10 * DAY}s"),
    ],
)
def test_a_payment_that_does_not_match_the_terms_is_a_mismatch_with_its_reason(given, reason):
    order = Story().opened("S1", **given).order
    assert order["status"] == "payment_mismatch" and order["mismatch"] == [reason]


def test_an_order_without_a_time_limit_takes_any():
    assert Story(time_limit=None).opened("S1", time_limit=90 * DAY).order["status"] == "paid"


def test_a_top_up_turns_a_mismatch_into_a_payment():
    story = Story().opened("S1", amount=20_000_000)
    assert story.order["status"] == "payment_mismatch"
    order = story.updated("S1", amount=25_000_000, previous=20_000_000).order
    assert order["status"] == "paid" and order["frozen_amount"] == 25_000_000


def test_an_update_that_changes_the_time_limit_is_a_mismatch():
    order = Story().opened("S1").updated("S1", 25_000_000, 25_000_000, time_limit=30 * DAY).order
    assert order["status"] == "payment_mismatch" and "time limit" in order["mismatch"][0]


def test_the_store_is_short_paid_when_less_than_the_amount_due_reached_it():
    order = Story().opened("S1").shipped("S1").completed("S1", 20_000_000, 5_000_000).order
    assert (order["status"], order["paid_to_store"], order["refunded_to_payer"]) == (
        "short_paid",
        20_000_000,
        5_000_000,
    )


def test_a_rejection_refunds_and_a_release_after_the_time_limit_is_shown_as_released():
    assert Story().opened("S1").rejected("S1").order["status"] == "refunded"
    order = Story().opened("S1").shipped("S1").released("S1").order
    assert (order["status"], order["settlement_status"]) == ("released", "released")


def test_a_dispute_shows_until_the_arbiter_splits_it():
    story = Story().opened("S1").shipped("S1").disputed("S1")
    assert story.order["status"] == "disputed"
    order = story.resolved("S1", 15_000_000, 10_000_000).order
    assert (order["status"], order["settlement_status"], order["paid_to_store"]) == (
        "short_paid",
        "resolved",
        15_000_000,
    )
    assert Story().opened("S1").disputed("S1").resolved("S1", 0, 25_000_000).order["status"] == "refunded"


def test_a_claim_waits_for_the_store_then_ends_as_accepted_or_executed():
    story = Story().opened("S1").shipped("S1").claimed("S1", 20_000_000)
    order = story.order
    assert order["status"] == "claimed" and order["claim"]["amount_due"] == 20_000_000
    order = story.completed("S1", 20_000_000, 5_000_000, ending=1).order
    assert (order["status"], order["ending"], order["paid_to_store"]) == ("short_paid", "claim_accepted", 20_000_000)
    silent = Story().opened("S1").claimed("S1", 0).completed("S1", 0, 25_000_000, ending=2).order
    assert (silent["status"], silent["ending"]) == ("refunded", "claim_executed")


def test_a_contested_claim_is_a_dispute_with_the_buyers_proposal_until_it_ends():
    story = Story().opened("S1").claimed("S1", 10_000_000).disputed("S1", 10_000_000, by=STORE)
    order = story.order
    assert order["status"] == "disputed" and order["dispute"]["by"] == STORE
    assert order["dispute"]["proposed_to_store"] == 10_000_000
    order = story.resolved("S1", 17_500_000, 7_500_000, ending=5).order
    assert (order["status"], order["ending"]) == ("short_paid", "arbitration_lapsed")
    agreed = Story().opened("S1").disputed("S1", 0).resolved("S1", 25_000_000, 0, ending=3).order
    assert (agreed["status"], agreed["ending"]) == ("completed", "agreed")


def test_a_blocked_recipients_share_is_credited_and_the_order_still_completes():
    story = Story().opened("S1").completed("S1", 25_000_000).credited("S1", STORE, 25_000_000)
    order = story.order
    assert (order["status"], order["paid_to_store"]) == ("completed", 25_000_000)
    credit = order["credited"][0]
    assert (credit["recipient"], credit["token"], credit["amount"], credit["claimed"]) == (
        STORE,
        TOKEN,
        25_000_000,
        False,
    )
    assert credit["block_number"] == story.block
    # The store claims its credit: no longer owed; the order's own status does not move.
    order = story.credit_claimed_by(STORE).order
    assert order["credited"][0]["claimed"] is True and order["status"] == "completed"


def test_a_claim_before_a_credit_does_not_take_it():
    """A recipient that claimed an earlier credit is owed the one credited after its claim."""
    story = Story().credit_claimed_by(STORE).opened("S1").completed("S1", 25_000_000).credited("S1", STORE, 25_000_000)
    assert story.order["credited"][0]["claimed"] is False
    other = (
        Story().opened("S1").completed("S1", 25_000_000).credited("S1", STORE, 25_000_000).credit_claimed_by(STRANGER)
    )
    assert other.order["credited"][0]["claimed"] is False  # somebody else's claim


def test_a_matching_settlement_beats_an_earlier_mismatched_one():
    story = Story().opened("S1", buyer=STRANGER, amount=1).opened("S2")
    order = story.order
    assert (order["status"], order["settlement_id"], order["other_settlements"]) == ("paid", "S2", ["S1"])


def test_a_later_mismatched_settlement_does_not_hide_a_valid_payment():
    order = Story().opened("S1").opened("S2", buyer=STRANGER, amount=1).order
    assert (order["status"], order["settlement_id"]) == ("paid", "S1")


def test_a_rejected_settlement_no_longer_hides_a_later_valid_payment():
    story = Story().opened("S1").rejected("S1")
    assert story.order["status"] == "refunded"
    order = story.opened("S2", payer=LENDER).order  # paid again (here by a lender for the buyer)
    assert (order["status"], order["settlement_id"], order["other_settlements"]) == ("paid", "S2", ["S1"])


def test_an_order_naming_its_buyer_is_paid_only_by_that_buyers_settlement():
    story = Story(buyer=BUYER).opened("S1", buyer=STRANGER)
    order = story.order
    assert order["status"] == "payment_mismatch"
    assert order["mismatch"] == [f"buyer {STRANGER} is not the order's buyer {BUYER}"]
    # The stranger's settlement even completing pays nothing of this order.
    order = story.shipped("S1").completed("S1", 25_000_000).order
    assert (order["status"], order["settlement_id"]) == ("payment_mismatch", "S1") and order["mismatch"]
    order = story.opened("S2").order
    assert (order["status"], order["settlement_id"]) == ("paid", "S2")


def test_a_retracted_payment_leaves_the_order_awaiting_payment_with_no_trace():
    story = Story().opened("S1")
    assert story.order["status"] == "paid"
    order = story.retracted("S1").order
    assert order == follow(story.terms, [])
    assert order["steps"] == [] and order["frozen_amount"] is None


def test_a_retracted_shipment_puts_the_order_back_to_paid():
    assert Story().opened("S1").shipped("S1").retracted("S1").order["status"] == "paid"


def test_terms_the_contract_would_refuse_are_refused_at_creation():
    rules = {"default_time_limit": 10 * DAY, "min_time_limit": 3600, "max_time_limit": 90 * DAY}
    with pytest.raises(OrderRefused, match="not allowed"):
        decide_terms(1, OTHER_TOKEN, None, token_allowed=False, **rules)
    with pytest.raises(OrderRefused, match="outside the contract's range"):
        decide_terms(1, TOKEN, 60, token_allowed=True, **rules)
    assert decide_terms(1, TOKEN, None, token_allowed=True, **rules) == 10 * DAY  # the contract's default
    assert decide_terms(1, TOKEN, 7200, token_allowed=True, **rules) == 7200


def test_a_history_entry_carries_the_step_its_coordinates_and_whether_it_matched():
    story = Story().opened("S1", amount=1)
    log = story.logs["S1"][0]
    entry = history_entry("S1", log, terms=story.terms, settlement=fold(story.logs["S1"]))
    assert entry["step"] == "SettlementOpened" and entry["block_number"] == log["coords"]["block_number"]
    assert entry["mismatch"] == ["frozen amount 1 differs from the order amount 25000000"]
    gone = history_entry("S1", log, retracted=True)
    assert gone["retracted"] is True and "mismatch" not in gone


def test_a_payment_that_names_no_time_limit_opens_with_the_orders_own():
    from engine.settlement.store_order import open_time_limit

    # Given an order whose terms fix a time limit of one hour
    terms = OrderTerms(amount_due=5, token="0x" + "11" * 20, snapshot_hash="0x" + "ab" * 32, time_limit=3600)
    # When its snapshot is paid without a time limit, Then the order's own is used
    assert open_time_limit(terms, "0x" + "AB" * 32) == 3600
    # and for another snapshot, or no order at all, the contract's default (0)
    assert open_time_limit(terms, "0x" + "cd" * 32) == 0
    assert open_time_limit(None, "0x" + "ab" * 32) == 0
