"""A checkout order paid after verified delivery, as an event-sourced aggregate, and its alarms.

Placing it checks every line against its store's catalogue (:mod:`.checkout`): each failed
check is recorded as a ``VerificationFailed`` event with its reason and the order is refused;
otherwise it is divided into one shipment per store, each from the store's nearest warehouse
holding it, with the courier chosen for it (:mod:`.couriers`) and its price: the items plus
the freight. The buyer then signs one mandate per shipment (``MandateSigned``: its id and the
signature; the contract checks it). When a store ships it declares the parcel
(:mod:`.declaration`): a declaration that passes every check verifies the shipment; one that
fails records each error and raises an alarm, which stops that shipment's payment until the
operator resolves it (go ahead, or cancel the shipment: ``ShipmentCleared``).

On chain a shipment is named by :func:`shipment_ref` (the checkout and the store), its
waybill by :func:`waybill_hash` and its category by :func:`category_hash`: what the verifier
records with ``OfflinePayment.verify``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eth_utils import keccak
from eventsourcing.domain import Aggregate, event

from engine.delivery.checkout import Item, Line, VerificationError, check_lines, divide, ships_from
from engine.delivery.couriers import Courier, choose
from engine.delivery.declaration import Declaration, check_declaration
from engine.ids import canonical_json, derive

ALARM_STATES = ("open", "acknowledged", "resolved")
ALARM_KINDS = ("declaration", "collection_defaulted")


def _hash(value) -> str:
    return "0x" + keccak(canonical_json(value)).hex()


def shipment_ref(checkout_id: str, store_id: str) -> str:
    """The shipment's reference on chain (``shipmentRef`` of ``ShipmentVerified``)."""
    return _hash(["shipment", checkout_id, store_id])


def waybill_hash(courier_id: str, waybill: str) -> str:
    return _hash(["waybill", courier_id, waybill])


def category_hash(category: str) -> str:
    return _hash(["category", category])


def reason_hash(alarm_id: str) -> str:
    """An alarm's reason on chain: the hash of the alarm's id (its errors are the alarm's)."""
    return _hash(["alarm", str(alarm_id)])


class OrderRefused(ValueError):
    """A command the order's state does not allow (the reason says why)."""


def _error(e: VerificationError) -> dict:
    return {"store_id": e.store_id, "reason": e.reason, "sku": e.sku, "detail": e.detail}


