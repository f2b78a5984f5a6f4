"""Unsigned transactions, EIP-2612 permit typed data and the signed-transaction relay.

Keys stay with their holders: this module only builds what a wallet signs and passes
on what it signed. Every build runs ``eth_estimateGas`` first, so an action the
contract would refuse is reported by its custom error before anyone signs anything.

An unsigned transaction carries every number as a JSON-RPC quantity (a 0x-prefixed hex
string), ``from`` and ``to`` as checksummed addresses: eth-account's
``sign_transaction`` and ``eth_signTransaction`` take it as it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import rlp
from eth_account import Account
from eth_account._utils.legacy_transactions import Transaction as LegacyTransaction
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes

from engine.chain.abi import DecodedRevert, FunctionEncoder
from engine.chain.manifest import Manifest
from engine.chain.rpc import Rpc, RpcError

SETTLEMENT = "C2CSettlement"
GAS_MARGIN = 5  # gas limit = estimate + estimate / GAS_MARGIN (20 % headroom)
DEFAULT_TIP = 10**9  # priority fee when the node does not suggest one (1 gwei)
NO_CODE = ("0x", "0x0", None)


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


class TokenUnsupported(Exception):
    """The token cannot do what was asked of it (no code, no EIP-712 metadata...)."""

    def __init__(self, token: str, message: str):
        super().__init__(message)
        self.token = token


def revert_data(exc: RpcError) -> str | None:
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data") or data.get("result")
    if isinstance(data, str) and data.startswith("0x"):
        return data
    return None


def _is_revert(exc: RpcError) -> bool:
    return revert_data(exc) is not None or "revert" in (exc.message or "").lower()


@dataclass(frozen=True)
class SettlementRules:
    """What the settlement contract accepts, read from it once (time limits) or per token."""

    address: str
    default_time_limit: int
    min_time_limit: int
    max_time_limit: int
    _allowed: Any  # token -> bool, asks the contract

    def token_allowed(self, token: str) -> bool:
        return self._allowed(token)


class Transactions:
    """Builds unsigned transactions and typed data against one deployment, and relays signed ones."""

    def __init__(self, rpc: Rpc, manifest: Manifest):
        self.rpc = rpc
        self.manifest = manifest
        self.errors = manifest.error_decoder()
        self.decoders = {c.address: c.events for c in manifest.contracts.values()}
        self._encoders = {name: c.functions for name, c in manifest.contracts.items()}
        self.erc20 = FunctionEncoder(ERC20_ABI)
        self._units: dict[str, tuple[int, str | None]] = {}

    # -- building

    def build(self, sender: str, to: str, data: str, value: int = 0) -> dict:
        """An unsigned EIP-1559 transaction, gas estimated (reverts decoded)."""
        call = {"from": sender, "to": to, "data": data, "value": hex(value)}
        try:
            gas = int(self.rpc.call("eth_estimateGas", call), 16)
        except RpcError as exc:
            if _is_revert(exc):
                raise Reverted(self.errors.decode(revert_data(exc))) from None
            raise
        block = self.rpc.block("latest") or {}
        base_fee = int(block.get("baseFeePerGas", "0x0"), 16)
        try:
            tip = int(self.rpc.call("eth_maxPriorityFeePerGas"), 16)
        except RpcError:
            tip = DEFAULT_TIP
        nonce = int(self.rpc.call("eth_getTransactionCount", sender, "pending"), 16)
        return {
            "type": "0x2",
            "chainId": hex(self.manifest.chain_id),
            "from": to_checksum_address(sender),
            "to": to_checksum_address(to),
            "data": data,
            "value": hex(value),
            "gas": hex(gas + gas // GAS_MARGIN),
            "nonce": hex(nonce),
            "maxFeePerGas": hex(2 * base_fee + tip),
            "maxPriorityFeePerGas": hex(tip),
        }

    def call(self, contract: str, function: str, args: tuple, sender: str) -> dict:
        """The unsigned transaction calling ``contract.function(*args)`` from ``sender``."""
        deployed = self.manifest.contract(contract)
        return self.build(sender, deployed.address, self._encoders[contract].encode(function, *args))

    def view(self, contract: str, function: str, *args: Any) -> tuple:
        """The result of a view function of a deployed contract, at the latest block."""
        encoder = self._encoders[contract]
        data = self.rpc.call(
            "eth_call",
            {"to": self.manifest.contract(contract).address, "data": encoder.encode(function, *args)},
            "latest",
        )
        return encoder.decode_output(function, data)

    @cached_property
    def _time_limits(self) -> tuple[int, int, int]:
        return tuple(
            self.view(SETTLEMENT, name)[0] for name in ("DEFAULT_TIME_LIMIT", "MIN_TIME_LIMIT", "MAX_TIME_LIMIT")
        )

    def settlement_rules(self) -> SettlementRules:
        default, minimum, maximum = self._time_limits
        return SettlementRules(
            self.manifest.contract(SETTLEMENT).address,
            default,
            minimum,
            maximum,
            lambda token: bool(self.view(SETTLEMENT, "tokenAllowed", token)[0]),
        )

    def settlement_id(self, key, opening: bool = False) -> str:
        """The id of the key's settlement: the latest one, or (``opening``) the one ``open``
        creates or updates now (a closed key's next payment opens a new settlement)."""
        return self.view(SETTLEMENT, "openSettlementId" if opening else "settlementId", key.as_tuple())[0]

    def settlement_exists(self, key) -> bool:
        """Whether anything was ever paid under the key (its latest settlement's status is not None)."""
        _id, settlement = self.view(SETTLEMENT, "getSettlement", key.as_tuple())
        return settlement[3] != 0  # Settlement.status

    def agreement_typed_data(self, key, to_store: int, deadline: int) -> dict:
        """EIP-712 typed data of ``Agreement(settlementId, toStore, deadline)``: what the store
        and the buyer each sign to agree on a split."""
        contract = self.manifest.contract(SETTLEMENT).address
        name, version = self.eip712_domain(contract)
        return {
            "types": {
                "EIP712Domain": DOMAIN_FIELDS,
                "Agreement": [
                    {"name": "settlementId", "type": "bytes32"},
                    {"name": "toStore", "type": "uint256"},
                    {"name": "deadline", "type": "uint256"},
                ],
            },
            "primaryType": "Agreement",
            "domain": {
                "name": name,
                "version": version,
                "chainId": self.manifest.chain_id,
                "verifyingContract": to_checksum_address(contract),
            },
            "message": {"settlementId": self.settlement_id(key), "toStore": str(to_store), "deadline": str(deadline)},
        }

    def contract_typed_data(self, contract: str, primary: str, fields: list[tuple[str, str]], message: dict) -> dict:
        """EIP-712 typed data of a message a deployed contract verifies (``fields``: its
        (name, type) pairs as the contract hashes them), the domain read from the contract.
        Integers go as decimal strings, addresses checksummed."""
        address = self.manifest.contract(contract).address
        name, version = self.eip712_domain(address)
        return {
            "types": {"EIP712Domain": DOMAIN_FIELDS, primary: [{"name": n, "type": t} for n, t in fields]},
            "primaryType": primary,
            "domain": {
                "name": name,
                "version": version,
                "chainId": self.manifest.chain_id,
                "verifyingContract": to_checksum_address(address),
            },
            "message": {
                n: (
                    str(message[n])
                    if t == "uint256"
                    else to_checksum_address(message[n])
                    if t == "address"
                    else message[n]
                )
                for n, t in fields
            },
        }

    def approve(self, token: str, owner: str, amount: int, spender: str = SETTLEMENT) -> dict:
        """ERC-20 approval of a deployed contract (the settlement contract unless named)."""
        return self.build(owner, token, self.erc20.encode("approve", self.manifest.contract(spender).address, amount))

    def _token_call(self, token: str, function: str, *args: Any) -> tuple | None:
        try:
            data = self.rpc.call("eth_call", {"to": token, "data": self.erc20.encode(function, *args)}, "latest")
            return self.erc20.decode_output(function, data) if data not in NO_CODE else None
        except RpcError as exc:
            if _is_revert(exc):
                return None
            raise
        except Exception:  # an answer that does not decode as the function's output
            return None

    def token_decimals(self, token: str) -> int | None:
        """A token's ``decimals()`` (None when it has none)."""
        found = self._token_call(token, "decimals")
        return None if found is None else int(found[0])

    def token_units(self, token: str) -> tuple[int, str | None]:
        """A token's decimals and symbol, for showing its amounts (asked once per token)."""
        if token not in self._units:
            symbol = self._token_call(token, "symbol")
            self._units[token] = (self.token_decimals(token) or 0, str(symbol[0]) if symbol else None)
        return self._units[token]

    def eip712_domain(self, token: str) -> tuple[str, str]:
        """A contract's EIP-712 name and version: its EIP-5267 ``eip712Domain()``, else
        ``name()`` and ``version()``. :class:`TokenUnsupported` if it has neither."""
        if self.rpc.call("eth_getCode", token, "latest") in NO_CODE:
            raise TokenUnsupported(
                token, f"token {to_checksum_address(token)} has no code on chain {self.manifest.chain_id}"
            )
        domain = self._token_call(token, "eip712Domain")
        if domain is not None:
            return domain[1], domain[2]
        name, version = self._token_call(token, "name"), self._token_call(token, "version")
        if name is None or version is None:
            raise TokenUnsupported(
                token,
                f"token {to_checksum_address(token)} publishes no EIP-712 domain "
                "(neither eip712Domain() nor name() and version()): it takes no permits",
            )
        return name[0], version[0]

    def permit_typed_data(self, token: str, owner: str, value: int, deadline: int) -> dict:
        """EIP-712 typed data of an EIP-2612 permit for the settlement contract."""
        name, version = self.eip712_domain(token)
        nonce = self._token_call(token, "nonces", owner)
        if nonce is None:
            raise TokenUnsupported(token, f"token {to_checksum_address(token)} has no nonces(): it takes no permits")
        return {
            "types": {
                "EIP712Domain": DOMAIN_FIELDS,
                "Permit": [
                    {"name": "owner", "type": "address"},
                    {"name": "spender", "type": "address"},
                    {"name": "value", "type": "uint256"},
                    {"name": "nonce", "type": "uint256"},
                    {"name": "deadline", "type": "uint256"},
                ],
            },
            "primaryType": "Permit",
            "domain": {
                "name": name,
                "version": version,
                "chainId": self.manifest.chain_id,
                "verifyingContract": to_checksum_address(token),
            },
            "message": {
                "owner": to_checksum_address(owner),
                "spender": to_checksum_address(self.manifest.contract(SETTLEMENT).address),
                "value": str(value),
                "nonce": str(nonce[0]),
                "deadline": str(deadline),
            },
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
                fields = {
                    "nonce": legacy.nonce,
                    "to": legacy.to,
                    "data": legacy.data,
                    "value": legacy.value,
                    "gas": legacy.gas,
                }
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
            if _is_revert(exc):
                raise Reverted(self.errors.decode(revert_data(exc))) from None
            raise TxRejected(exc.message) from None
        try:
            tx_hash = self.rpc.call("eth_sendRawTransaction", raw)
        except RpcError as exc:
            message = exc.message or ""
            status = 409 if any(w in message.lower() for w in ("known", "nonce too low", "already")) else 422
            raise TxRejected(message, status, tx["hash"]) from None
        return self.result(tx_hash, wait)

    def result(self, tx_hash: str, wait: float = 10.0) -> dict:
        deadline = time.monotonic() + wait
        receipt = None
        while True:
            receipt = self.rpc.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if receipt is None:
            return {"tx_hash": tx_hash, "status": "pending"}
        out: dict[str, Any] = {
            "tx_hash": tx_hash,
            "block_number": int(receipt["blockNumber"], 16),
            "gas_used": int(receipt["gasUsed"], 16),
        }
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
        return {
            "event": name,
            "address": to_checksum_address(lg["address"]),
            "log_index": int(lg["logIndex"], 16),
            "args": {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in args.items()},
        }

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


def _fn(name: str, inputs: list[tuple[str, str]], outputs: list[str], mutability: str = "view") -> dict:
    return {
        "type": "function",
        "name": name,
        "stateMutability": mutability,
        "inputs": [{"name": n, "type": t} for n, t in inputs],
        "outputs": [{"name": "", "type": t} for t in outputs],
    }


DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

# The ERC-20, EIP-2612 and EIP-5267 functions the engine calls on tokens.
ERC20_ABI = [
    _fn("approve", [("spender", "address"), ("value", "uint256")], ["bool"], "nonpayable"),
    _fn("name", [], ["string"]),
    _fn("version", [], ["string"]),
    _fn("nonces", [("owner", "address")], ["uint256"]),
    _fn("balanceOf", [("owner", "address")], ["uint256"]),
    _fn("decimals", [], ["uint8"]),
    _fn("symbol", [], ["string"]),
    _fn("eip712Domain", [], ["bytes1", "string", "string", "uint256", "address", "bytes32", "uint256[]"]),
]
