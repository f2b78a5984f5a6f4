"""The group-buying views: campaigns (progress, backers, deposits) and anchored evidence batches.

A campaign row keeps its folded state; its status (open, succeeded, failed, cancelled) is
the domain's :func:`~engine.group_buy.campaign.campaign_status` at the time of the query, since a
failure is the clock's doing. The queue of an offer (a scheme and a delivery term) is the
quantity pledged to the campaigns of that scheme and production cycle that still take
pledges. ``seq`` of a campaign is the notification id of its last change; the largest one
is the order book's sequence number, so a client can tell whether it missed a pledge.
"""

from __future__ import annotations

import json

from engine.evidence.bundles import AnchoredBatch
from engine.group_buy.campaign import Campaign, progress

from .chain_rows import ChainBatch, ChainRowsView, chain_events
from .view import dumps

AGGREGATES = (Campaign, AnchoredBatch)


class GroupBuyView(ChainRowsView):
    """Campaigns of ``GroupBuy`` and batches of ``EvidenceAnchor`` (see the module docstring)."""

    name = "group_buy"
    version = 2
    retired = ("view_group_buy_logs",)  # the logs it kept itself before they were shared
    aggregates = AGGREGATES
    schema = (
        """CREATE TABLE IF NOT EXISTS view_campaigns (
            campaign_id BIGINT PRIMARY KEY, enterprise TEXT NOT NULL, scheme_hash TEXT NOT NULL,
            cycle INTEGER NOT NULL, target_date BIGINT NOT NULL, pledged BIGINT NOT NULL,
            outcome TEXT NOT NULL, seq BIGINT NOT NULL, data TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_campaigns_by_scheme ON view_campaigns (scheme_hash, cycle)",
        "CREATE INDEX IF NOT EXISTS view_campaigns_by_enterprise ON view_campaigns (enterprise)",
        """CREATE TABLE IF NOT EXISTS view_campaign_backers (
            backer TEXT NOT NULL, campaign_id BIGINT NOT NULL, PRIMARY KEY (backer, campaign_id))""",
        """CREATE TABLE IF NOT EXISTS view_anchor_batches (
            batch_id BIGINT PRIMARY KEY, root TEXT NOT NULL UNIQUE, count INTEGER NOT NULL, witness TEXT NOT NULL,
            anchored_at BIGINT NOT NULL, tx_hash TEXT NOT NULL, block_number BIGINT NOT NULL, seq BIGINT NOT NULL)""",
    )
    tables = ("view_campaigns", "view_campaign_backers", "view_anchor_batches")
    handles = chain_events(AGGREGATES)

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        campaigns: list[tuple] = []
        batches: list[tuple] = []
        gone_campaigns: list[tuple] = []
        gone_batches: list[tuple] = []
        backers: list[tuple] = []
        for kind, key, logs, seq in changed:
            if kind == Campaign.kind:
                state = Campaign.fold(logs)
                if "enterprise" not in state:
                    gone_campaigns.append((int(key),))
                    continue
                state["campaign_id"] = int(key)
                outcome = "succeeded" if state["succeeded"] else ("cancelled" if state["cancelled"] else "")
                campaigns.append(
                    (
                        int(key),
                        state["enterprise"],
                        state["scheme_hash"],
                        state["cycle"],
                        state["target_date"],
                        state["pledged"],
                        outcome,
                        seq,
                        dumps(state),
                    )
                )
                backers.extend((backer.lower(), int(key)) for backer in state["backers"])
            elif kind == AnchoredBatch.kind:
                state = AnchoredBatch.fold(logs)
                if "root" not in state:
                    gone_batches.append((int(key),))
                    continue
                batches.append(
                    (
                        int(key),
                        state["root"],
                        state["count"],
                        state["witness"],
                        state["anchored_at"],
                        state["tx_hash"],
                        state["block_number"],
                        seq,
                    )
                )
        # Retractions first, then writes: every changed batch's row goes before any is written, so
        # a fork that moves an anchored root to another batch id never meets the old row's root.
        self.db.executemany("DELETE FROM view_campaigns WHERE campaign_id = ?", gone_campaigns)
        self.db.executemany(
            "DELETE FROM view_campaign_backers WHERE campaign_id = ?", gone_campaigns + [(c[0],) for c in campaigns]
        )
        self.db.executemany(
            "DELETE FROM view_anchor_batches WHERE batch_id = ?", gone_batches + [(b[0],) for b in batches]
        )
        self.db.executemany(
            "INSERT INTO view_campaigns (campaign_id, enterprise, scheme_hash, cycle, target_date, pledged, outcome, "
            "seq, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id) DO UPDATE SET "
            "enterprise = excluded.enterprise, scheme_hash = excluded.scheme_hash, cycle = excluded.cycle, "
            "target_date = excluded.target_date, pledged = excluded.pledged, outcome = excluded.outcome, "
            "seq = excluded.seq, data = excluded.data",
            campaigns,
        )
        self.db.executemany("INSERT INTO view_campaign_backers (backer, campaign_id) VALUES (?, ?)", backers)
        self.db.executemany(
            "INSERT INTO view_anchor_batches (batch_id, root, count, witness, anchored_at, tx_hash, block_number, "
            "seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            batches,
        )

    # -- queries

    def campaign(self, campaign_id: int, now: int) -> dict | None:
        row = self.db.fetchone("SELECT seq, data FROM view_campaigns WHERE campaign_id = ?", (campaign_id,))
        return None if row is None else self._shown(json.loads(row[1]), int(row[0]), now)

    @staticmethod
    def _shown(state: dict, seq: int, now: int) -> dict:
        return dict(state, seq=seq, **progress(state, now))

    def campaigns(
        self, now: int, enterprise: str | None = None, scheme_hash: str | None = None, backer: str | None = None
    ) -> list[dict]:
        sql, params = "SELECT seq, data FROM view_campaigns WHERE 1 = 1", []
        if backer:
            sql += " AND campaign_id IN (SELECT campaign_id FROM view_campaign_backers WHERE backer = ?)"
            params.append(backer)
        if enterprise:
            sql += " AND enterprise = ?"
            params.append(enterprise)
        if scheme_hash:
            sql += " AND scheme_hash = ?"
            params.append(scheme_hash)
        return [
            self._shown(json.loads(data), int(seq), now)
            for seq, data in self.db.fetchall(sql + " ORDER BY campaign_id", params)
        ]

    def succeeded(self, now: int, enterprises: list[str] | None = None) -> list[dict]:
        """Campaigns that triggered production (``enterprises``: only theirs)."""
        if enterprises is not None and not enterprises:
            return []
        among = f" AND enterprise IN ({','.join('?' * len(enterprises))})" if enterprises else ""
        return [
            self._shown(json.loads(data), int(seq), now)
            for seq, data in self.db.fetchall(
                f"SELECT seq, data FROM view_campaigns WHERE outcome = 'succeeded'{among} ORDER BY campaign_id",
                enterprises or (),
            )
        ]

    def succeeded_by(self) -> list[tuple[int, str]]:
        """(campaign id, enterprise) of every campaign that triggered production, without its data."""
        return [
            (int(c), e)
            for c, e in self.db.fetchall(
                "SELECT campaign_id, enterprise FROM view_campaigns WHERE outcome = 'succeeded'"
            )
        ]

    def queues(self, now: int) -> tuple[dict[tuple[str, int], int], int]:
        """Quantity queued per (scheme hash, production cycle) in campaigns still taking pledges,
        and the sequence number of the latest change to any campaign."""
        queued: dict[tuple[str, int], int] = {}
        for scheme_hash, cycle, pledged in self.db.fetchall(
            "SELECT scheme_hash, cycle, pledged FROM view_campaigns WHERE target_date >= ? AND outcome <> ?",
            (now, "cancelled"),
        ):
            queued[(scheme_hash, int(cycle))] = queued.get((scheme_hash, int(cycle)), 0) + int(pledged)
        return queued, int(self.db.scalar("SELECT max(seq) FROM view_campaigns") or 0)

    def batch_of_root(self, root: str) -> dict | None:
        row = self.db.fetchone(
            "SELECT batch_id, count, witness, anchored_at, tx_hash, block_number FROM "
            "view_anchor_batches WHERE root = ?",
            (root,),
        )
        return (
            None
            if row is None
            else {
                "batch_id": int(row[0]),
                "root": root,
                "count": int(row[1]),
                "witness": row[2],
                "anchored_at": int(row[3]),
                "tx_hash": row[4],
                "block_number": int(row[5]),
            }
        )