class CheckoutOrder(Aggregate):
    """One checkout order (see the module docstring)."""

    if TYPE_CHECKING:
        Placed: ClassVar[type[Any]]
        VerificationFailed: ClassVar[type[Any]]
        Divided: ClassVar[type[Any]]
        MandatesOffered: ClassVar[type[Any]]
        MandateSigned: ClassVar[type[Any]]
        Declared: ClassVar[type[Any]]
        ShipmentVerified: ClassVar[type[Any]]
        ShipmentCleared: ClassVar[type[Any]]

    @staticmethod
    def create_id(checkout_id: str) -> UUID:
        return derive("checkout", checkout_id)

    @classmethod
    def place(
        cls,
        checkout_id: str,
        login: str,
        wallet: str,
        address: dict,
        lines: list[Line],
        catalogues: dict[str, dict[str, Item]],
        warehouses: dict[str, list],
        couriers: list[Courier],
    ) -> CheckoutOrder:
        """Places the order: checked, then divided (or refused, every failed check recorded)."""
        order = cls(
            checkout_id=checkout_id,
            login=login,
            wallet=wallet.lower(),
            address=address,
            lines=[vars(line) for line in lines],
        )
        errors = check_lines(lines, catalogues)
        destination = (address["latitude"], address["longitude"])
        shipments = {}
        for store_id, store_lines in [] if errors else divide(lines).items():
            items = catalogues[store_id]
            found = ships_from(store_lines, items, warehouses.get(store_id, []), destination)
            if found is None:
                errors.append(
                    VerificationError(store_id, "no_warehouse", None, "no warehouse holds the whole shipment")
                )
                continue
            warehouse, _ = found
            weight = sum((Decimal(items[line.sku].weight_kg) * line.quantity for line in store_lines), Decimal(0))
            offer = choose(couriers, (warehouse.latitude, warehouse.longitude), destination, weight)
            if offer is None:
                errors.append(VerificationError(store_id, "no_courier", None, "no courier serves both ends"))
                continue
            goods = sum(line.unit_price * line.quantity for line in store_lines)
            shipments[store_id] = {
                "store_id": store_id,
                "lines": [vars(line) for line in store_lines],
                "warehouse_id": warehouse.warehouse_id,
                "courier_id": offer["courier_id"],
                "freight": {k: str(v) if isinstance(v, Decimal) else v for k, v in offer.items()},
                "goods": goods,
                "amount": goods + offer["total"],
            }
        if errors:
            order._verification_failed(store_id=None, errors=[_error(e) for e in errors])
        else:
            order._divided(shipments=shipments)
        return order

    @event("Placed")
    def __init__(self, checkout_id: str, login: str, wallet: str, address: dict, lines: list):
        self.checkout_id = checkout_id
        self.login = login
        self.wallet = wallet
        self.address = address
        self.lines = lines
        self.status = "placed"
        self.shipments: dict[str, dict] = {}
        self.errors: list[dict] = []

    @event("VerificationFailed")
    def _verification_failed(self, store_id: str | None, errors: list) -> None:
        self.errors.extend(errors)
        if store_id is None:
            self.status = "refused"
        else:
            self.shipments[store_id]["status"] = "alarmed"

    @event("Divided")
    def _divided(self, shipments: dict) -> None:
        self.shipments = {s: dict(v, status="awaiting_mandate") for s, v in shipments.items()}
        self.status = "awaiting_mandates"

    @property
    def total(self) -> int:
        return sum(s["amount"] for s in self.shipments.values())

    def _shipment(self, store_id: str) -> dict:
        if store_id not in self.shipments:
            raise OrderRefused(f"the order has no shipment from {store_id!r}")
        return self.shipments[store_id]

    def offer_mandates(self, mandates: dict[str, dict]) -> None:
        """The mandate each shipment's store is to be paid under, for the buyer to sign."""
        if self.status != "awaiting_mandates" or set(mandates) != set(self.shipments):
            raise OrderRefused("a mandate is offered for each shipment of a divided order")
        for store_id, mandate in mandates.items():
            if int(mandate["maxAmount"]) < self.shipments[store_id]["amount"]:
                raise OrderRefused(
                    f"the mandate's maximum is below the shipment's {self.shipments[store_id]['amount']}"
                )
        self._mandates_offered(mandates=mandates)

    @event("MandatesOffered")
    def _mandates_offered(self, mandates: dict) -> None:
        for store_id, mandate in mandates.items():
            self.shipments[store_id]["offered"] = mandate

    def sign_mandate(self, store_id: str, mandate_id: str, mandate: dict, signature: str) -> None:
        """Records the buyer's signed mandate for a shipment (its maximum covers the shipment;
        when one was offered, the one offered)."""
        shipment = self._shipment(store_id)
        if shipment["status"] != "awaiting_mandate":
            raise OrderRefused(f"the shipment from {store_id!r} has its mandate already")
        if int(mandate["maxAmount"]) < shipment["amount"]:
            raise OrderRefused(f"the mandate's maximum is below the shipment's {shipment['amount']}")
        if "offered" in shipment and shipment["offered"] != mandate:
            raise OrderRefused("the signed mandate is not the one offered for this shipment")
        self._mandate_signed(store_id=store_id, mandate_id=mandate_id, mandate=mandate, signature=signature)

    @event("MandateSigned")
    def _mandate_signed(self, store_id: str, mandate_id: str, mandate: dict, signature: str) -> None:
        self.shipments[store_id].update(
            status="awaiting_shipment", mandate_id=mandate_id, mandate=mandate, signature=signature
        )
        if all(s["status"] != "awaiting_mandate" for s in self.shipments.values()):
            self.status = "open"

    def declare(
        self, store_id: str, declared: Declaration, chosen: Courier, used_waybills: set[tuple[str, str]]
    ) -> list[dict]:
        """The store's declaration of its shipment: verified if every check passes, else each
        error recorded (an alarm follows); returns the errors."""
        shipment = self._shipment(store_id)
        if shipment["status"] != "awaiting_shipment":
            raise OrderRefused(f"the shipment from {store_id!r} is {shipment['status'].replace('_', ' ')}")
        lines = [Line(**line) for line in shipment["lines"]]
        number, errors = check_declaration(store_id, lines, chosen, declared, used_waybills)
        self._declared(
            store_id=store_id,
            courier_id=declared.courier_id,
            waybill=number or declared.waybill.strip(),
            category=declared.category,
            items=dict(declared.items),
        )
        if errors:
            self._verification_failed(store_id=store_id, errors=[_error(e) for e in errors])
        else:
            self._shipment_verified(store_id=store_id)
        return [_error(e) for e in errors]

    @event("Declared")
    def _declared(self, store_id: str, courier_id: str, waybill: str, category: str, items: dict) -> None:
        self.shipments[store_id]["declared"] = {
            "courier_id": courier_id,
            "waybill": waybill,
            "category": category,
            "items": items,
        }

    @event("ShipmentVerified")
    def _shipment_verified(self, store_id: str) -> None:
        self.shipments[store_id]["status"] = "verified"

    def clear(self, store_id: str, proceed: bool) -> None:
        """The operator's resolution of the alarm on a shipment whose declaration failed: the
        payment goes ahead as if it had passed (``verified``), or the shipment is cancelled."""
        shipment = self._shipment(store_id)
        if shipment["status"] != "alarmed":
            raise OrderRefused(f"the shipment from {store_id!r} is {shipment['status'].replace('_', ' ')}")
        self._shipment_cleared(store_id=store_id, proceed=proceed)

    @event("ShipmentCleared")
    def _shipment_cleared(self, store_id: str, proceed: bool) -> None:
        self.shipments[store_id]["status"] = "verified" if proceed else "cancelled"


