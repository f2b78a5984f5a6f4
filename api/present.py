"""How view rows look on the wire: confirmations added, positions as opaque cursors."""

from __future__ import annotations

import base64
import binascii

from fastapi import HTTPException

CURSOR_PREFIX = "oc1"
MAX_POSITION = 2**63 - 1   # positions are BIGINT in the views


def order(data: dict, seq: int, head: int | None) -> dict:
    out = dict(data)
    out["steps"] = [dict(step, confirmations=None if head is None else max(0, head - step["block_number"] + 1))
                    for step in data.get("steps", [])]
    out["cursor"] = encode_cursor(seq)
    return out


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, seq = text.partition(":")
        if prefix != CURSOR_PREFIX or not seq.isascii() or not seq.isdigit() or int(seq) > MAX_POSITION:
            raise ValueError
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(400, "cursor is not one this API returned") from None
