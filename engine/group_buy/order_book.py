"""Quotes: the retail order book (:func:`order_book`, over a :class:`Market` of offers) and
the wholesale quote (:func:`wholesale_quote`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import takewhile

from engine.group_buy.schemes import Scheme, SchemeError

BOOK_DEPTH = 5  # price levels shown above and below the buyer's own quote


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
    asks: list[list] = field(default_factory=list)  # [price, quantity, schemes], nearest first
    bids: list[list] = field(default_factory=list)
    cheapest: dict | None = None
    queue: int = 0


def order_book(
    offers: list[Offer],
    scheme: str,
    term: int,
    quantity: int,
    depth: int = BOOK_DEPTH,
    cheapest: dict | bool | None = False,
) -> Book:
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
    book = Book(
        own={
            "price": own_price,
            "quantity": quantity,
            "scheme": scheme,
            "term": term,
            "queued": own.queued + (same[1] if same else 0),
            "schemes": [f"{scheme}@{term}"] + (sorted(same[2]) if same else []),
        },
        queue=own.queued,
    )
    for price in sorted(p for p in levels if p > own_price)[:depth]:
        book.asks.append([price, levels[price][1], sorted(levels[price][2])])
    for price in sorted((p for p in levels if p < own_price), reverse=True)[:depth]:
        book.bids.append([price, levels[price][1], sorted(levels[price][2])])
    if not isinstance(cheapest, bool):  # False: find it here; a dict or None: the market found it
        book.cheapest = cheapest
        return book
    candidates = [
        (o.scheme.unit_price(quantity, term), -o.queued, o.scheme.id, o)
        for o in offers
        if o.term == term and quantity >= o.scheme.ladder[0][0]
    ]
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
            yield (i, *options[:i], *options[i + 1 :])

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
            found = sorted(
                (s.unit_price(quantity, term), s.id)
                for s in self.schemes.values()
                if term in s.terms and quantity >= s.ladder[0][0]
            )
            if len(self._by_price) >= self.PRICE_LISTS_KEPT:
                self._by_price.clear()
            self._by_price[key] = found
        return found

    def book(
        self, queued: dict[tuple[str, int], int], scheme: str, term: int, quantity: int, depth: int = BOOK_DEPTH
    ) -> Book:
        own = self.schemes.get(scheme)
        if own is None:
            raise SchemeError(f"no scheme {scheme!r} in this catalogue")
        offers = [
            Offer(s, t, queued.get((s.id, t), 0)) for s in self.neighbours(own) for t in s.terms if abs(t - term) <= 1
        ]
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
        "scheme": scheme.id,
        "term": term,
        "quantity": quantity,
        "unit_price": price,
        "total": price * quantity,
        "by_quantity": [{"minimum_quantity": q, "unit_price": scheme.unit_price(q, term)} for q, _ in scheme.ladder],
        "by_term": [{"term": t, "unit_price": scheme.unit_price(quantity, t)} for t in scheme.terms],
    }
