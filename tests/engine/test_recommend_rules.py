"""Given who bought what, when a buyer asks for recommendations, then items bought together
with theirs are ranked by lift (hand-computed below), never what they have, each with its
reason, and best sellers fill the rest."""

from __future__ import annotations

from decimal import Decimal

from engine.delivery.recommend import lift, recommend

# 10 buyers. tea: 6 buyers, cups: 4, honey: 3, kettle: 5. tea & cups: 4 buyers; tea & honey: 2;
# kettle & cups: 2; tea & kettle: 3.
BOUGHT = {"tea": 6, "cups": 4, "honey": 3, "kettle": 5}
TOGETHER = {("cups", "tea"): 4, ("honey", "tea"): 2, ("cups", "kettle"): 2, ("kettle", "tea"): 3}


def test_lift_on_hand_computed_cases():
    assert lift(4, 6, 4, 10) == Decimal("1.6667")  # 4 x 10 / (6 x 4)
    assert lift(2, 6, 3, 10) == Decimal("1.1111")  # 2 x 10 / (6 x 3)
    assert lift(3, 6, 5, 10) == Decimal("1.0000")  # 3 x 10 / (6 x 5): no more than chance
    assert lift(0, 6, 5, 10) == 0


def test_a_tea_buyer_gets_what_tea_buyers_buy_ranked_by_lift_with_reasons():
    found = recommend({"tea"}, BOUGHT, TOGETHER, 10, names={"tea": "green tea"})
    assert [(r["item"], r["lift"]) for r in found] == [
        ("cups", Decimal("1.6667")),
        ("honey", Decimal("1.1111")),
        ("kettle", Decimal("1.0000")),
    ]
    assert found[0]["reason"] == "bought with green tea by 4 buyers"


def test_the_best_lift_over_the_buyers_items_counts_and_nothing_they_have_is_offered():
    found = recommend({"tea", "kettle"}, BOUGHT, TOGETHER, 10)
    # cups: via tea 1.6667, via kettle 2 x 10 / (5 x 4) = 1.0: the better one, with its reason.
    assert [(r["item"], r["lift"], r["reason"]) for r in found] == [
        ("cups", Decimal("1.6667"), "bought with tea by 4 buyers"),
        ("honey", Decimal("1.1111"), "bought with tea by 2 buyers"),
    ]


def test_pairs_bought_by_one_buyer_only_do_not_count_and_best_sellers_fill_the_list():
    found = recommend({"honey"}, BOUGHT, {("honey", "kettle"): 1, ("honey", "tea"): 2}, 10, limit=3)
    assert [(r["item"], r["lift"]) for r in found] == [("tea", Decimal("1.1111")), ("kettle", None), ("cups", None)]
    assert found[1]["reason"] == "a best seller: bought by 5 buyers"
    assert [r["item"] for r in recommend(set(), BOUGHT, TOGETHER, 10, limit=2)] == ["tea", "kettle"]
