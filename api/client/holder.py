"""The holder's side of the API: build through it, sign here, relay through it.

The API builds unsigned transactions and permit typed data; :class:`Holder` signs them
with a local eth-account key and relays the signed bytes through ``POST /tx``. The key
never leaves this process. Works with an ``httpx.Client`` (a running API) or FastAPI's
``TestClient`` (tests): anything with ``get`` and ``post`` returning httpx responses.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data


class ApiError(Exception):
    """The API answered with a problem document."""

    def __init__(self, status: int, problem: dict):
        self.status = status
        self.problem = problem
        detail = problem.get("detail") or problem.get("title") or problem
        revert = problem.get("revert")
        if revert:
            detail = (
                f"{detail} [{revert.get('error')}({', '.join(f'{k}={v}' for k, v in revert.get('args', {}).items())})]"
            )
        for error in problem.get("errors") or []:  # which fields, and why
            where = ".".join(str(p) for p in error.get("loc", []) if p != "body")
            detail = f"{detail}; {where}: {error.get('msg')}"
        super().__init__(f"HTTP {status}: {detail}")


def answer(response) -> Any:
    """The JSON body of a 2xx response, or :class:`ApiError`."""
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text}
    if response.status_code >= 400:
        raise ApiError(response.status_code, body if isinstance(body, dict) else {"detail": body})
    return body


def sign_transaction(account, tx: dict) -> str:
    """Signs an unsigned transaction as the API returns it (taken unchanged); returns the raw hex."""
    return "0x" + account.sign_transaction(tx).raw_transaction.hex()


def _signed(account, typed_data: dict):
    types = typed_data["types"]
    primary = typed_data["primaryType"]
    message = {
        f["name"]: (
            int(typed_data["message"][f["name"]])
            if f["type"].startswith(("uint", "int"))
            else typed_data["message"][f["name"]]
        )
        for f in types[primary]
    }
    return account.sign_message(encode_typed_data(full_message={**typed_data, "message": message}))


def sign_typed_data(account, typed_data: dict) -> dict:
    """Signs EIP-712 typed data; returns ``{v, r, s}`` as the API's permit body wants them."""
    signed = _signed(account, typed_data)
    return {
        "v": signed.v,
        "r": "0x" + signed.r.to_bytes(32, "big").hex(),
        "s": "0x" + signed.s.to_bytes(32, "big").hex(),
    }


def signature_of(account, typed_data: dict) -> str:
    """The 65-byte signature (r, s, v) of EIP-712 typed data, as contracts check it."""
    return "0x" + bytes(_signed(account, typed_data).signature).hex()


class Holder:
    """A wallet holder: builds through the API, signs here, relays through ``/tx``."""

    def __init__(self, http, account, wait: float = 10.0):
        self.http = http
        self.account = account
        self.address = account.address
        self.wait = wait

    @classmethod
    def from_key(cls, http, private_key: str, **kw) -> Holder:
        return cls(http, Account.from_key(private_key), **kw)

    def build(self, path: str, body: dict) -> dict:
        return answer(self.http.post(path, json=body))

    def relay(self, raw: str) -> dict:
        return answer(self.http.post("/tx", json={"raw": raw, "wait": self.wait}))

    def send(self, path: str, body: dict) -> dict:
        """Builds the action at ``path``, signs and relays it; returns the relay answer."""
        built = self.build(path, body)
        return self.relay(sign_transaction(self.account, built["transaction"]))

    def sign_only(self, path: str, body: dict) -> str:
        return sign_transaction(self.account, self.build(path, body)["transaction"])

    def permit(self, token: str, value: int, deadline: int | None = None) -> dict:
        """A signed EIP-2612 permit for the settlement contract, ready for open-with-permit."""
        body = {"owner": self.address, "token": token, "value": str(value)}
        if deadline is not None:
            body["deadline"] = str(deadline)
        typed = self.build("/settlements/permit", body)["typed_data"]
        return {
            "value": str(value),
            "deadline": str(typed["message"]["deadline"]),
            **sign_typed_data(self.account, typed),
        }
