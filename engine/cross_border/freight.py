"""The freight estimate of a cross-border order, from comparable orders of the last 90 days.

Exactly this reading of the seed (S1-S7, S601-S604, S01-S06):

- Window: history orders with ``quoted_at - 90 days <= completed_at <= quoted_at``; always
  the request's path (same origin, same destination).
- Class 1: volume (length x width x height) within +/-10 % of the request's
  (``|v - v_req| <= 0.10 * v_req``, bounds included); class 2: weight within +/-10 %; class
  3: price within +/-10 %, compared in the request's currency.
- Culling: an order in all three classes is first freight information S, in exactly two
  secondary C, in exactly one end F; each order counts once.
- ``E = 0.648 mean(S) + 0.25 mean(C) + 0.102 mean(F)``; an empty group drops out and the
  weights of the others are renormalised to sum to 1. No comparable order at all is an
  error naming the path and window, never a made-up figure.
- Target freight ``E x factor`` (1.5 unless the operator sets another). All arithmetic in
  Decimal, rounded once, half-even, to whole minor units: ``estimate_minor = round(E)``,
  ``target_freight_minor = round(E x factor)``, ``hold_minor = price_minor +
  target_freight_minor``.

A history order in another currency is compared (and its freight counted) at the rate the
caller gives for that currency into the request's; without one it is left out, and the
answer says how many were.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from engine.ids import derive

NEVER = datetime.min.replace(tzinfo=UTC)  # a record with no completion time

WINDOW = timedelta(days=90)
TOLERANCE = Decimal("0.10")
WEIGHTS = {"S": Decimal("0.648"), "C": Decimal("0.25"), "F": Decimal("0.102")}
DEFAULT_FACTOR = Decimal("1.5")
CSV_COLUMNS = (
    "order_id",
    "origin",
    "destination",
    "length_cm",
    "width_cm",
    "height_cm",
    "weight_kg",
    "price_minor",
    "currency",
    "freight_minor",
    "completed_at",
)


class FreightError(ValueError):
    """The request or the history cannot give an estimate (the reason says why)."""


class HistoryRefused(FreightError):
    """A freight-history file that cannot be imported (nothing of it is)."""


class NoComparables(FreightError):
    """No completed order on the path within the window is comparable."""


@dataclass(frozen=True)
class Shipment:
    """What a quote request and a history order share."""

    origin: str
    destination: str
    length_cm: Decimal
    width_cm: Decimal
    height_cm: Decimal
    weight_kg: Decimal
    price_minor: int
    currency: str

    @property
    def volume(self) -> Decimal:
        return self.length_cm * self.width_cm * self.height_cm


@dataclass(frozen=True)
class HistoryOrder(Shipment):
    order_id: str = ""
    freight_minor: int = 0
    completed_at: datetime = NEVER


def _decimal(value, name: str, positive: bool = True) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise FreightError(f"{name} {value!r} is not a decimal number") from None
    if not number.is_finite() or (positive and number <= 0):
        raise FreightError(f"{name} must be a positive number, got {value!r}")
    return number


def _minor(value, name: str, minimum: int = 0) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise FreightError(f"{name} must be a whole number of minor units, got {value!r}")
    number = int(text)
    if number < minimum:
        raise FreightError(f"{name} must be at least {minimum}, got {number}")
    return number


def _time(value, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise FreightError(f"{name} {value!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise FreightError(f"{name} {value!r} needs its time zone (e.g. Z)")
    return moment.astimezone(UTC)


def _place(value, name: str) -> str:
    text = str(value or "").strip().upper()
    if not text or len(text) > 64:
        raise FreightError(f"{name} must be a place code of 1 to 64 characters")
    return text


def _currency(value) -> str:
    text = str(value or "").strip().upper()
    if len(text) != 3 or not text.isalpha():
        raise FreightError(f"currency must be a three-letter code, got {value!r}")
    return text


def shipment(data: dict) -> dict:
    """The checked fields a request and a history order share."""
    return {
        "origin": _place(data.get("origin"), "origin"),
        "destination": _place(data.get("destination"), "destination"),
        "length_cm": _decimal(data.get("length_cm"), "length_cm"),
        "width_cm": _decimal(data.get("width_cm"), "width_cm"),
        "height_cm": _decimal(data.get("height_cm"), "height_cm"),
        "weight_kg": _decimal(data.get("weight_kg"), "weight_kg"),
        "price_minor": _minor(data.get("price_minor"), "price_minor", 1),
        "currency": _currency(data.get("currency")),
    }


def request_of(data: dict) -> tuple[Shipment, datetime]:
    """A quote request from its JSON fields (:class:`FreightError` naming the bad field)."""
    return Shipment(**shipment(data)), _time(data.get("quoted_at"), "quoted_at")


def history_order_of(data: dict) -> HistoryOrder:
    order_id = str(data.get("order_id") or "").strip()
    if not order_id or len(order_id) > 128:
        raise FreightError("order_id must be 1 to 128 characters")
    return HistoryOrder(
        **shipment(data),
        order_id=order_id,
        freight_minor=_minor(data.get("freight_minor"), "freight_minor"),
        completed_at=_time(data.get("completed_at"), "completed_at"),
    )


def parse_csv(text: str) -> list[HistoryOrder]:
    """Every row of a history CSV with exactly :data:`CSV_COLUMNS`, or :class:`FreightError`
    (:class:`HistoryRefused`) listing every bad row by its line number (nothing is taken from a file with one)."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise HistoryRefused(
            f"the header must be exactly {','.join(CSV_COLUMNS)}; it is {','.join(reader.fieldnames or ())}"
        )
    orders: list[HistoryOrder] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row or any(v is None for v in row.values()):
            problems.append(f"line {line}: {len(CSV_COLUMNS)} columns expected")
            continue
        try:
            order = history_order_of(row)
        except FreightError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if order.order_id in seen:
            problems.append(f"line {line}: order_id {order.order_id} is also on line {seen[order.order_id]}")
            continue
        seen[order.order_id] = line
        orders.append(order)
    if problems:
        raise HistoryRefused(
            f"{len(problems)} bad row(s), nothing imported: "
            + "; ".join(problems[:50])
            + ("; ..." if len(problems) > 50 else "")
        )
    if not orders:
        raise HistoryRefused("the file holds no orders")
    return orders


