"""A small JSON-RPC client for EVM nodes.

The hot path (``eth_getLogs``) stays on raw JSON: web3.py's formatters cost more than
the whole rest of ingestion, so the reader talks to the node directly.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
import orjson


class RpcError(RuntimeError):
    """The node answered with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str, data: Any = None):
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class RpcUnavailable(RuntimeError):
    """The node could not be reached."""


class Rpc:
    """Synchronous JSON-RPC over HTTP with a kept-alive connection."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._client = httpx.Client(timeout=timeout)

    def clone(self) -> Rpc:
        """Another client of the same node (of this class), for another thread."""
        return type(self)(self.url, self.timeout)

    def close(self) -> None:
        self._client.close()

    def call(self, method: str, *params: Any) -> Any:
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            response = self._client.post(self.url, json=payload)
        except httpx.HTTPError as exc:
            raise RpcUnavailable(f"{method}: node at {self.url} unreachable: {exc}") from exc
        if response.status_code >= 500 and not response.content:
            raise RpcUnavailable(f"{method}: node answered HTTP {response.status_code}")
        # JSON-RPC quantities are hex strings, so orjson's 64-bit integer limit never bites.
        body = orjson.loads(response.content)
        if "error" in body:
            err = body["error"]
            raise RpcError(method, err.get("code", 0), err.get("message", ""), err.get("data"))
        return body["result"]

    def batch(self, calls: list[tuple[str, list]]) -> list[Any]:
        """Several calls in one HTTP request; results in order, the first error raised."""
        if not calls:
            return []
        payload: list[dict[str, Any]] = [
            {"jsonrpc": "2.0", "id": next(self._ids), "method": m, "params": list(p)} for m, p in calls
        ]
        try:
            response = self._client.post(self.url, json=payload)
        except httpx.HTTPError as exc:
            raise RpcUnavailable(f"batch: node at {self.url} unreachable: {exc}") from exc
        by_id: dict[Any, dict[str, Any]] = {item.get("id"): item for item in orjson.loads(response.content)}
        results = []
        for request in payload:
            item = by_id.get(request["id"], {"error": {"code": 0, "message": "no answer in the batch"}})
            if "error" in item:
                err = item["error"]
                raise RpcError(request["method"], err.get("code", 0), err.get("message", ""), err.get("data"))
            results.append(item["result"])
        return results

    # Convenience wrappers, returning Python ints where the node sends hex quantities.

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def block(self, number: int | str) -> dict | None:
        tag = hex(number) if isinstance(number, int) else number
        return self.call("eth_getBlockByNumber", tag, False)

    def block_hash(self, number: int) -> str | None:
        block = self.block(number)
        return None if block is None else block["hash"]

    def chain_time(self) -> int:
        """The latest block's timestamp (a dev chain's clock may run ahead of this machine's),
        or this machine's clock if the node has no block to show."""
        latest = self.block("latest")
        return int(latest["timestamp"], 16) if latest else int(time.time())

    def get_logs_at(self, addresses: list[str], block_hash: str) -> list[dict]:
        """The logs of one block named by its hash (EIP-234): of that block whatever the
        chain did meanwhile, so no second look is needed to know they belong together."""
        return self.call("eth_getLogs", {"address": addresses, "blockHash": block_hash})

    def get_logs(self, addresses: list[str], from_block: int, to_block: int) -> list[dict]:
        return self.call(
            "eth_getLogs",
            {
                "address": addresses,
                "fromBlock": hex(from_block),
                "toBlock": hex(to_block),
            },
        )
