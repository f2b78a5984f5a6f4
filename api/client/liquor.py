"""The liquor holder's, lender's and warehouse's side: sign here, encrypt and decrypt here.

Delivery addresses are encrypted on the holder's machine to the warehouse's published
secp256k1 public key (ECIES: a random symmetric key encrypted to that key, the address
under it; the ``eciespy`` package) and decrypted only on the warehouse's machine with
its own key. The pickup code is made here and shown to the holder, who gives it to the
recipient; only its hash goes on chain.
"""

from __future__ import annotations

import secrets

import ecies
from eth_keys import keys
from eth_utils import keccak

from api.client.holder import Holder, answer, signature_of

PICKUP_CODE_BYTES = 6  # 12 hex digits: read out at the door


def public_key_of(account) -> str:
    """An account's secp256k1 public key (64 bytes, 0x-hex): what a warehouse publishes."""
    return "0x" + keys.PrivateKey(bytes(account.key)).public_key.to_bytes().hex()


def encrypt_address(public_key: str, address: str) -> str:
    """The delivery address, ECIES-encrypted to the warehouse's public key (0x-hex)."""
    return "0x" + ecies.encrypt(public_key.removeprefix("0x"), address.encode()).hex()


def decrypt_address(account, ciphertext: str) -> str:
    """A delivery address the holder encrypted to this account's key."""
    return ecies.decrypt(bytes(account.key).hex(), bytes.fromhex(ciphertext.removeprefix("0x"))).decode()


def new_pickup_code() -> str:
    return secrets.token_hex(PICKUP_CODE_BYTES)


def code_hash(code: str) -> str:
    return "0x" + keccak(code.encode()).hex()


def custody_signature(
    holder: Holder,
    plan_id: int,
    quantity: int,
    buyer: str | None = None,
    loan: dict | None = None,
    deadline: int | None = None,
) -> dict:
    """The buyer's signature of the custody agreement (and what it signed)."""
    body = {"plan_id": str(plan_id), "quantity": quantity, "buyer": buyer or holder.address}
    if loan:
        body["loan"] = loan
    if deadline is not None:
        body["deadline"] = str(deadline)
    built = holder.build("/liquor/custody-agreement", body)
    typed = built["typed_data"]
    return {
        "signature": signature_of(holder.account, typed),
        "deadline": int(typed["message"]["deadline"]),
        "terms_hash": typed["message"]["termsHash"],
        "terms": built["terms"],
        "token": built["token"],
        "amount": int(built["amount"]),
    }


def buy(
    holder: Holder, plan_id: int, quantity: int, signed: dict, buyer: str | None = None, loan: dict | None = None
) -> dict:
    """Pays for a purchase the buyer signed (approving the price first); returns the relay answer."""
    holder.send("/liquor/approve", {"owner": holder.address, "token": signed["token"], "amount": str(signed["amount"])})
    body = {
        "sender": holder.address,
        "plan_id": str(plan_id),
        "quantity": quantity,
        "buyer": buyer or holder.address,
        "deadline": str(signed["deadline"]),
        "buyer_signature": signed["signature"],
    }
    if loan:
        body["loan"] = loan
    return holder.send("/liquor/buy", body)


def loan_offer(
    holder: Holder, token_id: int, principal: int, interest: int, due_at: int, deadline: int | None = None
) -> dict:
    """The lender's signed offer (and the approval of the principal it will pay out)."""
    body = {
        "token_id": str(token_id),
        "lender": holder.address,
        "principal": str(principal),
        "interest": str(interest),
        "due_at": str(due_at),
    }
    if deadline is not None:
        body["deadline"] = str(deadline)
    built = holder.build("/liquor/loan-offer", body)
    typed = built["typed_data"]
    holder.send("/liquor/approve", {"owner": holder.address, "token": built["token"], "amount": str(principal)})
    return {**body, "deadline": typed["message"]["deadline"], "lender_signature": signature_of(holder.account, typed)}


def pledge(holder: Holder, offer: dict) -> dict:
    """Accepts a lender's signed offer for a case this holder holds."""
    return holder.send("/liquor/pledge", {"sender": holder.address, **offer})


def repay(holder: Holder, token_id: int) -> dict:
    """Repays a pledged case's loan (approving principal and interest first)."""
    case = answer(holder.http.get(f"/liquor/cases/{token_id}"))
    loan = case.get("loan")
    if not loan:
        raise ValueError(f"case {token_id} is not pledged")
    plan = answer(holder.http.get(f"/liquor/plans/{case['plan_id']}"))
    holder.send(
        "/liquor/approve",
        {
            "owner": holder.address,
            "token": plan["token"],
            "amount": str(int(loan["principal"]) + int(loan["interest"])),
        },
    )
    return holder.send("/liquor/repay", {"sender": holder.address, "token_id": str(token_id)})


def request_pickup(holder: Holder, token_id: int, delivery_address: str, code: str | None = None) -> dict:
    """Encrypts the delivery address here to the case's warehouse, signs the request and sends
    it; returns the relay answer with the pickup code to give the recipient."""
    case = answer(holder.http.get(f"/liquor/cases/{token_id}"))
    key = answer(holder.http.get(f"/liquor/warehouses/{case['warehouse']}/key"))["public_key"]
    if not key:
        raise ValueError(f"warehouse {case['warehouse']} has published no encryption key yet")
    code = code or new_pickup_code()
    ciphertext = encrypt_address(key, delivery_address)
    typed = holder.build(
        "/liquor/pickup-request",
        {"token_id": str(token_id), "holder": holder.address, "ciphertext": ciphertext, "code_hash": code_hash(code)},
    )["typed_data"]
    result = holder.send(
        "/liquor/request-pickup",
        {
            "sender": holder.address,
            "token_id": str(token_id),
            "ciphertext": ciphertext,
            "code_hash": code_hash(code),
            "deadline": str(typed["message"]["deadline"]),
            "holder_signature": signature_of(holder.account, typed),
        },
    )
    return {**result, "pickup_code": code}


def redemption_queue(holder: Holder) -> list[dict]:
    """The warehouse's pending pickups, each delivery address decrypted here."""
    queue = answer(holder.http.get(f"/liquor/warehouses/{holder.address}/queue"))
    for entry in queue:
        try:
            entry["delivery_address"] = decrypt_address(holder.account, entry["ciphertext"])
        except Exception as exc:  # not encrypted to this key (or damaged): shown, not hidden
            entry["delivery_address"] = None
            entry["decrypt_error"] = f"cannot decrypt with this warehouse's key: {exc}"
    return queue
