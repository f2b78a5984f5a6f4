"""The keeper: releases settlements whose time limit has passed, so a silent buyer
never holds up a store. Off unless the engine is given a keeper key (the operator's
own account; it only pays gas, it never touches settlement funds)."""

from __future__ import annotations

import logging
import time

from eth_account import Account

from .rpc import Rpc, RpcError
from .transactions import Reverted, SettlementKey, Transactions

log = logging.getLogger("orderchain.keeper")


class Keeper:
    def __init__(self, rpc: Rpc, transactions: Transactions, private_key: str):
        self.rpc = rpc
        self.tx = transactions
        self.account = Account.from_key(private_key)

    def due(self, settlements: list[dict], now: int) -> list[dict]:
        return [s for s in settlements if s["status"] in ("paid", "shipped") and s.get("deadline") is not None
                and s["deadline"] <= now]

    def release(self, state: dict) -> str | None:
        key = SettlementKey(state["store"], state["order_number"], state["buyer"], state["payer"], state["token"])
        try:
            unsigned = self.tx.settlement_call("release", key, self.account.address)
        except Reverted as exc:   # someone else released it first, or it moved on
            log.info("not releasing %s: %s", key.settlement_id(), exc.revert.message)
            return None
        unsigned = {k: (int(v) if k in ("gas", "maxFeePerGas", "maxPriorityFeePerGas", "value") else v)
                    for k, v in unsigned.items() if k != "from"}
        signed = self.account.sign_transaction(unsigned)
        try:
            tx_hash = self.rpc.call("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())
        except RpcError as exc:
            log.warning("release of %s failed: %s", key.settlement_id(), exc)
            return None
        log.info("released %s in %s", key.settlement_id(), tx_hash)
        return tx_hash

    def run_once(self, settlements: list[dict]) -> list[str]:
        latest = self.rpc.block("latest")
        now = int(latest["timestamp"], 16) if latest else int(time.time())
        return [h for h in (self.release(s) for s in self.due(settlements, now)) if h]
