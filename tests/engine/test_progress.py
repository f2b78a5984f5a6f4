"""Progress of a long read: the rates and the time left, printed at most once a second."""

from __future__ import annotations

from engine.progress import Progress


def test_a_backfill_shows_its_rates_and_time_left_and_a_short_read_shows_nothing():
    now, lines = [100.0], []
    progress = Progress(out=lines.append, clock=lambda: now[0])
    progress.update(500, 1_000, 40)  # 500 blocks behind: not a backfill
    assert progress.current is None and lines == []

    progress.update(0, 100_000, 0)  # the read begins far behind
    now[0] += 2.0
    progress.update(20_000, 100_000, 5_000)
    assert progress.current == {
        "block": 20_000,
        "target": 100_000,
        "blocks_per_s": 10_000.0,
        "events_per_s": 2_500.0,
        "events": 5_000,
        "eta_s": 8.0,
    }
    assert lines[-1] == "backfill: block 20,000 of 100,000 (20.0 %), 10,000 blocks/s, 2,500 events/s, about 8 s left"
    now[0] += 0.5
    progress.update(25_000, 100_000, 6_000)  # within the second: not printed again
    assert len(lines) == 2
    now[0] += 7.5
    progress.update(100_000, 100_000, 30_000)
    assert progress.current is None
    assert lines[-1] == "backfill done: 30,000 events up to block 100,000 (10,000 blocks/s, 3,000 events/s)"
