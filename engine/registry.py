"""The contract modules the engine reads: adding a contract adds its sources here.

Each entry is a module's :class:`~engine.chain.source.ChainSource` (a contract may
declare several); the reader gets this list from whoever runs it and imports none of the
modules itself.
"""

from __future__ import annotations

from engine import liquor
from engine.accounts import identity
from engine.chain.source import ChainSource
from engine.cross_border import orders as cross_border
from engine.delivery import mandate as offline_payment
from engine.evidence import bundles as evidence
from engine.group_buy import campaign as group_buy
from engine.settlement import escrow as settlement

SOURCES: tuple[ChainSource, ...] = (
    *settlement.SOURCES,
    *liquor.SOURCES,
    *group_buy.SOURCES,
    *evidence.SOURCES,
    *cross_border.SOURCES,
    *identity.SOURCES,
    *offline_payment.SOURCES,
)
