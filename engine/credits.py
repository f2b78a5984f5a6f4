"""Credited payouts: what a token refused to transfer, waiting in its contract for the recipient.

Every escrow contract is built on ``contracts/lib/CreditedPayouts.sol``: a payout or refund
the token refuses (it blocklists the recipient) is credited in the contract instead, and the
recipient later claims its whole credit in that token (``CreditClaimed``), to an address it
names. Each contract module declares a :class:`CreditAccount` subclass of its own, keyed by
the recipient, that reads its ``CreditClaimed`` logs (and its ``Credited`` logs, where the
contract tells a credit that way; the settlement and the group-buy contracts tell it in
their own payout logs).

:func:`ledger` says, from one recipient's credits and claims in one contract and token,
oldest first, what is still owed and which credits were claimed: a claim takes the whole
credit, so every credit before it is claimed.
"""

from __future__ import annotations

from typing import Any

from engine.chain.source import ChainAggregate

CREDIT_EVENTS = frozenset({"Credited", "CreditClaimed"})


class CreditAccount(ChainAggregate):
    """A recipient's credits and claims in one contract (subclasses name the contract's kind)."""

    kind = "credit"

    @staticmethod
    def fold(logs: list[dict]) -> dict:
        """The credits (``Credited``) and claims (``CreditClaimed``) its logs tell, oldest first."""
        state: dict[str, Any] = {"credits": [], "claims": []}
        for log in logs:
            args, coords = log["args"], log["coords"]
            at = {
                "block_number": coords["block_number"],
                "log_index": coords["log_index"],
                "block_hash": coords["block_hash"],
                "tx_hash": coords["tx_hash"],
            }
            if log["event"] == "Credited":
                state["credits"].append({"token": args["token"], "amount": args["amount"], **at})
            elif log["event"] == "CreditClaimed":
                state["claims"].append({"token": args["token"], "amount": args["amount"], "to": args["to"], **at})
        return state


def position(entry: dict) -> tuple[int, int]:
    """Where a credit or a claim stands in the chain's order of logs."""
    return entry["block_number"], entry["log_index"]


def ledger(entries: list[dict]) -> dict:
    """One recipient's credits (``kind`` "credited") and claims (``kind`` "claimed") in one
    contract and token, in any order: the total credited, claimed and still owed, and each
    entry in the chain's order with ``claimed`` set on every credit a later claim took."""
    ordered = sorted(entries, key=position)
    last_claim = max((position(e) for e in ordered if e["kind"] == "claimed"), default=None)
    shown, credited, claimed, owed = [], 0, 0, 0
    for entry in ordered:
        if entry["kind"] == "credited":
            credited += entry["amount"]
            taken = credit_claimed(entry, last_claim)
            owed += 0 if taken else entry["amount"]
            shown.append(dict(entry, claimed=taken))
        else:
            claimed += entry["amount"]
            shown.append(dict(entry))
    return {"credited": credited, "claimed": claimed, "owed": owed, "entries": shown}


def credit_claimed(credit: dict, last_claim: tuple[int, int] | None) -> bool:
    """Whether a credit (its ``block_number`` and ``log_index``) was taken by a claim at
    ``last_claim``, the position of its recipient's latest claim in the same contract and token."""
    return last_claim is not None and position(credit) < last_claim


def latest_claims(recipient: str, logs: list[dict]) -> dict[tuple[str, str], tuple[int, int]]:
    """The position of ``recipient``'s latest claim in each token, from its account's logs."""
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for claim in CreditAccount.fold(logs)["claims"]:
        key, at = (recipient, claim["token"]), position(claim)
        if key not in found or at > found[key]:
            found[key] = at
    return found
