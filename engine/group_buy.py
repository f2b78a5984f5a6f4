"""Customised group buying: the rules of the seed's modules, as plain functions.

- Quality function deployment (:func:`qfd`): customer requirements with importance
  weights, design attributes, the requirement x attribute relation matrix on the usual
  0/1/3/9 scale and the attribute correlation roof (+/-) give each attribute's absolute
  and relative importance, and the negatively correlated pairs.
- The scheme list (:func:`schemes`): the customisable parameters (design and perception)
  with their options; schemes are the combinations of one option per parameter, without
  the combinations of options whose attributes are negatively correlated unless the store
  allows them. Each scheme has delivery terms (production cycles) and a price ladder by
  quantity (``minimum_quantity`` / ``unit_price`` rows, as quantity price breaks).
- The MOQ (:func:`moq`): the smallest quantity at which the ladder's revenue covers the
  costs the departments submitted for the scheme and cycle (fixed per cycle, variable per
  unit); the store may set a higher one with a stated reason.
- Buyers (:func:`classify`): per purchase intention (scheme, term, quantity), wholesale or
  retail.
- Quotes: the retail order book (:func:`order_book`) and the wholesale quote
  (:func:`wholesale_quote`).
- The campaign page's expected effects (:func:`expected_effects`).

Money is integers of base units; a price with a term discount is rounded once,
ROUND_HALF_EVEN, to an integer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import product, takewhile
from math import prod
from math import ceil
from typing import Iterable
from uuid import UUID

from eth_utils import keccak
from eventsourcing.domain import Aggregate, event

from .chain_source import ChainAggregate, ChainSource
from .ids import derive

RELATION_SCALE = frozenset({0, 1, 3, 9})
BOOK_DEPTH = 5             # price levels shown above and below the buyer's own quote
MAX_MOQ_SEARCH = 10**9     # quantities beyond this are not a production run
MAX_PRICE = 2**96 - 1      # the contract keeps a unit price in a uint96
MAX_COMBINATIONS = 4_096   # one option per parameter: a catalogue is at most this many combinations
DAY = 86_400


class SchemeError(ValueError):
    """The requirements, parameters or costs cannot give what was asked (the reason says why)."""


# -- quality function deployment


def qfd(requirements: list[dict], attributes: list[str], relations: dict[tuple[str, str], int],
        roof: dict[tuple[str, str], str]) -> dict:
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
    relative = {a: ((v * 100 / total) if total else Decimal(0)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
                for a, v in absolute.items()}
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
    attribute: str | None = None   # the QFD attribute the option stands for (conflicts come from the roof)
    surcharge: int = 0             # added to every ladder price, base units


@dataclass(frozen=True)
class Parameter:
    id: str
    kind: str                      # "design" or "perception"
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Scheme:
    """One combination of options, with its delivery terms and price ladder."""

    id: str
    options: tuple[tuple[str, str], ...]      # (parameter, option) in the parameters' order
    ladder: tuple[tuple[int, int], ...]       # (minimum_quantity, unit_price), ascending quantities
    terms: tuple[int, ...]                    # delivery terms offered, in production cycles
    term_discount_bps: tuple[tuple[int, int], ...] = ()   # (cycles, discount in basis points)

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

    def distance(self, other: "Scheme") -> int:
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


def schemes(parameters: list[Parameter], ladder: list[tuple[int, int]], terms: list[int],
            negative_pairs: Iterable[tuple[str, str]] = (), allowed: Iterable[tuple[str, str]] = (),
            term_discount_bps: dict[int, int] | None = None) -> tuple[list[Scheme], list[dict]]:
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
    if combinations > MAX_COMBINATIONS:   # checked before any is built: the count grows as a product
        raise SchemeError(f"the parameters' options make {combinations:,} combinations; a catalogue holds at most "
                          f"{MAX_COMBINATIONS:,} (fewer options, or fewer parameters)")
    kept, excluded = [], []
    for combination in product(*(p.options for p in parameters)):
        pairs = tuple((p.id, o.id) for p, o in zip(parameters, combination))
        conflicts = [(a.id, b.id) for i, a in enumerate(combination) for b in combination[i + 1:]
                     if a.attribute and b.attribute and frozenset((a.attribute, b.attribute)) in negative
                     and frozenset((a.id, b.id)) not in allowed_pairs]
        if conflicts:
            excluded.append({"scheme": scheme_id(pairs), "conflicts": conflicts})
            continue
        surcharge = sum(o.surcharge for o in combination)
        if not all(0 < p + surcharge <= MAX_PRICE for _, p in base):
            raise SchemeError(f"scheme {scheme_id(pairs)}: its options' surcharges of {surcharge} put a ladder price "
                              f"out of 1..{MAX_PRICE}")
        kept.append(Scheme(id=scheme_id(pairs), options=pairs,
                           ladder=tuple((q, p + surcharge) for q, p in base), terms=tuple(sorted(terms)),
                           term_discount_bps=discounts))
    return kept, excluded


# -- the minimum order quantity


def moq(scheme: Scheme, term: int, costs: list[dict], override: dict | None = None) -> dict:
    """The scheme's MOQ for one production cycle, with its inputs and computation.

    ``costs``: one row per department, ``{"department", "fixed", "variable"}`` (base units:
    fixed per cycle, variable per unit). The computed MOQ is the smallest quantity q with
    ``q x unit_price(q) >= fixed + q x variable``; within a ladder band of price p that is
    ``ceil(fixed / (p - variable))``, if it falls inside the band. ``override``:
    ``{"moq", "reason"}``, a higher MOQ the store sets (a lower one is refused).
    """
    if not costs:
        raise SchemeError(f"no department has submitted costs for scheme {scheme.id}")
    fixed = sum(int(c["fixed"]) for c in costs)
    variable = sum(int(c["variable"]) for c in costs)
    if fixed < 0 or variable < 0:
        raise SchemeError("costs are not negative")
    computed, band_used = None, None
    bands = list(scheme.ladder)
    for i, (start, _) in enumerate(bands):
        end = bands[i + 1][0] - 1 if i + 1 < len(bands) else MAX_MOQ_SEARCH
        price = scheme.unit_price(start, term)
        margin = price - variable
        if margin <= 0:
            continue
        q = max(start, ceil(fixed / margin) if fixed else start)
        if q <= end:
            computed, band_used = q, {"minimum_quantity": start, "unit_price": price, "margin": margin}
            break
    result = {"scheme": scheme.id, "term": term, "fixed_per_cycle": fixed, "variable_per_unit": variable,
              "costs": costs, "computed": computed, "band": band_used, "moq": computed, "override": None}
    if computed is None:
        result["note"] = "the ladder's price never covers the variable cost: no quantity pays for a production run"
    if override:
        wanted = int(override["moq"])
        reason = str(override.get("reason") or "").strip()
        if not reason:
            raise SchemeError("a MOQ set by the store needs its reason")
        if computed is not None and wanted < computed:
            raise SchemeError(f"the MOQ can only be raised above the computed {computed}, not lowered to {wanted}")
        result.update(moq=wanted, override={"moq": wanted, "reason": reason})
    return result


# -- buyers


def classify(quantity: int, term: int, moq_: int) -> dict:
    """A purchase intention's buyer class: wholesale when it needs delivery within one
    production cycle and orders more than the MOQ; else retail (it joins the order book)."""
    if quantity < 1:
        raise SchemeError("a purchase intention orders at least one unit")
    if term <= 1 and quantity > moq_:
        return {"class": "wholesale", "reason": f"{quantity} units within one production cycle, above the MOQ "
                                                f"of {moq_}"}
    if quantity < moq_:
        reason = f"{quantity} units, below the MOQ of {moq_}: joins the queue of other buyers"
    elif term > 1:
        reason = f"{quantity} units over {term} production cycles: not a one-cycle wholesale order"
    else:
        reason = f"{quantity} units, exactly the MOQ of {moq_}: not more than it"
    return {"class": "retail", "reason": reason}


# -- quotes


@dataclass
class Offer:
    """A scheme offered with a term, and the quantity queued for it now."""

    scheme: Scheme
    term: int
    queued: int = 0


@dataclass
class Book:
    """What :func:`order_book` answers: ``asks`` above the buyer's own quote, ``bids`` below."""

    own: dict
    asks: list[list] = field(default_factory=list)   # [price, quantity, schemes], nearest first
    bids: list[list] = field(default_factory=list)
    cheapest: dict | None = None
    queue: int = 0


