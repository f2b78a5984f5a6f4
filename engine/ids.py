"""Deterministic aggregate ids, so that every writer derives the same id for the same thing."""

from uuid import NAMESPACE_URL, UUID, uuid5

NAMESPACE = uuid5(NAMESPACE_URL, "orderchain")


def derive(*parts: object) -> UUID:
    return uuid5(NAMESPACE, ":".join(str(p).lower() for p in parts))
