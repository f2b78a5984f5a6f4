"""Small helpers for the ingestion hot path."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector for one allocation-heavy batch.

    A batch allocates hundreds of thousands of short-lived, acyclic objects (decoded
    logs, domain events, rows); reference counting frees them, while the cyclic
    collector would scan every live object over and over. Collection resumes after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
