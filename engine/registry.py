"""The contract modules the engine reads: adding a contract adds its sources here.

Each entry is a module's :class:`~engine.chain_source.ChainSource` (a contract may
declare several); the reader gets this list from whoever runs it and imports none of the
modules itself.
"""

from __future__ import annotations

from . import cross_border, evidence, group_buy, liquor, settlement
from .chain_source import ChainSource

SOURCES: tuple[ChainSource, ...] = (
    settlement.SOURCE,
    *liquor.SOURCES,
    *group_buy.SOURCES,
    *evidence.SOURCES,
    *cross_border.SOURCES,
)
