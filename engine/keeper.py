"""The keeper: releases settlements whose time limit has passed, so a silent buyer
never holds up a store. Off unless the engine is given a keeper key (the operator's
own account; it only pays gas, it never touches settlement funds)."""

from __future__ import annotations

import logging

from eth_account import Account

from .rpc import Rpc, RpcError
from .settlement import RELEASABLE_STATUSES, SettlementKey
from .transactions import SETTLEMENT, Reverted, Transactions

log = logging.getLogger("orderchain.keeper")


class Keeper:
    """Signs and sends ``release`` for every settlement past its time limit."""

    def __init__(self, rpc: Rpc, transactions: Transactions, private_key: str):
        self.rpc = rpc
        self.tx = transactions
        self.account = Account.from_key(private_key)
        self.released = 0

    @staticmethod
    def due(settlements: list[dict], now: int) -> list[dict]:
        return [s for s in settlements if s["status"] in RELEASABLE_STATUSES and s.get("deadline") is not None
                and s["deadline"] <= now]

    def release(self, state: dict) -> str | None:
        key = SettlementKey.of(state)
        try:
            unsigned = self.tx.call(SETTLEMENT, "release", (key.as_tuple(),), self.account.address)
        except Reverted as exc:   # someone else released it first, or it moved on
            log.info("not releasing %s: %s", key.settlement_id(), exc.revert.message)
            return None
        signed = self.account.sign_transaction(unsigned)
        try:
            tx_hash = self.rpc.call("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())
        except RpcError as exc:
            log.warning("release of %s failed: %s", key.settlement_id(), exc)
            return None
        self.released += 1
        log.info("released %s in %s", key.settlement_id(), tx_hash)
        return tx_hash

    def run_once(self, settlements: list[dict]) -> list[str]:
        now = self.rpc.chain_time()
        return [h for h in (self.release(s) for s in self.due(settlements, now)) if h]
