"""The keeper: ends settlements whose window has passed, so a silent party never holds up
the other. It releases to the store once the time limit passed (silent buyer), executes a
claim the store left unanswered past its response window (silent store), and ends a dispute
the arbiter left undecided past the arbitration window. Off unless the engine is given a
keeper key (the operator's own account; it only pays gas, it never touches settlement funds)."""

from __future__ import annotations

import logging

from eth_account import Account

from engine.chain.rpc import Rpc, RpcError
from engine.chain.transactions import SETTLEMENT, Reverted, Transactions
from engine.settlement.escrow import SettlementKey

log = logging.getLogger("orderchain.keeper")


def due(settlement: dict, now: int) -> str | None:
    """The contract function that ends ``settlement`` (a folded state) now, if one does."""
    status = settlement.get("status")
    if status in ("paid", "shipped") and settlement.get("deadline") is not None and settlement["deadline"] <= now:
        return "release"
    if status == "claimed" and settlement["claim"]["respond_by"] <= now:
        return "executeClaim"
    if status == "disputed" and settlement["dispute"]["decide_by"] <= now:
        return "endLapsedDispute"
    return None


class Keeper:
    """Signs and sends the ending of every settlement whose window has passed."""

    def __init__(self, rpc: Rpc, transactions: Transactions, private_key: str):
        self.rpc = rpc
        self.tx = transactions
        self.account = Account.from_key(private_key)
        self.sent = 0

    def end(self, state: dict, function: str) -> str | None:
        key = SettlementKey.of(state)
        try:
            unsigned = self.tx.call(SETTLEMENT, function, (key.as_tuple(),), self.account.address)
        except Reverted as exc:  # someone else ended it first, or it moved on
            log.info("not sending %s for %s: %s", function, state["id"], exc.revert.message)
            return None
        signed = self.account.sign_transaction(unsigned)
        try:
            tx_hash = self.rpc.call("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())
        except RpcError as exc:
            log.warning("%s of %s failed: %s", function, state["id"], exc)
            return None
        self.sent += 1
        log.info("%s %s in %s", function, state["id"], tx_hash)
        return tx_hash

    def run_once(self, settlements: list[dict]) -> list[str]:
        now = self.rpc.chain_time()
        ended = (self.end(s, fn) for s in settlements if (fn := due(s, now)))
        return [h for h in ended if h]
