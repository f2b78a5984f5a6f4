"""Purchase records: what a buyer bought in each capability, at what unit price, from whom,
when and in which transaction. Each domain answers ``purchase_records(state)`` for a folded
chain aggregate (as it answers ``reputation_signals``); the purchases view keeps them per
buyer, so a reorganisation that retracts a log takes its record with it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Purchase:
    buyer: str  # the paying wallet's address
    capability: str  # settlement, liquor, group_buy, cross_border, pay_after_delivery
    reference: str  # the settlement, purchase, campaign, order or checkout it belongs to
    seller: str  # the seller's address (or store id off chain)
    item: str  # what was bought: an order number, a plan, a scheme, a SKU
    quantity: int
    unit_price: int  # base units of the token
    amount: int  # what the buyer paid in all (base units)
    token: str | None
    status: str
    at: int | None  # the chain time it was paid
    tx_hash: str | None

    def row(self) -> dict:
        return dict(self.__dict__)  # every field is a plain value: no asdict deep copy


def first_step(steps: list[dict], *names: str) -> dict:
    """The first step of one of ``names`` (or an empty dict)."""
    return next((s for s in steps if s["step"] in names), {})
