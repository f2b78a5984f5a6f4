"""The group-buying rules as stories, every expectation computed by hand (shown beside it)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.group_buy.campaign import expected_effects
from engine.group_buy.moq import classify, moq
from engine.group_buy.order_book import Market, Offer, order_book, wholesale_quote
from engine.group_buy.schemes import Option, Parameter, Scheme, SchemeError, qfd, schemes

REQUIREMENTS = [{"name": "comfort", "weight": 5}, {"name": "durability", "weight": 3}, {"name": "price", "weight": 2}]
ATTRIBUTES = ["material", "stitching", "weight"]
RELATIONS = {
    ("comfort", "material"): 9,
    ("comfort", "stitching"): 1,
    ("comfort", "weight"): 3,
    ("durability", "material"): 3,
    ("durability", "stitching"): 9,
    ("price", "material"): 3,
    ("price", "stitching"): 1,
    ("price", "weight"): 1,
}
ROOF = {("material", "weight"): "-", ("material", "stitching"): "+"}


def test_qfd_weighs_each_attribute_by_the_requirements_it_serves():
    result = qfd(REQUIREMENTS, ATTRIBUTES, RELATIONS, ROOF)
    # material 5*9 + 3*3 + 2*3 = 60; stitching 5*1 + 3*9 + 2*1 = 34; weight 5*3 + 0 + 2*1 = 17; total 111
    assert result["absolute"] == {"material": 60, "stitching": 34, "weight": 17}
    # 60/111 = 54.054..%, 34/111 = 30.630..%, 17/111 = 15.315..%
    assert result["relative"] == {
        "material": Decimal("54.05"),
        "stitching": Decimal("30.63"),
        "weight": Decimal("15.32"),
    }
    assert result["ranking"] == ["material", "stitching", "weight"]
    assert result["negative_pairs"] == [("material", "weight")]


@pytest.mark.parametrize(
    "relations, roof, reason",
    [
        ({("comfort", "material"): 5}, {}, "use 0, 1, 3 or 9"),
        ({("comfort", "colour"): 9}, {}, "unknown"),
        ({}, {("material", "material"): "-"}, "two different"),
        ({}, {("material", "weight"): "x"}, "use \\+ or -"),
    ],
)
def test_qfd_refuses_what_is_not_on_its_scales(relations, roof, reason):
    with pytest.raises(SchemeError, match=reason):
        qfd(REQUIREMENTS, ATTRIBUTES, relations, roof)


PARAMETERS = [
    Parameter("color", "design", (Option("red"), Option("blue", surcharge=100))),
    Parameter("fabric", "design", (Option("wool", "material", 500), Option("cotton"))),
    Parameter("build", "perception", (Option("light", "weight", 200), Option("sturdy"))),
]
LADDER = [(1, 10_000), (10, 9_000), (50, 8_000)]
DISCOUNTS = {2: 500, 3: 1_000}  # 5 % off for two cycles, 10 % for three
A, B, C = (
    "color=red,fabric=wool,build=sturdy",
    "color=red,fabric=cotton,build=light",
    "color=red,fabric=cotton,build=sturdy",
)
D, E, F = (
    "color=blue,fabric=wool,build=sturdy",
    "color=blue,fabric=cotton,build=light",
    "color=blue,fabric=cotton,build=sturdy",
)


def catalogue() -> dict[str, Scheme]:
    kept, _ = schemes(PARAMETERS, LADDER, [1, 2, 3], [("material", "weight")], term_discount_bps=DISCOUNTS)
    return {s.id: s for s in kept}


def test_schemes_are_the_combinations_without_negatively_correlated_options():
    kept, excluded = schemes(PARAMETERS, LADDER, [1, 2, 3], [("material", "weight")], term_discount_bps=DISCOUNTS)
    # 2 x 2 x 2 = 8 combinations; wool (material) with light (weight) conflicts: 2 left out.
    assert [s.id for s in kept] == [A, B, C, D, E, F]
    assert excluded == [
        {"scheme": "color=red,fabric=wool,build=light", "conflicts": [("wool", "light")]},
        {"scheme": "color=blue,fabric=wool,build=light", "conflicts": [("wool", "light")]},
    ]
    # Each ladder is the base plus its options' surcharges: blue +100, wool +500.
    assert {s.id: s.ladder for s in kept}[D] == ((1, 10_600), (10, 9_600), (50, 8_600))
    allowed, none_left_out = schemes(PARAMETERS, LADDER, [1], [("material", "weight")], allowed=[("wool", "light")])
    assert len(allowed) == 8 and none_left_out == []


def test_a_catalogue_of_more_combinations_than_it_can_hold_is_refused_before_any_is_built():
    # Given 12 parameters of 50 options each (50**12 combinations)
    many = [Parameter(f"p{i}", "design", tuple(Option(f"o{j}") for j in range(50))) for i in range(12)]
    # When the store sets them, Then they are refused at once, naming the count
    with pytest.raises(SchemeError, match="244,140,625,000,000,000,000 combinations; a catalogue holds at most 4,096"):
        schemes(many, LADDER, [1], [])
    # and 4,096 combinations (2**12) are taken
    kept, _ = schemes([Parameter(f"p{i}", "design", (Option("a"), Option("b"))) for i in range(12)], LADDER, [1], [])
    assert len(kept) == 4_096


def test_a_price_is_the_ladder_break_less_the_term_discount_rounded_half_even_once():
    s = catalogue()
    assert s[A].unit_price(12, 1) == 9_500  # the 10-unit break, +500 for wool
    assert s[A].unit_price(12, 2) == 9_025  # 9,500 x 0.95
    assert s[A].unit_price(9, 3) == 9_450  # the 1-unit break: 10,500 x 0.90
    odd = Scheme("x", (), ((1, 9_990), (2, 9_970)), (1, 2), ((2, 500),))
    assert odd.unit_price(1, 2) == 9_490  # 9,490.5 -> the even 9,490
    assert odd.unit_price(2, 2) == 9_472  # 9,471.5 -> the even 9,472
    with pytest.raises(SchemeError, match="term of 4"):
        s[A].unit_price(12, 4)


COSTS = [
    {"department": "design", "fixed": 200_000, "variable": 1_000},
    {"department": "production", "fixed": 400_000, "variable": 3_000},
    {"department": "logistics", "fixed": 0, "variable": 1_000},
]


def test_the_moq_is_the_smallest_quantity_whose_revenue_covers_the_costs():
    result = moq(catalogue()[C], 1, COSTS)
    # fixed 600,000, variable 5,000 a unit. Band 1-9 at 10,000: needs 600,000 / 5,000 = 120 > 9.
    # Band 10-49 at 9,000: 600,000 / 4,000 = 150 > 49. Band 50+ at 8,000: 600,000 / 3,000 = 200.
    assert (result["fixed_per_cycle"], result["variable_per_unit"]) == (600_000, 5_000)
    assert result["moq"] == result["computed"] == 200
    assert result["band"] == {"minimum_quantity": 50, "unit_price": 8_000, "margin": 3_000}
    # 200 x 8,000 = 1,600,000 = 600,000 + 200 x 5,000; at 199: 1,592,000 < 1,595,000.
    cheaper = moq(catalogue()[C], 1, [{"department": "all", "fixed": 100_000, "variable": 5_000}])
    assert cheaper["moq"] == 25  # band 10-49 at 9,000: 100,000 / 4,000 = 25 (225,000 = 100,000 + 125,000)


def test_the_store_may_raise_the_moq_with_a_reason_but_never_lower_it():
    raised = moq(catalogue()[C], 1, COSTS, override={"moq": 250, "reason": "one full container"})
    assert (raised["computed"], raised["moq"], raised["override"]["reason"]) == (200, 250, "one full container")
    with pytest.raises(SchemeError, match="only be raised"):
        moq(catalogue()[C], 1, COSTS, override={"moq": 150, "reason": "sooner"})
    with pytest.raises(SchemeError, match="reason"):
        moq(catalogue()[C], 1, COSTS, override={"moq": 300, "reason": " "})


def test_a_ladder_that_never_covers_the_variable_cost_has_no_moq():
    result = moq(catalogue()[C], 1, [{"department": "production", "fixed": 1, "variable": 10_000}])
    assert result["moq"] is None and "never covers" in result["note"]


@pytest.mark.parametrize(
    "quantity, term, expected",
    [
        (250, 1, "wholesale"),  # more than the MOQ of 200, within one cycle
        (250, 2, "retail"),  # more than the MOQ, but over two cycles
        (200, 1, "retail"),  # exactly the MOQ: not more than it
        (20, 1, "retail"),  # below the MOQ: joins the queue
    ],
)
def test_buyers_are_classified_by_their_intention(quantity, term, expected):
    assert classify(quantity, term, 200)["class"] == expected


QUEUED = {(C, 2): 40, (A, 3): 7, (F, 2): 5, (B, 2): 3, (C, 1): 11, (C, 3): 2, (D, 1): 50}


def offers() -> list[Offer]:
    return [Offer(s, t, QUEUED.get((s.id, t), 0)) for s in catalogue().values() for t in s.terms]


def test_the_order_book_centres_on_the_buyers_quote_with_five_levels_each_side():
    book = order_book(offers(), C, 2, 12)
    # Own: C, 9,000 at 12 units, 5 % off for two cycles = 8,550. A@3 (9,500 x 0.90 = 8,550) shares the level.
    assert book.own == {
        "price": 8_550,
        "quantity": 12,
        "scheme": C,
        "term": 2,
        "queued": 47,
        "schemes": [f"{C}@2", f"{A}@3"],
    }
    # Associated: one parameter away (A, B, F; not D or E) or C itself, terms 1-3.
    # Above: F@2 9,100 x .95 = 8,645; B@2 9,200 x .95 = 8,740; C@1 9,000; A@2 9,025; F@1 9,100 (B@1 9,200 and
    # A@1 9,500 are beyond five levels).
    assert book.asks == [
        [8_645, 5, [f"{F}@2"]],
        [8_740, 3, [f"{B}@2"]],
        [9_000, 11, [f"{C}@1"]],
        [9_025, 0, [f"{A}@2"]],
        [9_100, 0, [f"{F}@1"]],
    ]
    # Below: B@3 9,200 x .9 = 8,280; F@3 8,190; C@3 8,100.
    assert book.bids == [[8_280, 0, [f"{B}@3"]], [8_190, 0, [f"{F}@3"]], [8_100, 2, [f"{C}@3"]]]
    # Cheapest at two cycles and 12 units over every scheme: C itself (D 9,120, E 8,835 are dearer).
    assert book.cheapest == {"scheme": C, "term": 2, "price": 8_550, "queued": 40}
    assert book.queue == 40


def test_the_wholesale_quote_is_one_offer_and_the_ladders_along_quantity_and_term():
    quote = wholesale_quote(catalogue()[D], 1, 60)
    assert (quote["unit_price"], quote["total"]) == (8_600, 516_000)  # the 50-unit break, +600
    assert quote["by_quantity"] == [
        {"minimum_quantity": 1, "unit_price": 10_600},
        {"minimum_quantity": 10, "unit_price": 9_600},
        {"minimum_quantity": 50, "unit_price": 8_600},
    ]
    assert quote["by_term"] == [
        {"term": 1, "unit_price": 8_600},
        {"term": 2, "unit_price": 8_170},
        {"term": 3, "unit_price": 7_740},
    ]


def test_expected_effects_come_from_the_campaigns_data():
    now, hour, day = 1_000_000, 3_600, 86_400
    campaigns = [
        {
            "id": 1,
            "pledged": 30,
            "moq": 100,
            "unit_price": 9_000,
            "target_date": now + 5 * day,
            "status": "open",
            "pledges": [(now - hour, 10), (now - 2 * day, 20)],
        },
        {
            "id": 2,
            "pledged": 120,
            "moq": 100,
            "unit_price": 8_500,
            "target_date": now + 10 * day,
            "status": "succeeded",
            "pledges": [(now - 100, 5), (now - 30 * hour, 115)],
        },
        {
            "id": 3,
            "pledged": 10,
            "moq": 50,
            "unit_price": 8_000,
            "target_date": now + 2 * day,
            "status": "open",
            "pledges": [(now - 2 * hour, 10)],
        },
        {
            "id": 4,
            "pledged": 0,
            "moq": 10,
            "unit_price": 7_000,
            "target_date": now + day,
            "status": "open",
            "pledges": [],
        },
        {
            "id": 5,
            "pledged": 200,
            "moq": 100,
            "unit_price": 6_000,
            "target_date": now - day,
            "status": "failed",
            "pledges": [(now - 3 * day, 200)],
        },
    ]
    effects = expected_effects(campaigns, now)
    assert effects["most_popular"] == 2  # 120 queued; the failed 5 does not count
    assert effects["growth_24h"] == {1: 10, 2: 5, 3: 10, 4: 0}
    assert effects["most_potential"] == 1  # 10 in the last day, tied with 3: the lower id
    assert effects["most_urgent"] == 4  # open, short of its MOQ, due in a day
    assert effects["most_economical"] == 4  # 7,000 (the failed 5's 6,000 does not count)
    assert expected_effects([], now) == {
        "most_popular": None,
        "most_potential": None,
        "most_urgent": None,
        "most_economical": None,
        "growth_24h": {},
    }


def test_surcharges_never_make_a_price_free_or_negative():
    discount = [Parameter("color", "design", (Option("red", surcharge=-10_000),))]
    with pytest.raises(SchemeError, match="out of 1"):
        schemes(discount, LADDER, [1])


def test_the_indexed_market_answers_what_the_whole_catalogue_answers():
    market = Market(list(catalogue().values()))
    queued = {(s, t): q for (s, t), q in QUEUED.items()}
    for scheme in (A, B, C, D, E, F):
        for term in (1, 2, 3):
            for quantity in (1, 9, 12, 60):
                expected = order_book(offers(), scheme, term, quantity)
                got = market.book(queued, scheme, term, quantity)
                assert (got.own, got.asks, got.bids, got.cheapest, got.queue) == (
                    expected.own,
                    expected.asks,
                    expected.bids,
                    expected.cheapest,
                    expected.queue,
                ), (scheme, term, quantity)
    assert {s.id for s in market.neighbours(catalogue()[C])} == {A, B, C, F}
