"""The liquor domain's rules as stories: what a case's logs say, listings and their mismatches,
inventory, overdue loans, metadata. No chain: logs are written as the reader records them."""

from __future__ import annotations

import pytest

from engine.liquor import (
    ListingRefused,
    case_code_bytes32,
    case_code_text,
    case_metadata,
    document_hash,
    facts_document,
    fold_case,
    fold_purchase,
    inventory,
    loan_overdue,
    plan_mismatches,
    terms_document,
)

ZERO = "0x" + "00" * 20
ALICE, BOB, LENDER = "0x" + "a1" * 20, "0x" + "b0" * 20, "0x" + "1e" * 20
CODE = case_code_bytes32("GLN-1")
FACTS = {
    "name": "Old Reserve",
    "producer": "Glen",
    "vintage": 2015,
    "volume_ml": 700,
    "abv": "43.50",
    "bottles_per_case": 6,
}


def log(name: str, tx: int, index: int = 0, block: int | None = None, **args) -> dict:
    return {
        "event": name,
        "args": args,
        "coords": {
            "chain_id": 31337,
            "block_number": block or tx,
            "block_hash": "0x" + f"{tx:064x}",
            "tx_hash": "0x" + f"{tx:064x}",
            "log_index": index,
        },
    }


def minted(tx: int = 1, owner: str = ALICE) -> list[dict]:
    return [
        log("CaseOutbound", tx, 0, planId=1, purchaseId=1, caseCode=CODE, owner=owner),
        log("Transfer", tx, 1, **{"from": ZERO, "to": owner}),
    ]


def test_an_outbound_case_is_in_custody_with_its_readable_code():
    case = fold_case(minted())
    assert (case["owner"], case["state"], case["locked"], case["case_code_text"]) == (
        ALICE,
        "in_custody",
        False,
        "GLN-1",
    )
    assert [s["step"] for s in case["steps"]] == ["CaseOutbound"]  # the mint's Transfer is told by the outbound


def test_a_gift_moves_the_case_and_tells_the_transfer_once():
    case = fold_case(
        minted()
        + [
            log("CaseGifted", 2, 0, **{"from": ALICE, "to": BOB, "messageHash": "0x11"}),
            log("Transfer", 2, 1, **{"from": ALICE, "to": BOB}),
        ]
    )
    assert case["owner"] == BOB
    assert [s["step"] for s in case["steps"]] == ["CaseOutbound", "CaseGifted"]


def test_a_plain_erc721_transfer_is_a_step_of_its_own():
    case = fold_case(minted() + [log("Transfer", 2, 0, **{"from": ALICE, "to": BOB})])
    assert case["owner"] == BOB and case["steps"][-1]["step"] == "Transferred"


def pledged(due: int = 1_000) -> list[dict]:
    return minted() + [log("Pledged", 2, 0, lender=LENDER, holder=ALICE, principal=100, interest=5, dueAt=due)]


def test_a_pledge_locks_the_case_and_repayment_unlocks_it_keeping_the_loan_in_the_book():
    case = fold_case(pledged())
    assert (case["state"], case["locked"], case["loan"]["lender"]) == ("pledged", True, LENDER)
    case = fold_case(pledged() + [log("Repaid", 3, 0, lender=LENDER, by=BOB, amount=105)])
    assert (case["state"], case["locked"], case["loan"]) == ("in_custody", False, None)
    assert [(loan["status"], loan["ended"]["step"]) for loan in case["loans"]] == [("repaid", "Repaid")]


def test_a_seizure_gives_the_case_to_the_lender_unlocked():
    case = fold_case(
        pledged()
        + [
            log("Seized", 3, 0, lender=LENDER, **{"from": ALICE}),
            log("Transfer", 3, 1, **{"from": ALICE, "to": LENDER}),
        ]
    )
    assert (case["owner"], case["state"], case["locked"]) == (LENDER, "in_custody", False)
    assert case["loans"][0]["status"] == "seized"
    assert [s["step"] for s in case["steps"]][-1] == "Seized"


def test_overdue_is_only_an_active_loan_past_its_due_date():
    active = fold_case(pledged(due=1_000))["loan"]
    assert not loan_overdue(active, 1_000) and loan_overdue(active, 1_001)
    repaid = fold_case(pledged(due=1_000) + [log("Repaid", 3, lender=LENDER, by=ALICE, amount=105)])["loans"][0]
    assert not loan_overdue(repaid, 5_000)


