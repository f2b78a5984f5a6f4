"""How view rows look on the wire: amounts as decimal strings, confirmations added."""

from __future__ import annotations

import base64
import binascii

from fastapi import HTTPException

AMOUNT_FIELDS = ("amount", "amount_due", "frozen_amount", "paid_to_store", "refunded_to_payer",
                 "previous_amount", "to_store", "to_payer", "payment_record", "deadline", "paid_at")


def _strings(d: dict) -> dict:
    return {k: (str(v) if k in AMOUNT_FIELDS and isinstance(v, int) else v) for k, v in d.items()}


def order(data: dict, seq: int, head: int | None) -> dict:
    out = _strings(data)
    out["items"] = data.get("items", [])
    out["steps"] = [
        dict(_strings(step), confirmations=(None if head is None else max(0, head - step["block_number"] + 1)))
        for step in data.get("steps", [])
    ]
    out["cursor"] = encode_cursor(seq)
    return out


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"oc1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, seq = text.partition(":")
        if prefix != "oc1" or not seq.isdigit():
            raise ValueError
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(400, "cursor is not one this API returned") from None
