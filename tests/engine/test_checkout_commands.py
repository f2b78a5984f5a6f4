"""The engine's checkout commands on a real event store: a store's stock and warehouses, the
operator's couriers, an order placed and divided, a declaration verified, a waybill another
shipment used raising an alarm the operator resolves, and refusals that record nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.application import Conflict, NotFound, OrderEngine
from engine.config import Settings
from engine.delivery.checkout import Line
from engine.delivery.couriers import Courier
from engine.delivery.declaration import Declaration
from engine.delivery.order import Alarm
from engine.delivery.stock import StockRefused

HOME = {"lines": ["12 Quay Street"], "country": "GB", "latitude": 55.97, "longitude": -3.17}
UPS = Courier("ups", "UPS", "ups", ((55.95, -3.19),), Decimal(50), 2_000_000, Decimal("10000"), Decimal("500000"))
WAYBILL = "1Z5R89390357567127"


@pytest.fixture
def app(tmp_path):
    app = OrderEngine(Settings(db=str(tmp_path / "events.sqlite"), var_dir=str(tmp_path)))
    app.register_store("brew", "Brew", "0x" + "5" * 40)
    app.register_account("ada@example.org", "buyer", "correct horse battery")
    app.bind_wallet("ada@example.org", "0x" + "b" * 40)

    def stock(s):
        s.save_warehouse("leith", 55.976, -3.17)
        s.save_item("tea", "Green tea", "food", 1_250_000, "0.25")
        s.set_stock("tea", "leith", 10)

    app.change_stock("brew", stock)
    app.change_couriers(lambda book: book.save(UPS))
    return app


def signed(app, checkout_id):
    order = app.get_checkout(checkout_id)
    order.sign_mandate("brew", "0x01", {"maxAmount": str(order.shipments["brew"]["amount"])}, "0xsig")
    app.save(order)


def test_an_order_is_placed_divided_and_a_right_declaration_verifies_it(app):
    order = app.place_checkout("c-1", "ada@example.org", [Line("brew", "tea", 2, 1_250_000, "food")], HOME)
    assert order.status == "awaiting_mandates" and order.shipments["brew"]["courier_id"] == "ups"
    with pytest.raises(Conflict):
        app.place_checkout("c-1", "ada@example.org", [Line("brew", "tea", 1, 1_250_000, "food")], HOME)
    signed(app, "c-1")
    order, errors, alarm = app.declare_shipment("c-1", "brew", Declaration("ups", WAYBILL, "food", {"tea": 2}), 1.0)
    assert errors == [] and alarm is None and order.shipments["brew"]["status"] == "verified"


def test_a_waybill_another_shipment_used_raises_an_alarm_the_operator_resolves(app):
    for cid in ("c-1", "c-2"):
        app.place_checkout(cid, "ada@example.org", [Line("brew", "tea", 1, 1_250_000, "food")], HOME)
        signed(app, cid)
    app.declare_shipment("c-1", "brew", Declaration("ups", WAYBILL, "food", {"tea": 1}), 1.0)
    order, errors, alarm = app.declare_shipment("c-2", "brew", Declaration("ups", WAYBILL, "food", {"tea": 1}), 2.0)
    assert [e["reason"] for e in errors] == ["waybill_reused"] and order.shipments["brew"]["status"] == "alarmed"
    stored = app.repository.get(alarm.id)
    assert isinstance(stored, Alarm) and stored.state == "open" and stored.errors == errors
    app.change_alarm(alarm.id, lambda a: a.acknowledge("operator", 3.0))
    resolved, _ = app.change_alarm(alarm.id, lambda a: a.resolve("operator", False, "a copied waybill", 4.0))
    assert resolved.state == "resolved" and resolved.resolution["reason"] == "a copied waybill"


def test_refusals_record_nothing(app):
    with pytest.raises(StockRefused):
        app.change_stock("brew", lambda s: s.set_stock("kettle", "leith", 1))
    assert set(app.stock("brew").items) == {"tea"}
    with pytest.raises(NotFound):
        app.change_stock("nowhere", lambda s: None)
    with pytest.raises(NotFound):
        app.declare_shipment("c-9", "brew", Declaration("ups", WAYBILL, "food", {}), 1.0)
    app.register_account("bob@example.org", "buyer", "correct horse battery")
    with pytest.raises(Conflict, match="wallet"):
        app.place_checkout("c-3", "bob@example.org", [Line("brew", "tea", 1, 1_250_000, "food")], HOME)
    refused = app.place_checkout("c-4", "ada@example.org", [Line("brew", "tea", 99, 1_250_000, "food")], HOME)
    assert refused.status == "refused" and [e["reason"] for e in refused.errors] == ["out_of_stock"]
