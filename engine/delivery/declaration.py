"""The checks of a store's shipping declaration (the seed's waybill comparison and category
check, side by side): when a store ships, it declares the courier, the waybill number, the
parcel's category and the items. Every check that fails is a verification error, and any
error raises an alarm and stops the payment; when none fails the shipment is verified.

- the courier is the one chosen for the shipment at checkout;
- the waybill number is in that courier's format, with its check digit where one is published;
- no other shipment uses the same waybill number (with the same courier);
- the category is one of the shipment's lines' categories, and the items are exactly its lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.delivery.checkout import Line, VerificationError, check_parcel
from engine.delivery.couriers import Courier
from engine.delivery.waybill import WaybillRefused, check

DECLARATION_REASONS = ("wrong_courier", "bad_waybill", "waybill_reused")


@dataclass(frozen=True)
class Declaration:
    courier_id: str
    waybill: str
    category: str
    items: dict[str, int]  # sku -> units in the parcel


def check_declaration(
    store_id: str,
    lines: list[Line],
    chosen: Courier,
    declared: Declaration,
    used_waybills: set[tuple[str, str]],
) -> tuple[str | None, list[VerificationError]]:
    """The normalised waybill number (None if it is not one) and every error found;
    ``used_waybills`` holds the (courier id, number) of every other shipment."""
    errors = []
    if declared.courier_id != chosen.courier_id:
        errors.append(
            VerificationError(
                store_id, "wrong_courier", None, f"declared {declared.courier_id!r}, chosen {chosen.courier_id!r}"
            )
        )
    number: str | None
    try:
        number = check(chosen.waybill_scheme, declared.waybill, chosen.waybill_pattern)
    except WaybillRefused as refused:
        number = None
        errors.append(VerificationError(store_id, "bad_waybill", None, str(refused)))
    if number is not None and (declared.courier_id, number) in used_waybills:
        errors.append(VerificationError(store_id, "waybill_reused", None, f"{number} is another shipment's"))
    errors += check_parcel(store_id, lines, declared.category, declared.items)
    return number, errors
