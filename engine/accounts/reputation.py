"""The credit (reputation) evaluation: what an account did, as explainable counters, and a
score with the credit limit it sets for paying after delivery.

Every signal is a count of events with a sign: positive (a settlement completed on time, a
group-buy pledge honoured, a liquor loan repaid, a pay-after-delivery collection that
succeeded, good feedback on a settled order) or negative (a dispute lost, a refund forced
by a claim, a loan seized, a collection that failed, a verification alarm caused, poor
feedback). The score is the Wilson lower bound (95 %) of the positive share of the signals
of the last 365 days, 0 with no history, so a short history cannot score high.

The credit limit (base units of the settlement token) is
``LEVEL_LIMIT[identity level] x score``, rounded down: nothing before the operator attested
the identity (level 0), and at most the level's cap for a perfect, long history.
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal

WINDOW_SECONDS = 365 * 86_400
SIX_PLACES = Decimal("0.000001")  # the score's precision, rounded down (never above the bound)
Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile
# What each identity level may owe after delivery at a score of 1 (6-decimal token: 0, 200, 2,000 units).
LEVEL_LIMIT = {0: 0, 1: 200_000_000, 2: 2_000_000_000}


def wilson_lower_bound(positive: int, total: int, z: float = Z_95) -> float:
    """The lower bound of the Wilson score interval of ``positive`` out of ``total`` (0 with none)."""
    if total <= 0:
        return 0.0
    if not 0 <= positive <= total:
        raise ValueError("positive is between 0 and total")
    p = positive / total
    denominator = 1 + z * z / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (centre - margin) / denominator)


def score(signals: list[tuple[float, bool]], now: float) -> dict:
    """The score of ``(timestamp, positive)`` signals: those of the last 365 days count."""
    recent = [positive for at, positive in signals if now - WINDOW_SECONDS < at <= now]
    positive = sum(1 for p in recent if p)
    return {
        "positive": positive,
        "negative": len(recent) - positive,
        "score": score_counts(positive, len(recent) - positive),
    }


def credit_limit(level: int, score_value: Decimal) -> int:
    """What an account may owe after delivery (see the module docstring)."""
    cap = LEVEL_LIMIT.get(level, LEVEL_LIMIT[max(LEVEL_LIMIT)] if level > 0 else 0)
    return int((Decimal(cap) * score_value).to_integral_value(ROUND_FLOOR))


def score_counts(positive: int, negative: int) -> Decimal:
    """The score of counted signals (those of the window already picked): Wilson's lower bound, 6 places."""
    return Decimal(wilson_lower_bound(positive, positive + negative)).quantize(SIX_PLACES, ROUND_FLOOR)
