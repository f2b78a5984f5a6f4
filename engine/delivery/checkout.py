"""Goods verification and division (the seed's goods verification, division and category
check): a checkout order's lines checked against each store's catalogue, divided into one
shipment per store, and each shipment's declared parcel checked against its lines.

A line passes when its item is in the store's catalogue, some warehouse of the store holds
the quantity, and its unit price and category are the catalogue's at order time. Each line
that does not is a :class:`VerificationError` with its reason; the order is divided only when
none is found. A shipment ships from the store's nearest warehouse holding every line's
quantity (great-circle distance to the delivery address). When the store ships, the parcel's
declared category must be one of its lines' categories and the declared items exactly its
lines (item and quantity).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from engine.delivery.couriers import great_circle_km

REASONS = (
    "unknown_item",
    "out_of_stock",
    "price_changed",
    "category_mismatch",
    "items_mismatch",
    "no_warehouse",
)


@dataclass(frozen=True)
class VerificationError:
    """One failed check: which store and item, the reason (one of :data:`REASONS`) and what was expected."""

    store_id: str
    reason: str
    sku: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    category: str
    unit_price: int  # base units
    weight_kg: str = "0.5"  # a decimal string
    stock: dict[str, int] = field(default_factory=dict)  # warehouse id -> units on hand


@dataclass(frozen=True)
class Warehouse:
    warehouse_id: str
    store_id: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Line:
    store_id: str
    sku: str
    quantity: int
    unit_price: int  # what the buyer was shown
    category: str


def check_lines(lines: list[Line], catalogues: dict[str, dict[str, Item]]) -> list[VerificationError]:
    """Every line checked against its store's catalogue; the errors found (none: all pass)."""
    errors = []
    for line in lines:
        item = catalogues.get(line.store_id, {}).get(line.sku)
        if item is None:
            errors.append(VerificationError(line.store_id, "unknown_item", line.sku, "not in the store's catalogue"))
            continue
        if max(item.stock.values(), default=0) < line.quantity:
            errors.append(
                VerificationError(line.store_id, "out_of_stock", line.sku, f"no warehouse holds {line.quantity}")
            )
        if item.unit_price != line.unit_price:
            errors.append(
                VerificationError(
                    line.store_id, "price_changed", line.sku, f"the catalogue's unit price is {item.unit_price}"
                )
            )
        if item.category != line.category:
            errors.append(
                VerificationError(line.store_id, "category_mismatch", line.sku, f"the catalogue says {item.category}")
            )
    return errors


def divide(lines: list[Line]) -> dict[str, list[Line]]:
    """The lines by store, in the order the stores first appear: one shipment each."""
    shipments: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        shipments[line.store_id].append(line)
    return dict(shipments)


def ships_from(
    lines: list[Line], items: dict[str, Item], warehouses: list[Warehouse], destination: tuple[float, float]
) -> tuple[Warehouse, float] | None:
    """The store's warehouse nearest the delivery address that holds every line's quantity,
    and its distance in km (None: no single warehouse does)."""
    holding = [
        w
        for w in warehouses
        if all(items[line.sku].stock.get(w.warehouse_id, 0) >= line.quantity for line in lines if line.sku in items)
    ]
    if not holding:
        return None
    nearest = min(holding, key=lambda w: (great_circle_km((w.latitude, w.longitude), destination), w.warehouse_id))
    return nearest, great_circle_km((nearest.latitude, nearest.longitude), destination)


def check_parcel(store_id: str, lines: list[Line], category: str, declared: dict[str, int]) -> list[VerificationError]:
    """The category check and the items check of a declared parcel against its shipment's lines."""
    errors = []
    categories = sorted({line.category for line in lines})
    if category not in categories:
        errors.append(
            VerificationError(store_id, "category_mismatch", None, f"declared {category!r}, the order has {categories}")
        )
    expected: dict[str, int] = defaultdict(int)
    for line in lines:
        expected[line.sku] += line.quantity
    if dict(expected) != {sku: n for sku, n in declared.items() if n}:
        errors.append(
            VerificationError(store_id, "items_mismatch", None, f"declared {declared}, the order has {dict(expected)}")
        )
    return errors
