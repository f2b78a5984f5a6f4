"""Stories of a checkout order paid after verified delivery: placed, checked and divided by
store with a courier and a price each, a mandate signed per shipment, a right declaration
verified, a wrong one recorded with its errors and an alarm raised, acknowledged, resolved;
and the order through the event store and back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.delivery.checkout import Item, Line, Warehouse
from engine.delivery.couriers import Courier
from engine.delivery.declaration import Declaration
from engine.delivery.order import Alarm, CheckoutOrder, OrderRefused

TEA = Item("tea", "Green tea", "food", 1_250_000, "0.25", {"leith": 10})
BOOK = Item("book", "A book", "books", 9_000_000, "1.0", {"central": 3})
CATALOGUES = {"brew": {"tea": TEA}, "pages": {"book": BOOK}}
WAREHOUSES = {
    "brew": [Warehouse("leith", "brew", 55.976, -3.17)],
    "pages": [Warehouse("central", "pages", 55.95, -3.2)],
}
UPS = Courier("ups", "UPS", "ups", ((55.95, -3.19),), Decimal(50), 2_000_000, Decimal("10000"), Decimal("500000"))
HOME = {"lines": ["12 Quay Street"], "country": "GB", "latitude": 55.97, "longitude": -3.17}
LINES = [Line("brew", "tea", 2, 1_250_000, "food"), Line("pages", "book", 1, 9_000_000, "books")]


def placed(lines=LINES) -> CheckoutOrder:
    return CheckoutOrder.place("c-1", "ada@example.org", "0x" + "b" * 40, HOME, lines, CATALOGUES, WAREHOUSES, [UPS])


def test_an_order_is_divided_by_store_with_a_courier_and_a_price_each():
    order = placed()
    assert order.status == "awaiting_mandates" and list(order.shipments) == ["brew", "pages"]
    brew = order.shipments["brew"]
    assert brew["courier_id"] == "ups" and brew["warehouse_id"] == "leith" and brew["goods"] == 2_500_000
    freight = brew["freight"]
    assert brew["amount"] == 2_500_000 + freight["total"]
    assert freight["total"] == freight["base"] + freight["distance_part"] + freight["weight_part"]
    assert freight["weight_part"] == 250_000  # 0.5 kg at 500,000 per kg
    assert order.total == sum(s["amount"] for s in order.shipments.values())


def test_a_line_that_fails_its_checks_refuses_the_order_with_every_reason():
    order = placed([Line("brew", "tea", 20, 1_000_000, "drink")])
    assert order.status == "refused" and order.shipments == {}
    assert [e["reason"] for e in order.errors] == ["out_of_stock", "price_changed", "category_mismatch"]
    far = Courier("far", "Far", "ups", ((0.0, 0.0),), Decimal(10), 1, Decimal(1), Decimal(1))
    nobody = CheckoutOrder.place("c-2", "ada", "0x" + "b" * 40, HOME, LINES, CATALOGUES, WAREHOUSES, [far])
    assert [e["reason"] for e in nobody.errors] == ["no_courier", "no_courier"]


def test_a_mandate_per_shipment_opens_the_order_and_must_cover_it():
    order = placed()
    low = {"maxAmount": str(order.shipments["brew"]["amount"] - 1)}
    with pytest.raises(OrderRefused, match="below"):
        order.sign_mandate("brew", "0x01", low, "0xsig")
    order.sign_mandate("brew", "0x01", {"maxAmount": str(order.shipments["brew"]["amount"])}, "0xsig")
    assert order.status == "awaiting_mandates"
    with pytest.raises(OrderRefused, match="already"):
        order.sign_mandate("brew", "0x01", {"maxAmount": "10000000000"}, "0xsig")
    order.sign_mandate("pages", "0x02", {"maxAmount": "10000000000"}, "0xsig")
    assert order.status == "open"
    with pytest.raises(OrderRefused, match="no shipment"):
        order.sign_mandate("elsewhere", "0x03", {"maxAmount": "1"}, "0xsig")


def test_a_right_declaration_verifies_and_a_wrong_one_records_its_errors():
    order = placed()
    for store in ("brew", "pages"):
        order.sign_mandate(store, f"0x{store}", {"maxAmount": "10000000000"}, "0xsig")
    with pytest.raises(OrderRefused, match="no shipment"):
        order.declare("nowhere", Declaration("ups", "x", "food", {}), UPS, set())
    assert order.declare("brew", Declaration("ups", "1Z5R89390357567127", "food", {"tea": 2}), UPS, set()) == []
    assert order.shipments["brew"]["status"] == "verified"
    errors = order.declare(
        "pages", Declaration("ups", "1Z5R89390357567127", "food", {"book": 1}), UPS, {("ups", "1Z5R89390357567127")}
    )
    assert [e["reason"] for e in errors] == ["waybill_reused", "category_mismatch"]
    assert order.shipments["pages"]["status"] == "alarmed"
    with pytest.raises(OrderRefused, match="alarmed"):
        order.declare("pages", Declaration("ups", "1Z879E930346834440", "books", {"book": 1}), UPS, set())


def test_an_alarm_is_acknowledged_then_resolved_with_its_reason_once():
    alarm = Alarm(checkout_id="c-1", store_id="pages", n=1, errors=[{"reason": "waybill_reused"}], at=1.0)
    alarm.acknowledge("operator", 2.0)
    with pytest.raises(OrderRefused, match="acknowledged"):
        alarm.acknowledge("operator", 3.0)
    with pytest.raises(OrderRefused, match="reason"):
        alarm.resolve("operator", False, "  ", 4.0)
    alarm.resolve("operator", False, "the store sent another order's parcel", 5.0)
    assert alarm.state == "resolved" and alarm.resolution["proceed"] is False
    with pytest.raises(OrderRefused, match="resolved"):
        alarm.resolve("operator", True, "again", 6.0)


def test_an_order_round_trips_through_the_event_store(tmp_path):
    from engine.application import OrderEngine
    from engine.config import Settings

    app = OrderEngine(Settings(db=str(tmp_path / "events.sqlite"), var_dir=str(tmp_path)))
    order = placed()
    order.sign_mandate("brew", "0x01", {"maxAmount": "10000000000"}, "0xsig")
    app.save(order)
    again = app.repository.get(CheckoutOrder.create_id("c-1"))
    assert again.shipments == order.shipments and again.status == order.status