def _within(value: Decimal, wanted: Decimal) -> bool:
    return abs(value - wanted) <= TOLERANCE * wanted


class History:
    """Completed orders indexed by path and completion time, for quotes over many orders."""

    def __init__(self, orders: Iterable[HistoryOrder] = ()):
        self._paths: dict[tuple[str, str], tuple[list[datetime], list[HistoryOrder]]] = {}
        self.add(orders)

    def add(self, orders) -> None:
        grouped: dict[tuple[str, str], list[HistoryOrder]] = {}
        for order in orders:
            grouped.setdefault((order.origin, order.destination), []).append(order)
        for path, new in grouped.items():
            old = self._paths.get(path, ([], []))[1]
            merged = sorted(old + new, key=lambda o: (o.completed_at, o.order_id))
            self._paths[path] = ([o.completed_at for o in merged], merged)

    def on_path(self, origin: str, destination: str, start: datetime, end: datetime) -> list[HistoryOrder]:
        times, orders = self._paths.get((origin, destination), ([], []))
        return orders[bisect_left(times, start) : bisect_right(times, end)]

    def __len__(self) -> int:
        return sum(len(o) for _, o in self._paths.values())


def estimate(
    request: Shipment,
    quoted_at: datetime,
    history: History,
    rates: dict[str, Decimal] | None = None,
    factor: Decimal = DEFAULT_FACTOR,
) -> dict:
    """The freight estimate of a request (see the module docstring). ``rates`` maps a
    currency to its rate into the request's currency."""
    if factor <= 0:
        raise FreightError("the target-freight factor must be positive")
    start = quoted_at - WINDOW
    rates = {request.currency: Decimal(1), **(rates or {})}
    v_req, w_req, p_req = request.volume, request.weight_kg, Decimal(request.price_minor)
    groups: dict[str, list[tuple[str, Decimal]]] = {"S": [], "C": [], "F": []}
    left_out = 0
    for order in history.on_path(request.origin, request.destination, start, quoted_at):
        rate = rates.get(order.currency)
        if rate is None:
            left_out += 1
            continue
        classes = (
            _within(order.volume, v_req) + _within(order.weight_kg, w_req) + _within(order.price_minor * rate, p_req)
        )
        if classes:
            groups[{3: "S", 2: "C", 1: "F"}[classes]].append((order.order_id, order.freight_minor * rate))
    used = {g: rows for g, rows in groups.items() if rows}
    if not used:
        raise NoComparables(
            f"no comparable completed order on path {request.origin} -> {request.destination} "
            f"between {start.isoformat()} and {quoted_at.isoformat()}"
            + (f" ({left_out} in other currencies without a rate)" if left_out else "")
        )
    total_weight = sum((WEIGHTS[g] for g in used), Decimal(0))
    e = sum(
        (WEIGHTS[g] / total_weight * (sum((f for _, f in rows), Decimal(0)) / len(rows)) for g, rows in used.items()),
        Decimal(0),
    )
    estimate_minor = int(e.quantize(Decimal(1), ROUND_HALF_EVEN))
    target = int((e * factor).quantize(Decimal(1), ROUND_HALF_EVEN))
    return {
        "estimate_minor": estimate_minor,
        "target_freight_minor": target,
        "hold_minor": request.price_minor + target,
        "currency": request.currency,
        "groups": [len(groups["S"]), len(groups["C"]), len(groups["F"])],
        "orders": {g: [order_id for order_id, _ in groups[g]] for g in ("S", "C", "F")},
        "weights": {g: str(WEIGHTS[g] / total_weight) for g in used},
        "factor": str(factor),
        "window": {"from": start.isoformat(), "to": quoted_at.isoformat()},
        "left_out_without_rate": left_out,
    }


# -- the imported history (off chain)


def order_record(order: HistoryOrder) -> dict:
    """A history order as plain JSON data (decimals as strings)."""
    return {
        "order_id": order.order_id,
        "origin": order.origin,
        "destination": order.destination,
        "length_cm": str(order.length_cm),
        "width_cm": str(order.width_cm),
        "height_cm": str(order.height_cm),
        "weight_kg": str(order.weight_kg),
        "price_minor": order.price_minor,
        "currency": order.currency,
        "freight_minor": order.freight_minor,
        "completed_at": order.completed_at.isoformat(),
    }


class FreightImport(Aggregate):
    """One imported history file: every row, or none (the file is checked whole first)."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Imported: ClassVar[type[Any]]

    @staticmethod
    def create_id(digest: str) -> UUID:
        return derive("freight-import", digest)

    @event("Imported")
    def __init__(self, digest: str, source: str, orders: list[dict]):
        self.digest = digest
        self.source = source
        self.orders = orders
