"""Quality function deployment and the scheme list.

- :func:`qfd`: customer requirements with importance weights, design attributes, the
  requirement x attribute relation matrix on the usual 0/1/3/9 scale and the attribute
  correlation roof (+/-) give each attribute's absolute and relative importance, and the
  negatively correlated pairs.
- :func:`schemes`: the customisable parameters (design and perception) with their options;
  schemes are the combinations of one option per parameter, without the combinations of
  options whose attributes are negatively correlated unless the store allows them. Each
  scheme has delivery terms (production cycles) and a price ladder by quantity
  (``minimum_quantity`` / ``unit_price`` rows, as quantity price breaks).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import product
from math import prod

RELATION_SCALE = frozenset({0, 1, 3, 9})
MAX_PRICE = 2**96 - 1  # the contract keeps a unit price in a uint96
MAX_COMBINATIONS = 4_096  # one option per parameter: a catalogue is at most this many combinations


class SchemeError(ValueError):
    """The requirements, parameters or costs cannot give what was asked (the reason says why)."""


# -- quality function deployment


def qfd(
    requirements: list[dict],
    attributes: list[str],
    relations: dict[tuple[str, str], int],
    roof: dict[tuple[str, str], str],
) -> dict:
    """Each attribute's absolute importance (sum over requirements of weight x relation) and
    relative importance (its share of the total, percent, two decimals, rounded half-even),
    attributes by importance, and the negatively correlated attribute pairs.

    ``requirements``: ``{"name", "weight"}`` (weights positive numbers); ``relations`` maps
    (requirement, attribute) to 0, 1, 3 or 9 (absent: 0); ``roof`` maps attribute pairs to
    "+" or "-".
    """
    names = [r["name"] for r in requirements]
    if len(set(names)) != len(names) or len(set(attributes)) != len(attributes):
        raise SchemeError("requirement and attribute names must be unique")
    weights = {r["name"]: Decimal(str(r["weight"])) for r in requirements}
    if any(w <= 0 for w in weights.values()):
        raise SchemeError("importance weights must be positive")
    for (req, attr), strength in relations.items():
        if req not in weights or attr not in attributes:
            raise SchemeError(f"relation ({req}, {attr}) names an unknown requirement or attribute")
        if strength not in RELATION_SCALE:
            raise SchemeError(f"relation ({req}, {attr}) is {strength}: use 0, 1, 3 or 9")
    for (a, b), sign in roof.items():
        if a not in attributes or b not in attributes or a == b:
            raise SchemeError(f"roof pair ({a}, {b}) must name two different attributes")
        if sign not in ("+", "-"):
            raise SchemeError(f"roof pair ({a}, {b}) is {sign!r}: use + or -")
    absolute = {a: sum((weights[r] * relations.get((r, a), 0) for r in names), Decimal(0)) for a in attributes}
    total = sum(absolute.values(), Decimal(0))
    relative = {
        a: ((v * 100 / total) if total else Decimal(0)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        for a, v in absolute.items()
    }
    return {
        "absolute": absolute,
        "relative": relative,
        "ranking": sorted(attributes, key=lambda a: (-absolute[a], attributes.index(a))),
        "negative_pairs": sorted(tuple(sorted(pair)) for pair, sign in roof.items() if sign == "-"),
    }


# -- schemes


@dataclass(frozen=True)
class Option:
    id: str
    attribute: str | None = None  # the QFD attribute the option stands for (conflicts come from the roof)
    surcharge: int = 0  # added to every ladder price, base units


@dataclass(frozen=True)
class Parameter:
    id: str
    kind: str  # "design" or "perception"
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Scheme:
    """One combination of options, with its delivery terms and price ladder."""

    id: str
    options: tuple[tuple[str, str], ...]  # (parameter, option) in the parameters' order
    ladder: tuple[tuple[int, int], ...]  # (minimum_quantity, unit_price), ascending quantities
    terms: tuple[int, ...]  # delivery terms offered, in production cycles
    term_discount_bps: tuple[tuple[int, int], ...] = ()  # (cycles, discount in basis points)

    def unit_price(self, quantity: int, term: int) -> int:
        """The ladder's price at ``quantity`` (the highest break not above it), less the term's
        discount, rounded half-even once."""
        if term not in self.terms:
            raise SchemeError(f"scheme {self.id} is not offered with a term of {term} cycle(s)")
        if quantity < self.ladder[0][0]:
            raise SchemeError(f"scheme {self.id} starts at {self.ladder[0][0]} units")
        price = next(p for q, p in reversed(self.ladder) if q <= quantity)
        bps = dict(self.term_discount_bps).get(term, 0)
        return int((Decimal(price) * (10_000 - bps) / 10_000).quantize(Decimal(1), ROUND_HALF_EVEN))

    def distance(self, other: Scheme) -> int:
        """How many parameters the two schemes set differently."""
        return sum(a != b for a, b in zip(self.options, other.options))


def scheme_id(options: Iterable[tuple[str, str]]) -> str:
    return ",".join(f"{p}={o}" for p, o in options)


def _check_ladder(ladder: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    rows = sorted((int(q), int(p)) for q, p in ladder)
    if not rows or rows[0][0] < 1 or any(p <= 0 for _, p in rows):
        raise SchemeError("a price ladder needs rows of minimum_quantity >= 1 and unit_price > 0")
    if len({q for q, _ in rows}) != len(rows):
        raise SchemeError("a price ladder has one row per minimum_quantity")
    return tuple(rows)


def schemes(
    parameters: list[Parameter],
    ladder: list[tuple[int, int]],
    terms: list[int],
    negative_pairs: Iterable[tuple[str, str]] = (),
    allowed: Iterable[tuple[str, str]] = (),
    term_discount_bps: dict[int, int] | None = None,
) -> tuple[list[Scheme], list[dict]]:
    """Every combination of one option per parameter, and the combinations left out.

    Two options conflict when their attributes are a negatively correlated pair; a
    combination holding a conflicting pair is left out unless the store allowed that pair
    of options (``allowed``: option-id pairs). Each scheme's ladder is the base ladder plus
    its options' surcharges. Returns (schemes, excluded with their reasons).
    """
    if not parameters or any(not p.options for p in parameters):
        raise SchemeError("every customisable parameter needs at least one option")
    if any(p.kind not in ("design", "perception") for p in parameters):
        raise SchemeError("a parameter is a design or a perception parameter")
    if not terms or any(t < 1 for t in terms):
        raise SchemeError("delivery terms are whole production cycles, at least one")
    base = _check_ladder(ladder)
    negative = {frozenset(pair) for pair in negative_pairs}
    allowed_pairs = {frozenset(pair) for pair in allowed}
    discounts = tuple(sorted((term_discount_bps or {}).items()))
    if any(not 0 <= bps < 10_000 for _, bps in discounts):
        raise SchemeError("a term discount is between 0 and 9,999 basis points")
    combinations = prod(len(p.options) for p in parameters)
    if combinations > MAX_COMBINATIONS:  # checked before any is built: the count grows as a product
        raise SchemeError(
            f"the parameters' options make {combinations:,} combinations; a catalogue holds at most "
            f"{MAX_COMBINATIONS:,} (fewer options, or fewer parameters)"
        )
    kept, excluded = [], []
    for combination in product(*(p.options for p in parameters)):
        pairs = tuple((p.id, o.id) for p, o in zip(parameters, combination))
        conflicts = [
            (a.id, b.id)
            for i, a in enumerate(combination)
            for b in combination[i + 1 :]
            if a.attribute
            and b.attribute
            and frozenset((a.attribute, b.attribute)) in negative
            and frozenset((a.id, b.id)) not in allowed_pairs
        ]
        if conflicts:
            excluded.append({"scheme": scheme_id(pairs), "conflicts": conflicts})
            continue
        surcharge = sum(o.surcharge for o in combination)
        if not all(0 < p + surcharge <= MAX_PRICE for _, p in base):
            raise SchemeError(
                f"scheme {scheme_id(pairs)}: its options' surcharges of {surcharge} put a ladder price "
                f"out of 1..{MAX_PRICE}"
            )
        kept.append(
            Scheme(
                id=scheme_id(pairs),
                options=pairs,
                ladder=tuple((q, p + surcharge) for q, p in base),
                terms=tuple(sorted(terms)),
                term_discount_bps=discounts,
            )
        )
    return kept, excluded


def parameters_of(rows: list[dict]) -> list[Parameter]:
    return [
        Parameter(
            p["id"],
            p["kind"],
            tuple(Option(o["id"], o.get("attribute"), int(o.get("surcharge", 0))) for o in p["options"]),
        )
        for p in rows
    ]
