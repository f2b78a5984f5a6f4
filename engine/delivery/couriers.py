"""Courier choice by distance (the seed's logistics system): which couriers serve both ends,
what each would charge, and the cheapest, with the price broken down.

A courier has hubs (coordinates), a service radius around each, and rates: a base, a price
per kilometre and one per kilogram, in base units of the order's token (the per-unit rates
are Decimal; a price is rounded up to a whole base unit, never down). A courier serves a
shipment when some hub lies within its radius of the pickup point and some hub within it of
the delivery address. Distances are great-circle (haversine, mean Earth radius 6,371.0088 km).
The cheapest serving courier is chosen; on equal price the one whose hub is nearest the
pickup point, then the courier id, so the choice never depends on the order couriers are
listed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

EARTH_RADIUS_KM = 6371.0088
MAX_HUBS = 200


class CourierRefused(ValueError):
    """A courier's data that cannot be used (no hubs, a negative rate, a place off the globe)."""


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The haversine distance between two (latitude, longitude) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _place(point: tuple[float, float]) -> tuple[float, float]:
    lat, lon = float(point[0]), float(point[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise CourierRefused("a place has a latitude within ±90 and a longitude within ±180")
    return lat, lon


@dataclass(frozen=True)
class Courier:
    courier_id: str
    name: str
    waybill_scheme: str  # engine.delivery.waybill.SCHEMES
    hubs: tuple[tuple[float, float], ...]
    radius_km: Decimal
    base: int  # base units
    per_km: Decimal  # base units per kilometre
    per_kg: Decimal  # base units per kilogram
    waybill_pattern: str | None = None  # the format of a courier without a check digit

    def __post_init__(self):
        if not self.hubs or len(self.hubs) > MAX_HUBS:
            raise CourierRefused(f"a courier has 1 to {MAX_HUBS} hubs")
        for hub in self.hubs:
            _place(hub)
        if self.radius_km <= 0:
            raise CourierRefused("a service radius is positive")
        if self.base < 0 or self.per_km < 0 or self.per_kg < 0:
            raise CourierRefused("rates are not negative")

    def nearest_hub_km(self, point: tuple[float, float]) -> float:
        return min(great_circle_km(hub, point) for hub in self.hubs)

    def serves(self, point: tuple[float, float]) -> bool:
        return self.nearest_hub_km(point) <= float(self.radius_km)

    def price(self, distance_km: Decimal, weight_kg: Decimal) -> dict:
        """The price of carrying ``weight_kg`` over ``distance_km``, each part rounded up."""
        distance_part = int((self.per_km * distance_km).to_integral_value(ROUND_CEILING))
        weight_part = int((self.per_kg * weight_kg).to_integral_value(ROUND_CEILING))
        return {
            "base": self.base,
            "distance_km": distance_km,
            "per_km": self.per_km,
            "distance_part": distance_part,
            "weight_kg": weight_kg,
            "per_kg": self.per_kg,
            "weight_part": weight_part,
            "total": self.base + distance_part + weight_part,
        }


def route_km(origin: tuple[float, float], destination: tuple[float, float]) -> Decimal:
    """The great-circle distance of a shipment, to the metre."""
    return Decimal(str(round(great_circle_km(_place(origin), _place(destination)), 3)))


def offers(
    couriers: list[Courier], origin: tuple[float, float], destination: tuple[float, float], weight_kg: Decimal
) -> list[dict]:
    """Every courier serving both ends, cheapest first (ties: the nearest hub to the pickup
    point, then the courier id), each with its price broken down."""
    if weight_kg <= 0:
        raise CourierRefused("a parcel weighs more than nothing")
    origin, destination = _place(origin), _place(destination)
    distance = route_km(origin, destination)
    found = []
    for courier in couriers:
        pickup = courier.nearest_hub_km(origin)
        if pickup <= float(courier.radius_km) and courier.serves(destination):
            found.append(
                {
                    "courier_id": courier.courier_id,
                    "name": courier.name,
                    "pickup_km": Decimal(str(round(pickup, 3))),
                    **courier.price(distance, weight_kg),
                }
            )
    return sorted(found, key=lambda o: (o["total"], o["pickup_km"], o["courier_id"]))


def choose(
    couriers: list[Courier], origin: tuple[float, float], destination: tuple[float, float], weight_kg: Decimal
) -> dict | None:
    """The chosen courier's offer (None: no courier serves both ends)."""
    found = offers(couriers, origin, destination, weight_kg)
    return found[0] if found else None
