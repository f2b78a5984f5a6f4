"""The settlement payer's and store's side: the signed split of a settlement, and a settlement's key."""

from __future__ import annotations

from api.client.holder import Holder, signature_of


def agreement(holder: Holder, key: dict, to_store: int, deadline: int | None = None) -> dict:
    """The holder's signature of a split (``Agreement(settlementId, toStore, deadline)``)."""
    body = {"key": key, "to_store": str(to_store)}
    if deadline is not None:
        body["deadline"] = str(deadline)
    typed = holder.build("/settlements/agreement", body)["typed_data"]
    return {
        "signature": signature_of(holder.account, typed),
        "deadline": typed["message"]["deadline"],
        "settlement_id": typed["message"]["settlementId"],
    }


def settlement_key(payment: dict, order_number: str, buyer: str, token: str, payer: str | None = None) -> dict:
    key = {"store": payment["store"], "order_number": order_number, "buyer": buyer, "token": token}
    if payer:
        key["payer"] = payer
    return key
