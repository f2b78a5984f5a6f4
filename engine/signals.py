"""Reputation signals: what each capability's outcomes say about the addresses in them.

Every domain that ends something between parties (a settlement, a loan against a case, a
campaign, a cross-border order) reads the folded state of one of its aggregates and says,
for each party, which counter it adds to and whether that counts for the party, against it,
or neither (:class:`Signal`); it names and explains its counters in its own table
(``REPUTATION``). The reputation view adds them up per address; the score and the credit
limit they set are the accounts' (:mod:`engine.accounts.reputation`). A signal is a pure
function of canonical logs, so a reorganisation that retracts a log takes its signal away,
and every counter is recomputable from the event log.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Signal:
    address: str  # lower-case hex: the party the outcome speaks of
    name: str  # the counter (explained in the domain's REPUTATION table)
    positive: bool | None  # for the party, against it, or counted only
    at: int | None  # unix time of the outcome (its block's timestamp)


def last_timestamp(steps: list[dict]) -> int | None:
    """The time of the newest step that carries one."""
    return next((s["timestamp"] for s in reversed(steps) if s.get("timestamp") is not None), None)


def split_outcome(
    first: str, second: str, to_first: int, to_second: int, at: int | None, prefix: str = "dispute"
) -> list[Signal]:
    """A dispute between two parties by how the money went: all to one side is won by it and
    lost by the other; a split counts for neither."""
    if to_second == 0 and to_first > 0:
        return [Signal(first, f"{prefix}_won", True, at), Signal(second, f"{prefix}_lost", False, at)]
    if to_first == 0 and to_second > 0:
        return [Signal(first, f"{prefix}_lost", False, at), Signal(second, f"{prefix}_won", True, at)]
    return [Signal(first, f"{prefix}_split", None, at), Signal(second, f"{prefix}_split", None, at)]


DISPUTES = {
    "dispute_won": "a dispute ended with all the money to this party",
    "dispute_lost": "a dispute ended with all the money to the other party",
    "dispute_split": "a dispute ended with the money split (counted only)",
}