def order_book(offers: list[Offer], scheme: str, term: int, quantity: int, depth: int = BOOK_DEPTH,
               cheapest: dict | None | bool = False) -> Book:
    """The retail order book of a purchase intention (scheme, term, quantity).

    The buyer's own quote is the middle. Associated offers are the schemes that differ in
    at most one parameter, with a term at most one cycle away; each is priced for the
    intended quantity, and offers at one price make one level (the quantity queued for them
    summed, their schemes listed). The ``depth`` levels above the own price are the asks,
    the ``depth`` below the bids, nearest first. The cheapest scheme is taken from every
    offer with the intended term; the queue is what is queued for the intended offer.
    (:class:`Market` hands in only the associated offers and the cheapest it found.)
    """
    own = next((o for o in offers if o.scheme.id == scheme and o.term == term), None)
    if own is None:
        raise SchemeError(f"scheme {scheme} is not offered with a term of {term} cycle(s)")
    own_price = own.scheme.unit_price(quantity, term)
    levels: dict[int, list] = {}
    for offer in offers:
        if offer is own or abs(offer.term - term) > 1 or offer.scheme.distance(own.scheme) > 1:
            continue
        if quantity < offer.scheme.ladder[0][0]:
            continue
        price = offer.scheme.unit_price(quantity, offer.term)
        level = levels.setdefault(price, [price, 0, []])
        level[1] += offer.queued
        level[2].append(f"{offer.scheme.id}@{offer.term}")
    same = levels.pop(own_price, None)
    book = Book(own={"price": own_price, "quantity": quantity, "scheme": scheme, "term": term,
                     "queued": own.queued + (same[1] if same else 0),
                     "schemes": [f"{scheme}@{term}"] + (sorted(same[2]) if same else [])},
                queue=own.queued)
    for price in sorted(p for p in levels if p > own_price)[:depth]:
        book.asks.append([price, levels[price][1], sorted(levels[price][2])])
    for price in sorted((p for p in levels if p < own_price), reverse=True)[:depth]:
        book.bids.append([price, levels[price][1], sorted(levels[price][2])])
    if cheapest is not False:
        book.cheapest = cheapest
        return book
    candidates = [(o.scheme.unit_price(quantity, term), -o.queued, o.scheme.id, o) for o in offers
                  if o.term == term and quantity >= o.scheme.ladder[0][0]]
    if candidates:
        price, _, _, best = min(candidates, key=lambda c: c[:3])
        book.cheapest = {"scheme": best.scheme.id, "term": term, "price": price, "queued": best.queued}
    return book


