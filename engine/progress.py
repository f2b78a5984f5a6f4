"""Progress of a long read (a backfill over many blocks): blocks/s, events/s and the time left.

The reader reports each range it has read; :class:`Progress` keeps the rates since the
read began and, while far behind the head, prints a line at most once a second so a
person watching the terminal sees it move. ``/status`` shows the same figures.
"""

from __future__ import annotations

import sys
import time

FAR_BEHIND = 2_000  # blocks: a read this long is shown as a backfill
PRINT_EVERY = 1.0  # seconds between printed lines


class Progress:
    """Rates and time left of the read under way (see the module docstring)."""

    def __init__(self, out=None, clock=time.monotonic):
        self.out = out if out is not None else (lambda line: print(line, file=sys.stderr, flush=True))
        self.clock = clock
        self._start: tuple[float, int] | None = None  # (time, block) when the read began
        self._printed = 0.0
        self.current: dict | None = None

    def update(self, block: int, target: int, events: int) -> None:
        """The reader has read up to ``block`` of ``target``; ``events`` saved so far in this read."""
        now = self.clock()
        if self._start is None or block < self._start[1]:
            if target - block < FAR_BEHIND:
                return
            self._start = (now, block)
        started, first = self._start
        elapsed = max(now - started, 1e-9)
        blocks_per_s = (block - first) / elapsed
        left = target - block
        self.current = {
            "block": block,
            "target": target,
            "blocks_per_s": round(blocks_per_s, 1),
            "events_per_s": round(events / elapsed, 1),
            "events": events,
            "eta_s": round(left / blocks_per_s, 1) if blocks_per_s > 0 else None,
        }
        if left <= 0:
            self.finish()
            return
        if now - self._printed >= PRINT_EVERY:
            self._printed = now
            c = self.current
            eta = "?" if c["eta_s"] is None else f"{c['eta_s']:.0f} s"
            self.out(
                f"backfill: block {block:,} of {target:,} ({100 * block / max(target, 1):.1f} %), "
                f"{c['blocks_per_s']:,.0f} blocks/s, {c['events_per_s']:,.0f} events/s, about {eta} left"
            )

    def finish(self) -> None:
        if self.current is not None and self._start is not None:
            c = self.current
            self.out(
                f"backfill done: {c['events']:,} events up to block {c['block']:,} "
                f"({c['blocks_per_s']:,.0f} blocks/s, {c['events_per_s']:,.0f} events/s)"
            )
        self._start, self.current = None, None
