"""Unsigned transactions, EIP-2612 permit typed data and the signed-transaction relay.

Keys stay with their holders: this module only builds what a wallet signs and passes
on what it signed. Every build runs ``eth_estimateGas`` first, so an action the
contract would refuse is reported by its custom error before anyone signs anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import rlp
from eth_account import Account
from eth_account._utils.legacy_transactions import Transaction as LegacyTransaction
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes

from .abi import DecodedRevert
from .manifest import Manifest
from .rpc import Rpc, RpcError

# Settlement actions: contract function and who must send it.
ACTIONS = {
    "open": ("open", "payer"),
    "open_with_permit": ("openWithPermit", "payer"),
    "ship": ("ship", "store"),
    "reject": ("reject", "store"),
    "confirm": ("confirm", "buyer"),
    "dispute": ("dispute", "buyer"),
    "release": ("release", None),
    "resolve": ("resolve", None),
}


class Reverted(Exception):
    """The contract would refuse (or refused) the transaction."""

    def __init__(self, revert: DecodedRevert):
        super().__init__(revert.message)
        self.revert = revert


class TxRejected(Exception):
    """The node will not take the transaction (bad signature, wrong chain, replay...)."""

    def __init__(self, message: str, status: int = 422, tx_hash: str | None = None):
        super().__init__(message)
        self.status = status
        self.tx_hash = tx_hash


def revert_data(exc: RpcError) -> str | None:
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data") or data.get("result")
    if isinstance(data, str) and data.startswith("0x"):
        return data
    return None


@dataclass
class SettlementKey:
    store: str
    order_number: str   # bytes32 hex
    buyer: str
    payer: str
    token: str

    def as_tuple(self) -> tuple:
        return (self.store, bytes.fromhex(self.order_number[2:]), self.buyer, self.payer, self.token)

    def settlement_id(self) -> str:
        from eth_abi import encode
        return "0x" + keccak(encode(["(address,bytes32,address,address,address)"], [self.as_tuple()])).hex()


class Transactions:
    def __init__(self, rpc: Rpc, manifest: Manifest):
        self.rpc = rpc
        self.manifest = manifest
        self.settlement = manifest.contract("C2CSettlement")
        self.functions = self.settlement.functions
        self.errors = manifest.error_decoder()
        self.decoders = {c.address: c.events for c in manifest.contracts.values()}

    # -- building

    def build(self, sender: str, to: str, data: str, value: int = 0) -> dict:
        """An unsigned EIP-1559 transaction, gas estimated (reverts decoded)."""
        call = {"from": sender, "to": to, "data": data, "value": hex(value)}
        try:
            gas = int(self.rpc.call("eth_estimateGas", call), 16)
        except RpcError as exc:
            data_hex = revert_data(exc)
            if data_hex is not None or "revert" in (exc.message or "").lower():
                raise Reverted(self.errors.decode(data_hex)) from None
            raise
        block = self.rpc.block("latest") or {}
        base_fee = int(block.get("baseFeePerGas", "0x0"), 16)
        try:
            tip = int(self.rpc.call("eth_maxPriorityFeePerGas"), 16)
        except RpcError:
            tip = 10**9
        nonce = int(self.rpc.call("eth_getTransactionCount", sender, "pending"), 16)
        return {
            "type": 2, "chainId": self.manifest.chain_id, "from": to_checksum_address(sender),
            "to": to_checksum_address(to), "data": data, "value": str(value),
            "gas": str(gas + gas // 5), "nonce": nonce,
            "maxFeePerGas": str(2 * base_fee + tip), "maxPriorityFeePerGas": str(tip),
        }

    def settlement_call(self, action: str, key: SettlementKey, sender: str, **params: Any) -> dict:
        fn, _ = ACTIONS[action]
        k = key.as_tuple()
        if action == "open":
            args = (k, params["amount"], bytes.fromhex(params["snapshot_hash"][2:]), params.get("time_limit", 0))
        elif action == "open_with_permit":
            args = (k, params["amount"], bytes.fromhex(params["snapshot_hash"][2:]), params.get("time_limit", 0),
                    params["permit_value"], params["permit_deadline"], params["v"],
                    bytes.fromhex(params["r"][2:]), bytes.fromhex(params["s"][2:]))
        elif action == "ship":
            args = (k, bytes.fromhex(params["waybill_hash"][2:]))
        elif action == "dispute":
            args = (k, bytes.fromhex(params["reason_hash"][2:]))
        elif action == "confirm":
            args = (k, params["amount_due"])
        elif action == "resolve":
            args = (k, params["to_store"])
        else:
            args = (k,)
        return self.build(sender, self.settlement.address, self.functions.encode(fn, *args))

    def approve(self, token: str, owner: str, amount: int) -> dict:
        from .abi import FunctionEncoder
        erc20 = FunctionEncoder(ERC20_ABI)
        return self.build(owner, token, erc20.encode("approve", self.settlement.address, amount))

    def permit_typed_data(self, token: str, owner: str, value: int, deadline: int) -> dict:
        """EIP-712 typed data of an EIP-2612 permit for the settlement contract."""
        from .abi import FunctionEncoder
        erc20 = FunctionEncoder(ERC20_ABI)
        name = erc20.decode_output("name", self.rpc.call("eth_call", {"to": token, "data": erc20.encode("name")},
                                                          "latest"))[0]
        nonce = erc20.decode_output("nonces", self.rpc.call(
            "eth_call", {"to": token, "data": erc20.encode("nonces", owner)}, "latest"))[0]
        return {
            "types": {
                "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                 {"name": "chainId", "type": "uint256"},
                                 {"name": "verifyingContract", "type": "address"}],
                "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                           {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                           {"name": "deadline", "type": "uint256"}],
            },
            "primaryType": "Permit",
            "domain": {"name": name, "version": "1", "chainId": self.manifest.chain_id,
                       "verifyingContract": to_checksum_address(token)},
            "message": {"owner": to_checksum_address(owner), "spender": to_checksum_address(self.settlement.address),
                        "value": str(value), "nonce": str(nonce), "deadline": str(deadline)},
        }

    # -- relaying

    def decode_raw(self, raw: str) -> dict:
        try:
            blob = HexBytes(bytes.fromhex(raw[2:] if raw.startswith("0x") else raw))
            sender = Account.recover_transaction(blob)
            if blob and blob[0] <= 0x7F:
                fields = TypedTransaction.from_bytes(blob).as_dict()
                chain_id = fields["chainId"]
            else:
                legacy = rlp.decode(blob, LegacyTransaction)
                fields = {"nonce": legacy.nonce, "to": legacy.to, "data": legacy.data, "value": legacy.value,
                          "gas": legacy.gas}
                chain_id = (legacy.v - 35) // 2 if legacy.v >= 35 else None
        except Exception as exc:  # any malformed input: not a signed transaction
            raise TxRejected(f"not a signed transaction ({exc.__class__.__name__}: {exc})", 400) from None
        if chain_id is not None and chain_id != self.manifest.chain_id:
            raise TxRejected(f"transaction is for chain {chain_id}, this is chain {self.manifest.chain_id}")
        to = fields.get("to")
        return {
            "hash": "0x" + keccak(blob).hex(),
            "from": sender.lower(),
            "to": ("0x" + bytes(to).hex()) if to else None,
            "data": "0x" + bytes(fields.get("data", b"")).hex(),
            "value": int(fields.get("value", 0)),
            "gas": int(fields.get("gas", 0)),
            "nonce": int(fields["nonce"]),
        }

    def relay(self, raw: str, wait: float = 10.0) -> dict:
        tx = self.decode_raw(raw)
        if self.rpc.call("eth_getTransactionByHash", tx["hash"]) is not None:
            raise TxRejected("transaction was already submitted", 409, tx["hash"])
        next_nonce = int(self.rpc.call("eth_getTransactionCount", tx["from"], "pending"), 16)
        if tx["nonce"] < next_nonce:
            raise TxRejected(f"nonce {tx['nonce']} of {tx['from']} is already used", 409, tx["hash"])
        call = {"from": tx["from"], "data": tx["data"], "value": hex(tx["value"]), "gas": hex(tx["gas"])}
        if tx["to"]:
            call["to"] = tx["to"]
        try:
            self.rpc.call("eth_call", call, "pending")
        except RpcError as exc:
            if revert_data(exc) is not None or "revert" in (exc.message or "").lower():
                raise Reverted(self.errors.decode(revert_data(exc))) from None
            raise TxRejected(exc.message) from None
        try:
            tx_hash = self.rpc.call("eth_sendRawTransaction", raw)
        except RpcError as exc:
            message = exc.message or ""
            status = 409 if any(w in message.lower() for w in ("known", "nonce too low", "already")) else 422
            raise TxRejected(message, status, tx["hash"]) from None
        return self.result(tx_hash, call, wait)

    def result(self, tx_hash: str, call: dict | None = None, wait: float = 10.0) -> dict:
        deadline = time.monotonic() + wait
        receipt = None
        while True:
            receipt = self.rpc.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if receipt is None:
            return {"tx_hash": tx_hash, "status": "pending"}
        out: dict[str, Any] = {"tx_hash": tx_hash, "block_number": int(receipt["blockNumber"], 16),
                               "gas_used": int(receipt["gasUsed"], 16)}
        if int(receipt["status"], 16) == 1:
            out["status"] = "success"
            out["events"] = [e for e in (self._decode_log(lg) for lg in receipt["logs"]) if e]
        else:
            out["status"] = "reverted"
            out["revert"] = self._replay_revert(tx_hash, receipt)
        return out

    def _decode_log(self, lg: dict) -> dict | None:
        decoder = self.decoders.get(lg["address"].lower())
        decoded = decoder.decode(lg) if decoder else None
        if decoded is None:
            return None
        name, args = decoded
        return {"event": name, "address": to_checksum_address(lg["address"]),
                "log_index": int(lg["logIndex"], 16),
                "args": {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
                         for k, v in args.items()}}

    def _replay_revert(self, tx_hash: str, receipt: dict) -> dict:
        """The custom error of a mined, reverted transaction, found by calling it again: on
        its block's state (what made it fail is usually still there, including the block's
        time), else on the state before the block."""
        tx = self.rpc.call("eth_getTransactionByHash", tx_hash)
        call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
        number = int(receipt["blockNumber"], 16)
        for block in (hex(number), hex(number - 1)):
            try:
                self.rpc.call("eth_call", call, block)
            except RpcError as exc:
                return self.errors.decode(revert_data(exc)).as_dict()
        return {"error": "Reverted", "args": {}, "message": "reverted; calling it again no longer does"}

    def lookup(self, tx_hash: str) -> dict | None:
        """A transaction's outcome now: pending, or mined with its events or its revert."""
        if self.rpc.call("eth_getTransactionByHash", tx_hash) is None:
            return None
        return self.result(tx_hash, wait=0)


ERC20_ABI = [
    {"type": "function", "name": "approve", "stateMutability": "nonpayable",
     "inputs": [{"name": "spender", "type": "address"}, {"name": "value", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "function", "name": "name", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "string"}]},
    {"type": "function", "name": "nonces", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
]
