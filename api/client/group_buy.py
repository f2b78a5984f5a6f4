"""The buyer's side of group buying: sign in, order with evidence, all signed here.

The wallet signs the EIP-4361 sign-in messages, the risk acknowledgement and the order
confirmation (EIP-712) with its own key; the API only checks and keeps them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from eth_account.messages import encode_defunct
from siwe import SiweMessage

from api.client.holder import Holder, answer, signature_of

STATEMENT = "Sign in to order customised products."


def sign_in_message(holder: Holder) -> dict:
    """A fresh EIP-4361 message for this API (its nonce asked for), signed here."""
    issued = answer(holder.http.post("/auth/nonce"))
    text = SiweMessage(
        domain=issued["domain"],
        address=holder.address,
        statement=STATEMENT,
        uri=f"https://{issued['domain']}/",
        version="1",
        chain_id=issued["chain_id"],
        nonce=issued["nonce"],
        issued_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ).prepare_message()
    signature = "0x" + bytes(holder.account.sign_message(encode_defunct(text=text)).signature).hex()
    return {"message": text, "signature": signature}


def sign_in(holder: Holder) -> dict:
    """Signs in; returns the session (its token goes in ``Authorization: Bearer``)."""
    return answer(holder.http.post("/auth/sign-in", json=sign_in_message(holder)))


def prepare_order(holder: Holder, session: dict, campaign_id: int, quantity: int) -> tuple[dict, dict]:
    """Signs in again (identity verified again, S1.1) and asks for the order, its risk notice
    and the typed data to sign; returns the fresh sign-in and what was prepared."""
    headers = {"Authorization": f"Bearer {session['token']}"}
    fresh = sign_in_message(holder)
    prepared = answer(
        holder.http.post(
            "/group-buy/orders/prepare",
            headers=headers,
            json={"campaign_id": campaign_id, "quantity": quantity, "sign_in": fresh},
        )
    )
    return fresh, prepared


def complete_order(holder: Holder, fresh: dict, prepared: dict) -> dict:
    """Signs the risk acknowledgement and the order confirmation here, approves and pledges the
    deposit with the confirmation's hash, and hands the evidence in. Returns the recorded
    evidence (with ``prepared``, what was shown and signed, and ``pledge``, the pledge's outcome)."""
    acknowledgement = {
        "typed_data": prepared["acknowledgement"],
        "signature": signature_of(holder.account, prepared["acknowledgement"]),
    }
    confirmation = {
        "typed_data": prepared["confirmation"],
        "signature": signature_of(holder.account, prepared["confirmation"]),
    }
    campaign_id, quantity = prepared["order"]["campaign_id"], prepared["order"]["quantity"]
    holder.send(
        "/group-buy/approve", {"owner": holder.address, "token": prepared["token"], "amount": str(prepared["deposit"])}
    )
    pledged = holder.send(
        "/group-buy/pledge",
        {
            "sender": holder.address,
            "campaign_id": campaign_id,
            "quantity": quantity,
            "confirmation_hash": prepared["confirmation_hash"],
        },
    )
    if pledged.get("status") != "success":
        raise ValueError(f"the pledge failed: {pledged.get('revert')}")
    recorded = answer(
        holder.http.post(
            "/evidence",
            json={
                "sign_in": fresh,
                "order": prepared["order"],
                "acknowledgement": acknowledgement,
                "confirmation": confirmation,
                "deposit_tx": pledged["tx_hash"],
            },
        )
    )
    return dict(recorded, prepared=prepared, pledge=pledged)


def order(holder: Holder, session: dict, campaign_id: int, quantity: int) -> dict:
    """Orders with evidence (:func:`prepare_order`, then :func:`complete_order`)."""
    fresh, prepared = prepare_order(holder, session, campaign_id, quantity)
    return complete_order(holder, fresh, prepared)
