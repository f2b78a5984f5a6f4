"""Puts many settlements on a dev chain fast, for ingestion tests and the benchmark.

Uses anvil's unlocked dev accounts (``eth_sendTransaction``) with automining off, so a
block holds many transactions and thousands of settlement events take seconds.
"""

from __future__ import annotations

from eth_utils import keccak

from engine.abi import FunctionEncoder
from engine.manifest import Manifest
from engine.rpc import Rpc
from engine.settlement import SettlementKey
from engine.store_order import order_number_bytes32
from engine.transactions import ERC20_ABI

DEV_ADDRESSES = [
    "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc", "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
    "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65", "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc",
    "0x976ea74026e726554db657fa54763abd0c3a0aa9", "0x14dc79964da2c08b23698b3d3cc7ca32193d9955",
    "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f", "0xa0ee7a142d267c1f36714e4a8f75612f20a79720",
]
STORE = DEV_ADDRESSES[2]
GAS = 200_000


class Load:
    """Puts many settlements on a dev chain (see the module docstring)."""

    def __init__(self, rpc: Rpc, manifest: Manifest, store: str = STORE, contract: str = "C2CSettlement"):
        self.rpc = rpc
        self.settlement = manifest.contract(contract)
        self.token = manifest.contract("TestStablecoin").address
        self.fn = self.settlement.functions
        self.erc20 = FunctionEncoder(ERC20_ABI)
        self.store = store
        self.snapshot_hash = "0x" + keccak(text="load").hex()
        self.nonces: dict[str, int] = {}

    def key(self, number: str, buyer: str) -> tuple:
        return SettlementKey(self.store, order_number_bytes32(number), buyer, buyer, self.token).as_tuple()

    def _tx(self, sender: str, to: str, data: str) -> tuple[str, list]:
        # Explicit nonces: the node handles a batch's requests concurrently.
        if sender not in self.nonces:
            self.nonces[sender] = int(self.rpc.call("eth_getTransactionCount", sender, "pending"), 16)
        nonce = self.nonces[sender]
        self.nonces[sender] += 1
        return ("eth_sendTransaction", [{"from": sender, "to": to, "data": data, "gas": hex(GAS),
                                         "nonce": hex(nonce)}])

    def _mine(self, txs: list[tuple[str, list]], per_block: int) -> int:
        """Sends ``txs`` in batches of ``per_block`` and mines until each batch is in; returns blocks mined."""
        blocks = 0
        for i in range(0, len(txs), per_block):
            hashes = self.rpc.batch(txs[i:i + per_block])
            while True:
                self.rpc.call("anvil_mine", "0x1")
                blocks += 1
                if int(self.rpc.call("txpool_status")["pending"], 16) == 0:
                    break
            receipts = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
            failed = [r for r in receipts if r is None or r["status"] != "0x1"]
            if failed:
                raise RuntimeError(f"{len(failed)} load transactions failed, e.g. {failed[0]}")
        return blocks

    def settlements(self, count: int, buyers: list[str], amount: int = 1_000_000, confirm: bool = True,
                    per_block: int = 250, prefix: str = "L", snapshot_hashes: dict | None = None,
                    start: int = 0) -> dict:
        """Opens (and confirms) ``count`` settlements; returns numbers of events and blocks."""
        self.rpc.call("evm_setAutomine", False)
        try:
            approvals = [self._tx(b, self.token, self.erc20.encode("approve", self.settlement.address, 2**255))
                         for b in buyers]
            blocks = self._mine(approvals, per_block)
            numbers = [(f"{prefix}-{i}", buyers[i % len(buyers)]) for i in range(start, start + count)]
            opens = [self._tx(b, self.settlement.address,
                              self.fn.encode("open", self.key(n, b), amount,
                                             bytes.fromhex((snapshot_hashes or {}).get(n, self.snapshot_hash)[2:]), 0))
                     for n, b in numbers]
            blocks += self._mine(opens, per_block)
            events = count
            if confirm:
                confirms = [self._tx(b, self.settlement.address, self.fn.encode("confirm", self.key(n, b)))
                            for n, b in numbers]
                blocks += self._mine(confirms, per_block)
                events += count
        finally:
            self.rpc.call("evm_setAutomine", True)
        return {"events": events, "blocks": blocks, "numbers": numbers}
