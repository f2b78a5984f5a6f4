"""EIP-712 typed data as contracts check it: its digest, and who signed it.

Integers may be given as decimal strings (as the API hands typed data out); they are read as
integers before hashing, so the digest is the one the contract computes."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak


def signable(typed: dict):
    fields = typed["types"][typed["primaryType"]]
    given = typed["message"]
    message = {f["name"]: int(given[f["name"]]) if f["type"].startswith("uint") else given[f["name"]] for f in fields}
    return encode_typed_data(full_message={**typed, "message": message})


def digest(typed: dict) -> str:
    """The EIP-712 digest of typed data: what a signature of it covers."""
    message = signable(typed)
    return "0x" + keccak(b"\x19" + message.version + message.header + message.body).hex()


def typed_signer(typed: dict, signature: str) -> str | None:
    """The lower-case address that signed the typed data (None for a malformed signature)."""
    try:
        return Account.recover_message(signable(typed), signature=signature).lower()
    except Exception:  # a malformed signature recovers nobody
        return None