class Market:
    """A scheme list indexed for quotes, made once per catalogue version: each scheme's
    neighbours (the schemes one parameter away) and, per term and quantity, every scheme by
    price. :meth:`book` answers what :func:`order_book` over every offer answers, looking
    only at the offers that can be in it."""

    PRICE_LISTS_KEPT = 512

    def __init__(self, schemes_: list[Scheme]):
        self.schemes = {s.id: s for s in schemes_}
        self._buckets: dict[tuple, list[Scheme]] = {}
        for s in schemes_:
            for key in self._keys(s):
                self._buckets.setdefault(key, []).append(s)
        self._by_price: dict[tuple[int, int], list[tuple[int, str]]] = {}

    @staticmethod
    def _keys(s: Scheme):
        options = [o for _, o in s.options]
        for i in range(len(options)):
            yield (i, *options[:i], *options[i + 1:])

    def neighbours(self, scheme: Scheme) -> list[Scheme]:
        """The scheme and every scheme that sets one parameter differently."""
        found: dict[str, Scheme] = {scheme.id: scheme}
        for key in self._keys(scheme):
            for other in self._buckets.get(key, ()):
                found.setdefault(other.id, other)
        return list(found.values())

    def _prices(self, term: int, quantity: int) -> list[tuple[int, str]]:
        key = (term, quantity)
        found = self._by_price.get(key)
        if found is None:
            found = sorted((s.unit_price(quantity, term), s.id) for s in self.schemes.values()
                           if term in s.terms and quantity >= s.ladder[0][0])
            if len(self._by_price) >= self.PRICE_LISTS_KEPT:
                self._by_price.clear()
            self._by_price[key] = found
        return found

    def book(self, queued: dict[tuple[str, int], int], scheme: str, term: int, quantity: int,
             depth: int = BOOK_DEPTH) -> Book:
        own = self.schemes.get(scheme)
        if own is None:
            raise SchemeError(f"no scheme {scheme!r} in this catalogue")
        offers = [Offer(s, t, queued.get((s.id, t), 0)) for s in self.neighbours(own) for t in s.terms
                  if abs(t - term) <= 1]
        prices = self._prices(term, quantity)
        cheapest = None
        if prices:
            low = prices[0][0]
            ties = [sid for _, sid in takewhile(lambda entry: entry[0] == low, prices)]
            best = min(ties, key=lambda sid: (-queued.get((sid, term), 0), sid))
            cheapest = {"scheme": best, "term": term, "price": low, "queued": queued.get((best, term), 0)}
        return order_book(offers, scheme, term, quantity, depth, cheapest=cheapest)


