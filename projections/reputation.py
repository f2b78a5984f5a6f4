"""The reputation view: every party's signals from every capability, as explainable counters,
and every buyer's purchase records (one fold of each aggregate serves both).

For each settlement, case, campaign and cross-border order the view folds its canonical logs
and asks its domain which counters the outcome adds to for which address
(``reputation_signals``: :mod:`engine.signals`); a buyer's feedback on a settled order adds
one for the store. A changed aggregate's signals are written again whole, so a reorganisation
that retracts a log takes its signal with it. :meth:`ReputationView.reputation` adds an
address's signals up: raw counts, each counter for, against or counted only, all time and in
the last 365 days, and the score of the window (:mod:`engine.accounts.reputation`).

The same fold is asked for the buyers' ``purchase_records`` (:mod:`engine.purchases`): a
settlement's order, a liquor purchase, a campaign's pledges, a cross-border order, written
again whole when the aggregate changes (:meth:`ReputationView.purchases`). Purchases paid
after verified delivery come from the payments view, which holds their lines.
"""

from __future__ import annotations

import json
from typing import Any

from engine import liquor
from engine.accounts import feedback
from engine.accounts.feedback import Feedback, feedback_signal
from engine.accounts.reputation import WINDOW_SECONDS, score_counts
from engine.cross_border import orders as cross_border
from engine.delivery import mandate as offline_payment
from engine.group_buy import campaign as group_buy
from engine.settlement import escrow as settlement

from .chain_rows import ChainBatch, ChainRowsView, chain_events
from .view import dumps


def _none(*_args) -> list:
    return []


# Each aggregate the view reads: its kind, what folds its logs, what its outcome signals, what
# it records as a buyer's purchase.
DOMAINS = {
    settlement.Settlement.kind: (settlement.Settlement, settlement.reputation_signals, settlement.purchase_records),
    liquor.LiquorCase.kind: (liquor.LiquorCase, liquor.reputation_signals, _none),
    liquor.LiquorPurchase.kind: (liquor.LiquorPurchase, _none, liquor.purchase_records),
    group_buy.Campaign.kind: (group_buy.Campaign, group_buy.reputation_signals, group_buy.purchase_records),
    cross_border.CrossBorderOrder.kind: (
        cross_border.CrossBorderOrder,
        cross_border.reputation_signals,
        cross_border.purchase_records,
    ),
    offline_payment.PaymentMandate.kind: (offline_payment.PaymentMandate, offline_payment.reputation_signals, _none),
}


def _signal_rows(source: str, signals: list[Any], seq: int) -> list[tuple]:
    return [
        (source, n, s.address.lower(), s.name, None if s.positive is None else int(s.positive), s.at, seq)
        for n, s in enumerate(signals)
    ]


# Every counter and what it means, for the API to explain.
COUNTERS: dict[str, str] = {
    **settlement.REPUTATION,
    **liquor.REPUTATION,
    **group_buy.REPUTATION,
    **cross_border.REPUTATION,
    **feedback.REPUTATION,
    **offline_payment.REPUTATION,
}


class ReputationView(ChainRowsView):
    """Signals per address (see the module docstring)."""

    name = "reputation"
    version = 3  # purchase records too
    retired = ("view_reputation_logs",)  # the logs it kept itself before they were shared
    aggregates = tuple(aggregate for aggregate, _, _ in DOMAINS.values())
    schema = (
        """CREATE TABLE IF NOT EXISTS view_reputation_signals (
            source TEXT NOT NULL, n INTEGER NOT NULL, address TEXT NOT NULL, name TEXT NOT NULL,
            positive SMALLINT, at BIGINT, seq BIGINT NOT NULL, PRIMARY KEY (source, n))""",
        "CREATE INDEX IF NOT EXISTS view_reputation_by_address ON view_reputation_signals (address, at)",
        """CREATE TABLE IF NOT EXISTS view_purchases (
            source TEXT NOT NULL, n INTEGER NOT NULL, buyer TEXT NOT NULL, capability TEXT NOT NULL,
            at BIGINT, seq BIGINT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (source, n))""",
        "CREATE INDEX IF NOT EXISTS view_purchases_by_buyer ON view_purchases (buyer, at)",
    )
    tables = ("view_reputation_signals", "view_purchases")
    handles = (*chain_events(aggregates), Feedback.Given)

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        signals: dict[str, list[tuple]] = {}  # source -> its signal rows, written again whole
        sources, records = [], []
        stale = []  # sources whose earlier rows go (an aggregate first seen in this batch has none)
        fresh = batch.fresh
        for kind, key, logs, seq in changed:
            aggregate, signals_of, purchases = DOMAINS[kind]
            state = aggregate.fold(logs)
            source = f"{kind}:{key}"
            signals[source] = _signal_rows(source, signals_of(state), seq)
            seen = (kind, key) not in fresh
            if seen:
                stale.append((source,))
            if purchases is not _none:
                if seen:
                    sources.append((source,))
                records += [
                    (source, n, p.buyer.lower(), p.capability, p.at, seq, dumps(p.row()))
                    for n, p in enumerate(purchases(key, state))
                ]
        for seq, event in batch.other:
            if isinstance(event, Feedback.Given):
                source = f"feedback:{event.settlement_id}"
                signals[source] = _signal_rows(source, [feedback_signal(event.store, event.rating, event.at)], seq)
                stale.append((source,))
        self.db.executemany("DELETE FROM view_purchases WHERE source = ?", sources)
        self.db.executemany(
            "INSERT INTO view_purchases (source, n, buyer, capability, at, seq, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            records,
        )
        self.db.executemany("DELETE FROM view_reputation_signals WHERE source = ?", stale)
        self.db.executemany(
            "INSERT INTO view_reputation_signals (source, n, address, name, positive, at, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [row for rows in signals.values() for row in rows],
        )

    # -- queries

    def reputation(self, addresses: list[str], now: int) -> dict:
        """The counters of an account's addresses (all time and the last 365 days) and the window's score."""
        since = now - WINDOW_SECONDS
        wanted = sorted({a.lower() for a in addresses})
        rows = (
            self.db.fetchall(
                "SELECT name, positive, COUNT(*), SUM(CASE WHEN at > ? AND at <= ? THEN 1 ELSE 0 END) "
                f"FROM view_reputation_signals WHERE address IN ({','.join('?' * len(wanted))}) GROUP BY name, positive",
                (since, now, *wanted),
            )
            if wanted
            else []
        )
        counters = []
        positive = negative = 0
        for name, sign, total, recent in sorted(rows, key=lambda r: (r[0], -1 if r[1] is None else r[1])):
            recent = int(recent or 0)
            kind = "counted" if sign is None else ("for" if sign else "against")
            counters.append(
                {"name": name, "counts": kind, "total": int(total), "last_365_days": recent, "means": COUNTERS[name]}
            )
            if sign == 1:
                positive += recent
            elif sign == 0:
                negative += recent
        return {
            "addresses": wanted,
            "counters": counters,
            "positive": positive,
            "negative": negative,
            "score": score_counts(positive, negative),
            "window_seconds": WINDOW_SECONDS,
        }

    def purchases(self, buyers: list[str]) -> list[dict]:
        """The purchase records of the buyers' addresses, oldest first."""
        wanted = sorted({b.lower() for b in buyers})
        if not wanted:
            return []
        return [
            json.loads(data)
            for (data,) in self.db.fetchall(
                f"SELECT data FROM view_purchases WHERE buyer IN ({','.join('?' * len(wanted))}) "
                "ORDER BY at, source, n",
                wanted,
            )
        ]
