"""Old topics of the aggregates whose modules moved, so an event store written before the
move still loads.

A stored event names its class by topic (``module:qualified name``); when a module moves,
the old topic is registered for the class in its new home (its events, nested in it, follow
by their qualified names). New events are stored under the new topics.
"""

from __future__ import annotations

import importlib

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

# old module -> the modules its aggregates live in now
MOVED: dict[str, tuple[str, ...]] = {
    "engine.cursor": ("engine.chain.cursor",),
    "engine.settlement": ("engine.settlement.escrow",),
    "engine.store_order": ("engine.settlement.store_order",),
    "engine.stores": ("engine.settlement.stores",),
    "engine.group_buy": ("engine.group_buy.campaign", "engine.group_buy.catalogue"),
    "engine.evidence": ("engine.evidence.bundles",),
    "engine.freight": ("engine.cross_border.freight",),
    "engine.cross_border": ("engine.cross_border.orders",),
}


def register_moved_topics() -> None:
    """Registers ``old module:class`` for every aggregate class defined in a moved module."""
    for old, new_modules in MOVED.items():
        for name in new_modules:
            module = importlib.import_module(name)
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, Aggregate) and value.__module__ == name:
                    register_topic(f"{old}:{value.__qualname__}", value)