def test_a_pickup_locks_the_case_cancel_unlocks_and_delivery_ends_it():
    asked = minted() + [log("PickupRequested", 2, 0, holder=ALICE, ciphertext="0x04aa", codeHash="0x22")]
    case = fold_case(asked)
    assert (case["state"], case["locked"], case["pickup"]["ciphertext"]) == ("redeeming", True, "0x04aa")
    assert fold_case(asked + [log("PickupCancelled", 3)])["state"] == "in_custody"
    dispatched = asked + [log("PickupDispatched", 3)]
    assert fold_case(dispatched)["state"] == "dispatched"
    assert fold_case(dispatched + [log("ReturnedToCustody", 4)])["pickup"] is None
    done = fold_case(
        dispatched + [log("Delivered", 4, 0, caseCode=CODE), log("Transfer", 4, 1, **{"from": ALICE, "to": ZERO})]
    )
    assert (done["state"], done["owner"], done["pickup"]) == ("delivered", ALICE, None)  # the last holder
    assert [s["step"] for s in done["steps"]][-1] == "Delivered"


def test_a_loan_purchase_remembers_its_loan_and_cancellation_counts_refunds():
    purchase = fold_purchase(
        [
            log(
                "Purchased",
                1,
                planId=1,
                buyer=ALICE,
                payer=LENDER,
                quantity=3,
                amount=300,
                termsHash="0x33",
                lender=LENDER,
                interestPerCase=7,
                loanTerm=99,
            ),
            log("PurchaseCancelled", 2, units=2, refund=200),
        ]
    )
    assert purchase["loan"] == {"lender": LENDER, "interest_per_case": 7, "term": 99}
    assert (purchase["cancelled"], purchase["refunded"]) == (2, 200)


def test_inventory_counts_every_case_once_where_it_stands():
    purchases = [{"quantity": 5, "cancelled": 1}, {"quantity": 2, "cancelled": 0}]
    counts = {"in_custody": 2, "pledged": 1, "redeeming": 1, "dispatched": 0, "delivered": 1}
    assert inventory({"cases": 10}, purchases, counts) == {
        "cases": 10,
        "for_sale": 4,
        "awaiting_outbound": 1,
        "in_custody": 3,
        "pledged": 1,
        "redeeming": 1,
        "delivered": 1,
    }


def test_facts_are_canonical_so_the_same_liquor_has_one_hash():
    assert facts_document(FACTS)["abv"] == "43.5"
    assert document_hash(facts_document(FACTS)) == document_hash(facts_document(dict(FACTS, abv="43.5")))
    assert document_hash(facts_document(FACTS)) != document_hash(facts_document(dict(FACTS, vintage=2016)))


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"name": ""}, "need name"),
        ({"abv": "strong"}, "not a decimal"),
        ({"abv": "0"}, "percentage"),
        ({"vintage": -1}, "positive integer"),
    ],
)
def test_incomplete_facts_are_refused_with_their_reason(change, reason):
    with pytest.raises(ListingRefused, match=reason):
        facts_document(dict(FACTS, **change))


def test_terms_need_their_text():
    with pytest.raises(ListingRefused, match="text"):
        terms_document({"text": "  "})


def plan(**changes) -> dict:
    listing_terms = document_hash(terms_document({"text": "insured"}))
    return dict(
        {
            "producer": ALICE,
            "facts_hash": "0xfa",
            "terms_hash": listing_terms,
            "cases": 10,
            "unit_price": 100,
            "token": "0x" + "70" * 20,
            "warehouse": BOB,
            "fulfilment_window": 86_400,
        },
        **changes,
    )


LISTING = {
    "terms_hash": document_hash(terms_document({"text": "insured"})),
    "sale": {"cases": 10, "unit_price": 100, "token": "0x" + "70" * 20, "warehouse": BOB, "fulfilment_window": 86_400},
}


def test_a_plan_matching_its_listing_has_no_mismatch():
    assert plan_mismatches(plan(), LISTING) == []
    assert plan_mismatches(plan(cases=99), dict(LISTING, sale=None)) == []  # a listing without a sale checks terms


def test_a_plan_without_listing_or_with_other_terms_or_sale_is_flagged():
    assert "no listing" in plan_mismatches(plan(), None)[0]
    problems = plan_mismatches(plan(terms_hash="0xbad", unit_price=90, warehouse=ALICE), LISTING)
    assert len(problems) == 3 and "custody terms hash" in problems[0]
    assert any("unit_price 90" in p for p in problems) and any("warehouse" in p for p in problems)


def test_metadata_carries_code_vintage_warehouse_and_lock_state():
    case = fold_case(pledged())
    meta = case_metadata(7, case, {"warehouse": BOB}, facts_document(FACTS))
    traits = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert meta["name"] == "Old Reserve #7"
    assert (traits["Case code"], traits["Vintage"], traits["Custody warehouse"], traits["Locked"]) == (
        "GLN-1",
        2015,
        BOB,
        "yes",
    )


def test_case_codes_read_back_and_garbage_reads_as_none():
    assert case_code_text(case_code_bytes32("A-1/2")) == "A-1/2"
    assert case_code_text("0x" + "ff" * 32) is None
