"""How view rows look on the wire: confirmations added, positions as opaque cursors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable

from fastapi import HTTPException

CURSOR_PREFIX = "oc1"
MAX_POSITION = 2**63 - 1  # positions are BIGINT in the views


def order(data: dict, seq: int, head: int | None) -> dict:
    out = dict(data)
    out["steps"] = [
        dict(step, confirmations=None if head is None else max(0, head - step["block_number"] + 1))
        for step in data.get("steps", [])
    ]
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


SENTINEL = 7_000_000_000_000_000  # a step's confirmations while serialised; the head is put in per request


class RowCache:
    """Each view row serialised once: its JSON bytes kept by key until the row changes (another
    position), so a page is joined from bytes already made. A row's steps show confirmations,
    which move with the chain's head: the row is kept as the fragments between them and the
    step blocks, and the head's numbers are put in when a page is made. Bounded: the least
    recently used rows go first."""

    def __init__(self, serialise: Callable[[dict], bytes], size: int = 50_000):
        self.serialise = serialise
        self.size = size
        self._rows: OrderedDict[tuple, tuple[int, list[bytes], list[int]]] = OrderedDict()
        self._lock = threading.Lock()
        self.made = 0

    def get(self, key: tuple, seq: int, head: int | None, data: str) -> bytes:
        with self._lock:
            found = self._rows.get(key)
            if found is not None and found[0] == seq:
                self._rows.move_to_end(key)
        if found is None or found[0] != seq:
            found = (seq, *self._fragments(json.loads(data), seq))
            with self._lock:
                self.made += 1
                self._rows[key] = found
                self._rows.move_to_end(key)
                while len(self._rows) > self.size:
                    self._rows.popitem(last=False)
        _, parts, blocks = found
        if not blocks:
            return parts[0]
        out = [parts[0]]
        for block, part in zip(blocks, parts[1:]):
            out.append(b"null" if head is None else str(max(0, head - block + 1)).encode())
            out.append(part)
        return b"".join(out)

    def _fragments(self, data: dict, seq: int) -> tuple[list[bytes], list[int]]:
        row = order(data, seq, None)
        blocks = [step["block_number"] for step in row["steps"]]
        for k, step in enumerate(row["steps"]):
            step["confirmations"] = SENTINEL + k
        made = self.serialise(row)
        parts, rest = [], made
        for k in range(len(blocks)):
            before, found, rest = rest.partition(b'"confirmations":' + str(SENTINEL + k).encode())
            if not found:
                raise ValueError("a step's confirmations were not serialised as expected")
            parts.append(before + b'"confirmations":')
        parts.append(rest)
        return parts, blocks


def etag(*parts) -> str:
    """A weak validator of what a response is made from."""
    return 'W/"' + hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest() + '"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    return bool(if_none_match) and (
        if_none_match.strip() == "*" or tag in [t.strip() for t in if_none_match.split(",")]
    )