def wholesale_quote(scheme: Scheme, term: int, quantity: int) -> dict:
    """The unique offer for the term and quantity, and the same scheme's price ladders along
    quantity (each break, at this term) and along term (each term, at this quantity)."""
    price = scheme.unit_price(quantity, term)
    return {
        "scheme": scheme.id, "term": term, "quantity": quantity, "unit_price": price, "total": price * quantity,
        "by_quantity": [{"minimum_quantity": q, "unit_price": scheme.unit_price(q, term)} for q, _ in scheme.ladder],
        "by_term": [{"term": t, "unit_price": scheme.unit_price(quantity, t)} for t in scheme.terms],
    }


# -- the campaign page


def expected_effects(campaigns: list[dict], now: int) -> dict:
    """The campaign page's expected effects, from data: most popular (largest queued
    quantity), most potential (the most pledged over the last 24 hours), most urgent (the
    nearest target date of an open campaign still short of its MOQ), most economical
    (lowest unit price). Each campaign: ``{"id", "pledged", "moq", "unit_price",
    "target_date", "status", "pledges": [(timestamp, quantity)]}``; ties go to the lower id.
    None where no campaign qualifies."""
    live = [c for c in campaigns if c["status"] in ("open", "succeeded")]

    def best(items, key):
        items = list(items)
        return min(items, key=lambda c: (key(c), c["id"]))["id"] if items else None

    recent = {c["id"]: sum(q for t, q in c.get("pledges", ()) if now - DAY < t <= now) for c in live}
    return {
        "most_popular": best((c for c in live if c["pledged"] > 0), lambda c: -c["pledged"]),
        "most_potential": best((c for c in live if recent[c["id"]] > 0), lambda c: -recent[c["id"]]),
        "most_urgent": best((c for c in live if c["status"] == "open" and c["pledged"] < c["moq"]
                             and c["target_date"] >= now), lambda c: c["target_date"]),
        "most_economical": best(live, lambda c: c["unit_price"]),
        "growth_24h": recent,
    }


# -- the chain: GroupBuy campaigns


def fold_campaign(logs: list[dict]) -> dict:
    """A campaign from its canonical logs: terms, pledges, backers, targets and payouts."""
    state: dict = {"steps": [], "pledged": 0, "deposits": 0, "collected": 0, "refunded": 0, "backers": {},
                   "pledges": [], "succeeded": False, "cancelled": False}
    for log in logs:
        name, a, coords = log["event"], log["args"], log["coords"]
        step = {"step": name, "block_number": coords["block_number"], "tx_hash": coords["tx_hash"],
                "log_index": coords["log_index"], "timestamp": coords.get("block_timestamp")}
        if name == "CampaignOpened":
            state.update(enterprise=a["enterprise"], scheme_hash=a["schemeId"], cycle=a["cycle"], token=a["token"],
                         unit_price=a["unitPrice"], deposit_per_unit=a["depositPerUnit"], moq=a["moq"],
                         initial_moq=a["moq"], max_quantity=a["maxQuantity"], target_date=a["targetDate"],
                         opened_at=coords.get("block_timestamp"))
        elif name == "Pledged":
            backer = state["backers"].setdefault(a["backer"], {"quantity": 0, "deposit": 0, "refunded": False})
            backer["quantity"] += a["quantity"]
            backer["deposit"] += a["deposit"]
            state["pledged"] = a["pledged"]
            state["deposits"] += a["deposit"]
            state["pledges"].append({"backer": a["backer"], "quantity": a["quantity"], "deposit": a["deposit"],
                                     "confirmation_hash": a["confirmationHash"], "tx_hash": coords["tx_hash"],
                                     "block_number": coords["block_number"],
                                     "timestamp": coords.get("block_timestamp")})
            step.update(backer=a["backer"], quantity=a["quantity"], deposit=a["deposit"])
        elif name == "ProductionTriggered":
            state.update(succeeded=True, triggered={"pledged": a["pledged"], "moq": a["moq"],
                                                    "tx_hash": coords["tx_hash"],
                                                    "timestamp": coords.get("block_timestamp")})
            step.update(pledged=a["pledged"], moq=a["moq"])
        elif name == "MoqLowered":
            state["moq"] = a["moq"]
            step.update(previous=a["previousMoq"], moq=a["moq"])
        elif name == "TargetDateExtended":
            state["target_date"] = a["targetDate"]
            step.update(previous=a["previousTargetDate"], target_date=a["targetDate"])
        elif name == "CampaignCancelled":
            state["cancelled"] = True
        elif name == "DepositsCollected":
            state["collected"] += a["amount"]
            step.update(amount=a["amount"], credited=a["credited"])
        elif name == "Refunded":
            state["refunded"] += a["amount"]
            state["backers"].setdefault(a["backer"], {"quantity": 0, "deposit": 0})["refunded"] = True
            step.update(backer=a["backer"], amount=a["amount"], credited=a["credited"])
        state["steps"].append(step)
    return state


