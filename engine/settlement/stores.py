"""Stores: who may see and write which store orders.

A store is registered by the operator (admin token) with its on-chain address, which
signs its store actions and receives its payouts. Its API key is shown once and kept
only as a SHA-256 hash (keys are 256-bit random, so a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from engine.ids import derive

KEY_PREFIX = "ocs_"
KEY_BYTES = 32  # 256 random bits


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Store(Aggregate):
    """A registered store: its on-chain address and the hash of its API key."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Registered: ClassVar[type[Any]]
        WebhookSet: ClassVar[type[Any]]

    @staticmethod
    def create_id(store_id: str) -> UUID:
        return derive("store", store_id)

    @event("Registered")
    def __init__(self, store_id: str, name: str, address: str, key_hash: str):
        self.store_id = store_id
        self.name = name
        self.address = address
        self.key_hash = key_hash

    def key_matches(self, key: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_key(key))

    @event("WebhookSet")
    def set_webhook(self, url: str, secret: str):
        """Where production instructions go, and the secret they are signed with (HMAC-SHA256)."""
        self.webhook_url = url
        self.webhook_secret = secret


class StoreAddress(Aggregate):
    """Claims an address for one store, so two stores can never share payouts or orders."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Claimed: ClassVar[type[Any]]

    @staticmethod
    def create_id(address: str) -> UUID:
        return derive("store-address", address)

    @event("Claimed")
    def __init__(self, address: str, store_id: str):
        self.address = address
        self.store_id = store_id
