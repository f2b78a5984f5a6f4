"""The freight estimate as stories, every figure computed by hand beside it.

Request: CN-SZX -> DE-HAM, 50 x 40 x 30 cm = 60,000 cm3, 10 kg, 100,000 minor EUR, quoted
2026-06-30T00:00Z; the window opens 90 days before, 2026-04-01T00:00Z.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.cross_border.freight import (
    FreightError,
    History,
    NoComparables,
    estimate,
    history_order_of,
    parse_csv,
    request_of,
)

QUOTED = datetime(2026, 6, 30, tzinfo=UTC)
REQUEST = {
    "origin": "CN-SZX",
    "destination": "DE-HAM",
    "length_cm": 50,
    "width_cm": 40,
    "height_cm": 30,
    "weight_kg": "10.0",
    "price_minor": 100_000,
    "currency": "EUR",
    "quoted_at": "2026-06-30T00:00:00Z",
}


def order(
    order_id,
    length="50",
    weight="10",
    price=100_000,
    freight=0,
    at=QUOTED - timedelta(days=1),
    currency="EUR",
    path=("CN-SZX", "DE-HAM"),
):
    return history_order_of(
        {
            "order_id": order_id,
            "origin": path[0],
            "destination": path[1],
            "length_cm": length,
            "width_cm": "40",
            "height_cm": "30",
            "weight_kg": weight,
            "price_minor": price,
            "currency": currency,
            "freight_minor": freight,
            "completed_at": at.isoformat().replace("+00:00", "Z"),
        }
    )


def history(*leave_out: str) -> History:
    orders = [
        # all three classes: volume 55x40x30 = 66,000 (+10 % exactly), weight 11 (+10 %), price 110,000 (+10 %)
        order("s1", length="55", weight="11", price=110_000, freight=20_000),
        # all three, completed exactly when the window opens: weight 9 (-10 %), price 90,000 (-10 %)
        order("s2", weight="9", price=90_000, freight=22_000, at=QUOTED - timedelta(days=90)),
        # volume and weight, not price (120,000 is +20 %); completed exactly at the quote
        order("c1", weight="10.5", price=120_000, freight=30_000, at=QUOTED),
        # price only: volume 55.0005x40x30 = 66,000.6, just over +10 %; weight 20
        order("f1", length="55.0005", weight="20", price=105_000, freight=40_000),
        # price only, in USD: 100,000 x 0.9 = 90,000 EUR (-10 %); its freight 10,000 USD = 9,000 EUR
        order("x1", length="80", weight="20", price=100_000, freight=10_000, currency="USD"),
        # on the path and in the window, in no class
        order("none", length="75", weight="20", price=200_000, freight=99_999),
        # outside: just before the window, just after the quote, another path
        order("early", freight=99_999, at=QUOTED - timedelta(days=90, seconds=1)),
        order("late", freight=99_999, at=QUOTED + timedelta(seconds=1)),
        order("elsewhere", freight=99_999, path=("CN-SZX", "FR-PAR")),
    ]
    return History([o for o in orders if o.order_id not in leave_out])


def quote(h: History, rates=None, **changes):
    request, quoted_at = request_of(dict(REQUEST, **changes))
    return estimate(request, quoted_at, h, rates)


def test_every_group_weighs_in_and_the_target_rounds_half_even_once():
    result = quote(history(), {"USD": Decimal("0.9")})
    assert result["groups"] == [2, 1, 2]
    assert result["orders"] == {"S": ["s2", "s1"], "C": ["c1"], "F": ["f1", "x1"]}
    # S mean (20,000 + 22,000) / 2 = 21,000; C 30,000; F (40,000 + 9,000) / 2 = 24,500
    # E = 0.648 x 21,000 + 0.25 x 30,000 + 0.102 x 24,500 = 13,608 + 7,500 + 2,499 = 23,607
    assert result["estimate_minor"] == 23_607
    # 23,607 x 1.5 = 35,410.5 -> the even 35,410
    assert (result["target_freight_minor"], result["hold_minor"]) == (35_410, 135_410)


def test_an_empty_group_drops_out_and_the_others_are_renormalised():
    result = quote(history("c1"), {"USD": Decimal("0.9")})
    assert result["groups"] == [2, 0, 2]
    # weights 0.648 / 0.75 = 0.864 and 0.102 / 0.75 = 0.136: E = 0.864 x 21,000 + 0.136 x 24,500 = 21,476
    assert result["weights"] == {"S": "0.864", "F": "0.136"}
    assert (result["estimate_minor"], result["target_freight_minor"]) == (21_476, 32_214)
    only_end = quote(history("s1", "s2", "c1"), {"USD": Decimal("0.9")})
    assert (only_end["groups"], only_end["estimate_minor"]) == ([0, 0, 2], 24_500)  # the plain mean of F


def test_an_order_in_another_currency_without_a_rate_is_left_out_and_said_so():
    result = quote(history())
    assert result["orders"]["F"] == ["f1"] and result["left_out_without_rate"] == 1
    # F is 40,000 alone: E = 13,608 + 7,500 + 0.102 x 40,000 = 25,188
    assert result["estimate_minor"] == 25_188


def test_no_comparable_order_is_an_error_naming_the_path_and_window():
    with pytest.raises(NoComparables, match="CN-SZX -> DE-HAM between 2026-04-01T00:00:00"):
        quote(history("s1", "s2", "c1", "f1", "x1"))
    with pytest.raises(NoComparables):
        quote(History(), origin="CN-SZX")


def test_the_factor_is_the_operators():
    request, quoted_at = request_of(REQUEST)
    result = estimate(request, quoted_at, history(), {"USD": Decimal("0.9")}, factor=Decimal("1.2"))
    assert result["target_freight_minor"] == 28_328  # 23,607 x 1.2 = 28,328.4


@pytest.mark.parametrize(
    "change, field",
    [
        ({"weight_kg": "heavy"}, "weight_kg"),
        ({"length_cm": 0}, "length_cm"),
        ({"price_minor": "12.5"}, "price_minor"),
        ({"currency": "EURO"}, "currency"),
        ({"quoted_at": "2026-06-30"}, "quoted_at"),
        ({"origin": ""}, "origin"),
    ],
)
def test_a_bad_request_names_its_field(change, field):
    with pytest.raises(FreightError, match=field):
        request_of(dict(REQUEST, **change))


HEADER = (
    "order_id,origin,destination,length_cm,width_cm,height_cm,weight_kg,price_minor,currency,freight_minor,completed_at"
)


def test_a_csv_imports_whole_or_not_at_all_with_the_bad_lines_named():
    good = f"{HEADER}\na,CN-SZX,DE-HAM,50,40,30,10,100000,EUR,20000,2026-06-01T00:00:00Z\n"
    assert [o.order_id for o in parse_csv(good)] == ["a"]
    bad = good + (
        "b,CN-SZX,DE-HAM,50,40,30,ten,100000,EUR,20000,2026-06-01T00:00:00Z\n"
        "a,CN-SZX,DE-HAM,50,40,30,10,100000,EUR,20000,2026-06-01T00:00:00Z\n"
        "c,CN-SZX,DE-HAM,50,40\n"
    )
    with pytest.raises(FreightError) as refused:
        parse_csv(bad)
    message = str(refused.value)
    assert "3 bad row(s), nothing imported" in message
    assert "line 3: weight_kg" in message and "line 4: order_id a is also on line 2" in message and "line 5" in message
    with pytest.raises(FreightError, match="header must be exactly"):
        parse_csv(HEADER.replace("weight_kg", "weight") + "\n")
