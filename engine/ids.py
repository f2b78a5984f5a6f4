"""Deterministic aggregate ids, so that every writer derives the same id for the same thing,
and the canonical JSON that off-chain documents are hashed in."""

import hashlib
import json
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

NAMESPACE = uuid5(NAMESPACE_URL, "orderchain")


class TextedId(UUID):
    """An aggregate id that keeps its text form: every view keys its rows by ``str(id)``,
    and the events of one aggregate share the reader's one id object."""

    __slots__ = ("text",)
    text: str

    def __init__(self, value: UUID | str):  # an id, or the canonical text a store gives back
        if isinstance(value, UUID):
            super().__init__(int=value.int)
        else:
            super().__init__(value)
        object.__setattr__(self, "text", UUID.__str__(self))

    def __str__(self) -> str:
        try:
            return self.text
        except AttributeError:  # a copy made without it
            return UUID.__str__(self)


def derive(*parts: object) -> UUID:
    return uuid5(NAMESPACE, ":".join(str(p).lower() for p in parts))


def canonical_json(data: Any) -> bytes:
    """Keys sorted, no spaces, UTF-8: the bytes a document's keccak-256 hash is taken of."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def token_hash(token: str) -> str:
    """What is kept of a secret token (a session's): its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
