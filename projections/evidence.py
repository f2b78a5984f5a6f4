"""The evidence view: recorded order-evidence bundles, their batches, and what awaits anchoring.

Each bundle row carries its campaign and backer (so a buyer's and a campaign's evidence
can be listed), its Merkle root and position once batched; a batch row keeps the root's
bundle hashes in leaf order. Whether a root is anchored on chain is the group-buy view's
batch table (the chain's ``Anchored`` events); this view never asks the node.
"""

from __future__ import annotations

import json
from typing import Any

from engine.evidence.bundles import EvidenceBatch, EvidenceRecord

from .view import View, dumps


class EvidenceView(View):
    """Evidence bundles and batches (see the module docstring)."""

    name = "evidence"
    version = 1
    schema = (
        """CREATE TABLE IF NOT EXISTS view_evidence (
            bundle_hash TEXT PRIMARY KEY, campaign_id BIGINT NOT NULL, backer TEXT NOT NULL, root TEXT,
            position INTEGER, seq BIGINT NOT NULL, record TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_evidence_unbatched ON view_evidence (root, seq)",
        "CREATE INDEX IF NOT EXISTS view_evidence_by_campaign ON view_evidence (campaign_id, backer)",
        """CREATE TABLE IF NOT EXISTS view_evidence_batches (
            root TEXT PRIMARY KEY, hashes TEXT NOT NULL, seq BIGINT NOT NULL)""",
    )
    tables = ("view_evidence", "view_evidence_batches")
    handles = (EvidenceRecord.Recorded, EvidenceRecord.Batched, EvidenceBatch.Made)

    def apply(self, batch: Any, event: Any, seq: int) -> None:
        if isinstance(event, EvidenceRecord.Recorded):
            self.db.execute(
                "INSERT INTO view_evidence (bundle_hash, campaign_id, backer, root, position, seq, record) "
                "VALUES (?, ?, ?, NULL, NULL, ?, ?) ON CONFLICT (bundle_hash) DO NOTHING",
                (
                    event.bundle_hash,
                    event.campaign_id,
                    event.backer,
                    seq,
                    dumps({"bundle": event.bundle, "seal": event.seal, "witness": event.witness}),
                ),
            )
        elif isinstance(event, EvidenceRecord.Batched):
            self.db.execute(
                "UPDATE view_evidence SET root = ?, position = ?, seq = ? WHERE bundle_hash = ?",
                (event.root, event.position, seq, event.bundle_hash),
            )
        elif isinstance(event, EvidenceBatch.Made):
            self.db.execute(
                "INSERT INTO view_evidence_batches (root, hashes, seq) VALUES (?, ?, ?) ON CONFLICT (root) DO NOTHING",
                (event.root, dumps(event.hashes), seq),
            )

    # -- queries

    def record(self, bundle_hash: str) -> dict | None:
        row = self.db.fetchone(
            "SELECT campaign_id, backer, root, position, record FROM view_evidence WHERE bundle_hash = ?",
            (bundle_hash,),
        )
        if row is None:
            return None
        return dict(
            json.loads(row[4]),
            bundle_hash=bundle_hash,
            campaign_id=int(row[0]),
            backer=row[1],
            root=row[2],
            position=None if row[3] is None else int(row[3]),
        )

    def unbatched(self, limit: int) -> list[str]:
        return [
            h
            for (h,) in self.db.fetchall(
                "SELECT bundle_hash FROM view_evidence WHERE root IS NULL ORDER BY seq LIMIT ?", (limit,)
            )
        ]

    def batch_hashes(self, root: str) -> list[str] | None:
        row = self.db.fetchone("SELECT hashes FROM view_evidence_batches WHERE root = ?", (root,))
        return None if row is None else json.loads(row[0])

    def roots(self) -> list[str]:
        return [r for (r,) in self.db.fetchall("SELECT root FROM view_evidence_batches ORDER BY seq")]