def store_actor(store_id: str) -> str:
    """How an alarm records a store that acknowledged or cancelled it."""
    return f"store {store_id}"


class Alarm(Aggregate):
    """An alarm of the verification error system: raised with its errors, acknowledged, and
    resolved with a reason, either letting the payment go ahead or cancelling the shipment.
    Its kind: ``declaration`` (a shipping declaration failed its checks: numbered by the
    order's errors so far) or ``collection_defaulted`` (the buyer's allowance or balance no
    longer covered a verified shipment: number 0, one per shipment)."""

    if TYPE_CHECKING:
        Raised: ClassVar[type[Any]]
        Acknowledged: ClassVar[type[Any]]
        Resolved: ClassVar[type[Any]]

    @staticmethod
    def create_id(checkout_id: str, store_id: str, n: int) -> UUID:
        return derive("alarm", checkout_id, store_id, n)

    @event("Raised")
    def __init__(self, checkout_id: str, store_id: str, n: int, errors: list, at: float, kind: str = "declaration"):
        self.checkout_id = checkout_id
        self.store_id = store_id
        self.n = n
        self.kind = kind
        self.errors = errors
        self.raised_at = at
        self.state = "open"
        self.acknowledged_by: str | None = None
        self.resolution: dict | None = None

    def acknowledge(self, by: str, at: float) -> None:
        if self.state != "open":
            raise OrderRefused(f"the alarm is {self.state}")
        self._acknowledged(by=by, at=at)

    @event("Acknowledged")
    def _acknowledged(self, by: str, at: float) -> None:
        self.state, self.acknowledged_by = "acknowledged", by

    def resolve(self, by: str, proceed: bool, reason: str, at: float, party: str = "operator") -> None:
        """``party``: the operator decides either way; the store whose shipment it is may cancel
        it, but never let its own buyer's payment go ahead past the checks."""
        if party == "store" and proceed:
            raise OrderRefused("only the operator lets a held payment go ahead; the store may cancel its shipment")
        if self.state == "resolved":
            raise OrderRefused("the alarm is resolved already")
        if not reason.strip():
            raise OrderRefused("a resolution gives its reason")
        self._resolved(by=by, proceed=proceed, reason=reason.strip(), at=at)

    @event("Resolved")
    def _resolved(self, by: str, proceed: bool, reason: str, at: float) -> None:
        self.state = "resolved"
        self.resolution = {"by": by, "proceed": proceed, "reason": reason, "at": at}


class WaybillUse(Aggregate):
    """A waybill number a shipment declared, with its courier: one shipment per number (the
    aggregate's id is the number's, so a second shipment declaring it conflicts)."""

    if TYPE_CHECKING:
        Used: ClassVar[type[Any]]

    @staticmethod
    def create_id(courier_id: str, number: str) -> UUID:
        return derive("waybill", courier_id, number)

    @event("Used")
    def __init__(self, courier_id: str, number: str, checkout_id: str, store_id: str):
        self.courier_id = courier_id
        self.number = number
        self.checkout_id = checkout_id
        self.store_id = store_id
