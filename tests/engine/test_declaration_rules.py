"""Given a shipment, its chosen courier and the waybills other shipments use, when the store
declares the parcel, then a right declaration has no error and each wrong part is one error
with its reason: another courier, a waybill that is not one of the courier's or is another
shipment's, a category or items that are not the order's."""

from __future__ import annotations

from decimal import Decimal

from engine.delivery.checkout import Line
from engine.delivery.couriers import Courier
from engine.delivery.declaration import Declaration, check_declaration

UPS = Courier("ups", "UPS", "ups", ((55.9, -3.2),), Decimal(100), 500, Decimal(1), Decimal(1))
LINES = [Line("brew", "tea", 2, 1_250_000, "food")]
GOOD = Declaration("ups", "1Z5R 8939 0357 5671 27", "food", {"tea": 2})


def reasons(declared: Declaration, used=frozenset()) -> list[str]:
    return [e.reason for e in check_declaration("brew", LINES, UPS, declared, set(used))[1]]


def test_a_right_declaration_passes_with_the_number_normalised():
    number, errors = check_declaration("brew", LINES, UPS, GOOD, set())
    assert (number, errors) == ("1Z5R89390357567127", [])


def test_each_wrong_part_is_an_error_with_its_reason():
    assert reasons(Declaration("dhl", GOOD.waybill, "food", {"tea": 2})) == ["wrong_courier"]
    assert reasons(Declaration("ups", "1Z5R89390357567128", "food", {"tea": 2})) == ["bad_waybill"]
    assert reasons(GOOD, {("ups", "1Z5R89390357567127")}) == ["waybill_reused"]
    assert reasons(GOOD, {("dhl", "1Z5R89390357567127")}) == []  # another courier's number space
    assert reasons(Declaration("ups", GOOD.waybill, "electronics", {"tea": 1})) == [
        "category_mismatch",
        "items_mismatch",
    ]
    everything = Declaration("fedex", "12345", "books", {})
    assert reasons(everything) == ["wrong_courier", "bad_waybill", "category_mismatch", "items_mismatch"]
