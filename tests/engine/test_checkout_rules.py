"""Given store catalogues with stock by warehouse, when a checkout order comes in, then each
line is checked (item, stock, price, category) with a reason for each failure, the order is
divided into one shipment per store, each ships from the store's nearest warehouse holding it
all, and a declared parcel must match its shipment's category and items."""

from __future__ import annotations

from engine.delivery.checkout import Item, Line, Warehouse, check_lines, check_parcel, divide, ships_from

TEA = Item("tea", "Green tea", "food", 1_250_000, stock={"leith": 10, "glasgow": 2})
CUP = Item("cup", "Cup", "homeware", 4_000_000, stock={"leith": 0, "glasgow": 3})
BOOK = Item("book", "A book", "books", 9_000_000, stock={"central": 1})
CATALOGUES = {"brew": {"tea": TEA, "cup": CUP}, "pages": {"book": BOOK}}
WAREHOUSES = [Warehouse("leith", "brew", 55.976, -3.17), Warehouse("glasgow", "brew", 55.864, -4.252)]
EDINBURGH, GLASGOW = (55.953, -3.188), (55.861, -4.250)


def test_lines_that_match_the_catalogue_pass_and_the_order_is_divided_by_store():
    lines = [
        Line("brew", "tea", 2, 1_250_000, "food"),
        Line("pages", "book", 1, 9_000_000, "books"),
        Line("brew", "cup", 1, 4_000_000, "homeware"),
    ]
    assert check_lines(lines, CATALOGUES) == []
    shipments = divide(lines)
    assert list(shipments) == ["brew", "pages"]
    assert [line.sku for line in shipments["brew"]] == ["tea", "cup"]


def test_each_failed_check_is_an_error_with_its_reason():
    lines = [
        Line("brew", "kettle", 1, 1, "homeware"),  # not in the catalogue
        Line("brew", "tea", 11, 1_250_000, "food"),  # no warehouse holds 11
        Line("brew", "cup", 1, 3_000_000, "homeware"),  # the price changed
        Line("pages", "book", 1, 9_000_000, "food"),  # the category is not the catalogue's
        Line("nowhere", "tea", 1, 1_250_000, "food"),  # no such store
    ]
    found = [(e.store_id, e.sku, e.reason) for e in check_lines(lines, CATALOGUES)]
    assert found == [
        ("brew", "kettle", "unknown_item"),
        ("brew", "tea", "out_of_stock"),
        ("brew", "cup", "price_changed"),
        ("pages", "book", "category_mismatch"),
        ("nowhere", "tea", "unknown_item"),
    ]


def test_a_shipment_leaves_from_the_nearest_warehouse_that_holds_all_of_it():
    tea = [Line("brew", "tea", 2, 1_250_000, "food")]
    warehouse, km = ships_from(tea, CATALOGUES["brew"], WAREHOUSES, GLASGOW)
    assert warehouse.warehouse_id == "glasgow" and km < 1
    assert ships_from(tea, CATALOGUES["brew"], WAREHOUSES, EDINBURGH)[0].warehouse_id == "leith"
    # Only Glasgow holds a cup: tea and a cup ship from there even to Edinburgh.
    both = [*tea, Line("brew", "cup", 1, 4_000_000, "homeware")]
    assert ships_from(both, CATALOGUES["brew"], WAREHOUSES, EDINBURGH)[0].warehouse_id == "glasgow"
    assert (
        ships_from([Line("brew", "tea", 5, 1_250_000, "food"), both[1]], CATALOGUES["brew"], WAREHOUSES, EDINBURGH)
        is None
    )


def test_a_declared_parcel_must_match_its_lines_category_and_items():
    lines = [Line("brew", "tea", 2, 1_250_000, "food"), Line("brew", "cup", 1, 4_000_000, "homeware")]
    assert check_parcel("brew", lines, "homeware", {"tea": 2, "cup": 1}) == []
    wrong = check_parcel("brew", lines, "electronics", {"tea": 2, "cup": 2})
    assert [e.reason for e in wrong] == ["category_mismatch", "items_mismatch"]
    assert [e.reason for e in check_parcel("brew", lines, "food", {"tea": 2})] == ["items_mismatch"]
