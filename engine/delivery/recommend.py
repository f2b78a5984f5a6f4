"""Recommendations from purchase habits (the seed's storage and feedback of what a buyer
bought): items bought together by many buyers, ranked by lift, and the store's best sellers
when nothing is known yet.

Counts are of buyers, not orders: ``n[a]`` buyers bought item a, ``n[a, b]`` bought both, of
``N`` buyers in all. The lift of recommending b to a buyer of a is
``n[a, b] x N / (n[a] x n[b])``: above 1 when buying a makes buying b likelier than it is
among all buyers. A candidate b is scored by its best lift over the items the buyer has,
needs at least :data:`MIN_TOGETHER` buyers who bought both, and is never an item the buyer
already has. Each recommendation carries its reason. With fewer than ``limit`` found, the
best sellers the buyer lacks fill the list, most buyers first.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

MIN_TOGETHER = 2
FOUR_PLACES = Decimal("0.0001")


def lift(together: int, first: int, second: int, buyers: int) -> Decimal:
    return Decimal(_lift_units(together, first, second, buyers)) / 10_000


def _lift_units(together: int, first: int, second: int, buyers: int) -> int:
    """The lift in ten-thousandths, rounded half to even, in integers (a ranking computes many)."""
    if not (together and first and second and buyers):
        return 0
    quotient, remainder = divmod(together * buyers * 10_000, first * second)
    twice = 2 * remainder
    if twice > first * second or (twice == first * second and quotient % 2):
        quotient += 1
    return quotient


def recommend(
    has: set[str],
    bought: dict[str, int],
    together: dict[tuple[str, str], int],
    buyers: int,
    names: dict[str, str] | None = None,
    limit: int = 5,
) -> list[dict]:
    """Up to ``limit`` items for a buyer who has ``has`` (see the module docstring).
    ``together`` holds each unordered pair once, as ``(min, max)``."""
    names = names or {}
    best: dict[str, tuple[int, int, str]] = {}
    for (a, b), n in together.items():
        if n < MIN_TOGETHER:
            continue
        for mine, other in ((a, b), (b, a)):
            if mine in has and other not in has:
                score = _lift_units(n, bought[mine], bought[other], buyers)
                if other not in best or (score, n, mine) > best[other]:
                    best[other] = (score, n, mine)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:limit]
    out = [
        {
            "item": item,
            "lift": (Decimal(score) / 10_000).quantize(FOUR_PLACES, ROUND_HALF_EVEN),
            "reason": f"bought with {names.get(mine, mine)} by {n} buyers",
        }
        for item, (score, n, mine) in ranked
    ]
    for item, n in sorted(bought.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(out) >= limit:
            break
        if item not in has and item not in best:
            out.append({"item": item, "lift": None, "reason": f"a best seller: bought by {n} buyers"})
    return out
