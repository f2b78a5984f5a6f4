"""The minimum order quantity and the buyer's class.

- :func:`moq`: the smallest quantity at which the ladder's revenue covers the costs the
  departments submitted for the scheme and cycle (fixed per cycle, variable per unit); the
  store may set a higher one with a stated reason.
- :func:`classify`: per purchase intention (scheme, term, quantity), wholesale or retail.
"""

from __future__ import annotations

from math import ceil

from engine.group_buy.schemes import Scheme, SchemeError

MAX_MOQ_SEARCH = 10**9  # quantities beyond this are not a production run


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
    result = {
        "scheme": scheme.id,
        "term": term,
        "fixed_per_cycle": fixed,
        "variable_per_unit": variable,
        "costs": costs,
        "computed": computed,
        "band": band_used,
        "moq": computed,
        "override": None,
    }
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
        return {
            "class": "wholesale",
            "reason": f"{quantity} units within one production cycle, above the MOQ of {moq_}",
        }
    if quantity < moq_:
        reason = f"{quantity} units, below the MOQ of {moq_}: joins the queue of other buyers"
    elif term > 1:
        reason = f"{quantity} units over {term} production cycles: not a one-cycle wholesale order"
    else:
        reason = f"{quantity} units, exactly the MOQ of {moq_}: not more than it"
    return {"class": "retail", "reason": reason}
