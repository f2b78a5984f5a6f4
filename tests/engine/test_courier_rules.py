"""Given couriers with hubs, service radii and rates, when a parcel goes from a pickup point to
a delivery address, then only couriers serving both ends are offered, the cheapest is chosen
(ties: the hub nearest the pickup point, then the id), and the price is broken down and
rounded up. Distances on the equator are hand-computed: one degree of longitude is
2 x pi x 6,371.0088 / 360 = 111.19508 km."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.delivery.couriers import Courier, CourierRefused, choose, great_circle_km, offers, route_km

ORIGIN, DESTINATION = (0.0, 0.0), (0.0, 1.0)  # 111.195 km apart


def courier(cid: str, hubs, radius="200", base=500, per_km="2.5", per_kg="100") -> Courier:
    return Courier(cid, cid.title(), "s10", tuple(hubs), Decimal(radius), base, Decimal(per_km), Decimal(per_kg))


def test_great_circle_distances_on_hand_computed_cases():
    assert great_circle_km(ORIGIN, DESTINATION) == pytest.approx(111.19508, abs=1e-4)
    assert great_circle_km((0.0, 0.0), (90.0, 0.0)) == pytest.approx(
        10_007.5572, abs=1e-3
    )  # a quarter circle: pi x 6,371.0088 / 2
    assert great_circle_km((10.0, 20.0), (10.0, 20.0)) == 0
    assert route_km(ORIGIN, DESTINATION) == Decimal("111.195")


def test_the_price_is_broken_down_and_each_part_rounded_up():
    [offer] = offers([courier("alpha", [(0.0, 0.5)])], ORIGIN, DESTINATION, Decimal("1.5"))
    # 2.5 x 111.195 = 277.9875 -> 278; 100 x 1.5 = 150; 500 + 278 + 150 = 928
    assert (offer["base"], offer["distance_part"], offer["weight_part"], offer["total"]) == (500, 278, 150, 928)
    assert offer["distance_km"] == Decimal("111.195") and offer["pickup_km"] == Decimal("55.598")


def test_only_couriers_serving_both_ends_are_offered_and_the_cheapest_is_chosen():
    near_both = courier("alpha", [(0.0, 0.5)], base=900)
    cheaper = courier("bravo", [(0.0, 0.0), (0.0, 1.0)], radius="10", base=400)
    one_end_only = courier("charlie", [(0.0, 0.0)], radius="50", base=1)  # the destination is 111 km off
    far_away = courier("delta", [(45.0, 45.0)], base=0)
    found = offers([near_both, cheaper, one_end_only, far_away], ORIGIN, DESTINATION, Decimal("2"))
    assert [o["courier_id"] for o in found] == ["bravo", "alpha"]
    assert (
        choose([near_both, cheaper, one_end_only, far_away], ORIGIN, DESTINATION, Decimal("2"))["courier_id"] == "bravo"
    )
    assert choose([one_end_only, far_away], ORIGIN, DESTINATION, Decimal("2")) is None


def test_on_equal_price_the_hub_nearest_the_pickup_wins_then_the_id():
    far_hub = courier("alpha", [(0.0, 0.9)])
    near_hub = courier("zulu", [(0.0, 0.1)])
    twin = courier("yankee", [(0.0, 0.1)])
    assert [o["courier_id"] for o in offers([far_hub, near_hub, twin], ORIGIN, DESTINATION, Decimal(1))] == [
        "yankee",
        "zulu",
        "alpha",
    ]


def test_courier_data_that_cannot_be_used_is_refused():
    with pytest.raises(CourierRefused, match="hubs"):
        courier("alpha", [])
    with pytest.raises(CourierRefused, match="latitude"):
        courier("alpha", [(91.0, 0.0)])
    with pytest.raises(CourierRefused, match="not negative"):
        courier("alpha", [(0.0, 0.0)], per_km="-1")
    with pytest.raises(CourierRefused, match="weighs"):
        offers([courier("alpha", [(0.0, 0.5)])], ORIGIN, DESTINATION, Decimal(0))
