"""The data checkout is checked against, kept as event-sourced aggregates: each store's items
(category, unit price, weight) with their stock at the store's warehouses (with coordinates),
and the operator's couriers (hubs, service radius, rates, waybill scheme).

A store changes its own items and warehouses; the operator manages couriers. Each change is
one event, so the price and category an order was checked against are those recorded before it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from engine.delivery.checkout import Item, Warehouse
from engine.delivery.couriers import Courier, CourierRefused
from engine.delivery.waybill import SCHEMES
from engine.ids import derive

MAX_ITEMS = 10_000


class StockRefused(ValueError):
    """An item or warehouse that cannot be kept (the reason says why)."""


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise StockRefused(f"{what} is a decimal number") from None
    if not value.is_finite() or value < 0:
        raise StockRefused(f"{what} is a number not below 0")
    return value


class StoreStock(Aggregate):
    """One store's items and warehouses."""

    if TYPE_CHECKING:
        Opened: ClassVar[type[Any]]
        WarehouseSaved: ClassVar[type[Any]]
        ItemSaved: ClassVar[type[Any]]
        StockSet: ClassVar[type[Any]]

    @staticmethod
    def create_id(store_id: str) -> UUID:
        return derive("store-stock", store_id)

    @event("Opened")
    def __init__(self, store_id: str):
        self.store_id = store_id
        self.warehouses: dict[str, dict] = {}
        self.items: dict[str, dict] = {}

    def save_warehouse(self, warehouse_id: str, latitude: float, longitude: float) -> None:
        if not warehouse_id.strip():
            raise StockRefused("a warehouse has an id")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise StockRefused("a warehouse's latitude is within ±90 and its longitude within ±180")
        self._warehouse_saved(warehouse_id=warehouse_id, latitude=latitude, longitude=longitude)

    @event("WarehouseSaved")
    def _warehouse_saved(self, warehouse_id: str, latitude: float, longitude: float) -> None:
        self.warehouses[warehouse_id] = {"latitude": latitude, "longitude": longitude}

    def save_item(self, sku: str, name: str, category: str, unit_price: int, weight_kg: str) -> None:
        if not sku.strip() or not name.strip() or not category.strip():
            raise StockRefused("an item has a sku, a name and a category")
        if unit_price <= 0:
            raise StockRefused("a unit price is above 0 base units")
        _decimal(weight_kg, "a weight")
        if sku not in self.items and len(self.items) >= MAX_ITEMS:
            raise StockRefused(f"a store keeps at most {MAX_ITEMS} items")
        self._item_saved(
            sku=sku, name=name.strip(), category=category.strip(), unit_price=unit_price, weight_kg=weight_kg
        )

    @event("ItemSaved")
    def _item_saved(self, sku: str, name: str, category: str, unit_price: int, weight_kg: str) -> None:
        stock = self.items.get(sku, {}).get("stock", {})
        self.items[sku] = {
            "name": name,
            "category": category,
            "unit_price": unit_price,
            "weight_kg": weight_kg,
            "stock": stock,
        }

    def set_stock(self, sku: str, warehouse_id: str, units: int) -> None:
        if sku not in self.items:
            raise StockRefused(f"no item {sku!r}")
        if warehouse_id not in self.warehouses:
            raise StockRefused(f"no warehouse {warehouse_id!r}")
        if units < 0:
            raise StockRefused("stock is not below 0")
        self._stock_set(sku=sku, warehouse_id=warehouse_id, units=units)

    @event("StockSet")
    def _stock_set(self, sku: str, warehouse_id: str, units: int) -> None:
        self.items[sku]["stock"][warehouse_id] = units

    def catalogue(self) -> dict[str, Item]:
        """The items as checkout checks them."""
        return {
            sku: Item(sku, i["name"], i["category"], i["unit_price"], i["weight_kg"], dict(i["stock"]))
            for sku, i in self.items.items()
        }

    def warehouse_list(self) -> list[Warehouse]:
        return [Warehouse(w, self.store_id, v["latitude"], v["longitude"]) for w, v in self.warehouses.items()]


class CourierBook(Aggregate):
    """The operator's couriers."""

    if TYPE_CHECKING:
        Opened: ClassVar[type[Any]]
        CourierSaved: ClassVar[type[Any]]

    @staticmethod
    def create_id() -> UUID:
        return derive("courier-book")

    @event("Opened")
    def __init__(self):
        self.couriers: dict[str, dict] = {}

    def save(self, courier: Courier) -> None:
        if courier.waybill_scheme not in SCHEMES:
            raise CourierRefused(f"a waybill scheme is one of {', '.join(SCHEMES)}")
        if courier.waybill_scheme == "format" and not courier.waybill_pattern:
            raise CourierRefused("a courier without a check digit gives its waybill format")
        self._saved(
            courier_id=courier.courier_id,
            name=courier.name,
            waybill_scheme=courier.waybill_scheme,
            waybill_pattern=courier.waybill_pattern,
            hubs=[list(h) for h in courier.hubs],
            radius_km=str(courier.radius_km),
            base=courier.base,
            per_km=str(courier.per_km),
            per_kg=str(courier.per_kg),
        )

    @event("CourierSaved")
    def _saved(
        self,
        courier_id: str,
        name: str,
        waybill_scheme: str,
        waybill_pattern: str | None,
        hubs: list,
        radius_km: str,
        base: int,
        per_km: str,
        per_kg: str,
    ) -> None:
        self.couriers[courier_id] = {
            "name": name,
            "waybill_scheme": waybill_scheme,
            "waybill_pattern": waybill_pattern,
            "hubs": hubs,
            "radius_km": radius_km,
            "base": base,
            "per_km": per_km,
            "per_kg": per_kg,
        }

    def courier(self, courier_id: str) -> Courier:
        c = self.couriers[courier_id]
        return Courier(
            courier_id,
            c["name"],
            c["waybill_scheme"],
            tuple(tuple(h) for h in c["hubs"]),
            Decimal(c["radius_km"]),
            c["base"],
            Decimal(c["per_km"]),
            Decimal(c["per_kg"]),
            c["waybill_pattern"],
        )

    def all(self) -> list[Courier]:
        return [self.courier(c) for c in sorted(self.couriers)]