def campaign_status(state: dict, now: int) -> str:
    """Where a campaign stands at ``now`` (unix time; a failure is the clock's doing, as on chain)."""
    if state.get("succeeded"):
        return "succeeded"
    if state.get("cancelled"):
        return "cancelled"
    return "failed" if now > state.get("target_date", 0) else "open"


def progress(state: dict, now: int) -> dict:
    """A campaign against its targets: quantity missing to the MOQ, room to the maximum, time left."""
    return {"status": campaign_status(state, now), "missing": max(0, state["moq"] - state["pledged"]),
            "room": state["max_quantity"] - state["pledged"], "seconds_left": max(0, state["target_date"] - now),
            "percent_of_moq": min(100, state["pledged"] * 100 // state["moq"]) if state["moq"] else 100}


class Campaign(ChainAggregate):
    """A campaign of ``GroupBuy`` on one chain, keyed by its campaign id."""

    kind = "group-buy-campaign"
    fold = staticmethod(fold_campaign)


CONTRACT = "GroupBuy"
CAMPAIGN_EVENTS = frozenset({"CampaignOpened", "Pledged", "ProductionTriggered", "MoqLowered", "TargetDateExtended",
                             "CampaignCancelled", "DepositsCollected", "Refunded"})
SOURCES = (ChainSource(contract=CONTRACT, aggregate=Campaign, events=CAMPAIGN_EVENTS, key="campaignId",
                       opens="CampaignOpened"),)


# -- the store's catalogue (off chain)


def scheme_hash(scheme: str) -> str:
    """A scheme's id on chain: keccak-256 of its id text."""
    return "0x" + keccak(text=scheme).hex()


class Catalogue(Aggregate):
    """A store's customisation catalogue: its QFD, its scheme list, department costs and MOQs."""

    @staticmethod
    def create_id(store_id: str) -> UUID:
        return derive("catalogue", store_id)

    @event("Started")
    def __init__(self, store_id: str):
        self.store_id = store_id
        self.qfd_input: dict | None = None
        self.scheme_input: dict | None = None
        self.costs: dict[str, list[dict]] = {}    # "scheme@term" -> one row per department
        self.overrides: dict[str, dict] = {}      # "scheme@term" -> {"moq", "reason"}

    def record_qfd(self, requirements: list[dict], attributes: list[str], relations: list[list], roof: list[list]):
        """Records the QFD matrices (checked first: :class:`SchemeError`)."""
        qfd(requirements, attributes, {(r, a): s for r, a, s in relations}, {(a, b): sign for a, b, sign in roof})
        self._qfd_recorded(requirements=requirements, attributes=attributes, relations=relations, roof=roof)

    @event("QfdRecorded")
    def _qfd_recorded(self, requirements: list[dict], attributes: list[str], relations: list[list],
                      roof: list[list]):
        self.qfd_input = {"requirements": requirements, "attributes": attributes, "relations": relations,
                          "roof": roof}

    def define_schemes(self, parameters: list[dict], ladder: list[list[int]], terms: list[int],
                       term_discount_bps: dict, allowed: list[list[str]]) -> tuple[list[Scheme], list[dict]]:
        """Sets the customisable parameters, ladder and terms; returns the schemes they give."""
        analysis = self.qfd()
        made = schemes(parameters_of(parameters), [tuple(r) for r in ladder], terms,
                       analysis["negative_pairs"] if analysis else (), [tuple(p) for p in allowed],
                       {int(t): b for t, b in term_discount_bps.items()})
        if not made[0]:
            raise SchemeError("every combination of these options conflicts: no scheme is left")
        self._schemes_defined(parameters=parameters, ladder=ladder, terms=terms,
                              term_discount_bps={str(t): b for t, b in term_discount_bps.items()}, allowed=allowed)
        self._scheme_cache = None
        return made

    @event("SchemesDefined")
    def _schemes_defined(self, parameters: list[dict], ladder: list[list[int]], terms: list[int],
                         term_discount_bps: dict, allowed: list[list[str]]):
        self.scheme_input = {"parameters": parameters, "ladder": ladder, "terms": terms,
                             "term_discount_bps": term_discount_bps, "allowed": allowed}

    def submit_costs(self, scheme: str, term: int, department: str, fixed: int, variable: int):
        """A department's costs for a scheme and term (a department's later submission replaces its earlier)."""
        self.scheme(scheme, term)
        if fixed < 0 or variable < 0:
            raise SchemeError("costs are not negative")
        self._costs_submitted(scheme=scheme, term=term, department=department, fixed=fixed, variable=variable)

    @event("CostsSubmitted")
    def _costs_submitted(self, scheme: str, term: int, department: str, fixed: int, variable: int):
        rows = [r for r in self.costs.get(f"{scheme}@{term}", []) if r["department"] != department]
        self.costs[f"{scheme}@{term}"] = rows + [{"department": department, "fixed": fixed, "variable": variable}]

    def set_moq(self, scheme: str, term: int, moq_: int, reason: str):
        """A higher MOQ than the computed one, with its reason (checked: :class:`SchemeError`)."""
        found = self.scheme(scheme, term)
        moq(found, term, self.costs.get(f"{scheme}@{term}", []), {"moq": moq_, "reason": reason})
        self._moq_set(scheme=scheme, term=term, moq=moq_, reason=reason.strip())

    @event("MoqSet")
    def _moq_set(self, scheme: str, term: int, moq: int, reason: str):
        self.overrides[f"{scheme}@{term}"] = {"moq": moq, "reason": reason}

    # -- what it says

    def qfd(self) -> dict | None:
        q = self.qfd_input
        if q is None:
            return None
        return qfd(q["requirements"], q["attributes"], {(r, a): s for r, a, s in q["relations"]},
                   {(a, b): sign for a, b, sign in q["roof"]})

    def schemes(self) -> tuple[list[Scheme], list[dict]]:
        """The scheme list (and the combinations left out), made once per catalogue version."""
        cached = getattr(self, "_scheme_cache", None)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        s = self.scheme_input
        made: tuple[list[Scheme], list[dict]] = ([], [])
        if s is not None:
            analysis = self.qfd()
            made = schemes(parameters_of(s["parameters"]), [tuple(r) for r in s["ladder"]], s["terms"],
                           analysis["negative_pairs"] if analysis else (), [tuple(p) for p in s["allowed"]],
                           {int(t): b for t, b in s["term_discount_bps"].items()})
        self._scheme_cache = (self.version, made)
        return made

    def scheme(self, scheme_id_: str, term: int | None = None) -> Scheme:
        """One scheme of the list (offered with ``term``, when given); :class:`SchemeError` if none."""
        found = next((s for s in self.schemes()[0] if s.id == scheme_id_), None)
        if found is None:
            raise SchemeError(f"no scheme {scheme_id_!r} in this catalogue")
        if term is not None and term not in found.terms:
            raise SchemeError(f"scheme {scheme_id_!r} is not offered with a term of {term} cycle(s)")
        return found

    def moq(self, scheme: Scheme, term: int) -> dict:
        key = f"{scheme.id}@{term}"
        return moq(scheme, term, self.costs.get(key, []), self.overrides.get(key))


def parameters_of(rows: list[dict]) -> list[Parameter]:
    return [Parameter(p["id"], p["kind"], tuple(Option(o["id"], o.get("attribute"), int(o.get("surcharge", 0)))
                                                for o in p["options"])) for p in rows]
