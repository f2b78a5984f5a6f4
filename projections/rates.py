"""The exchange-rate view: every rate the operator recorded, the latest per currency pair."""

from __future__ import annotations

import json
from typing import Any

from engine.cross_border.orders import RateRecord

from .view import View, dumps


class RatesView(View):
    """Signed exchange rates by currency pair and time."""

    name = "rates"
    version = 1
    schema = (
        """CREATE TABLE IF NOT EXISTS view_rates (
            signature_hash TEXT PRIMARY KEY, base TEXT NOT NULL, quote TEXT NOT NULL, at TEXT NOT NULL,
            seq BIGINT NOT NULL, record TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_rates_by_pair ON view_rates (base, quote, at)",
    )
    tables = ("view_rates",)
    handles = (RateRecord.Recorded,)

    def apply(self, batch: Any, event: Any, seq: int) -> None:
        doc = event.document
        self.db.execute(
            "INSERT INTO view_rates (signature_hash, base, quote, at, seq, record) VALUES "
            "(?, ?, ?, ?, ?, ?) ON CONFLICT (signature_hash) DO NOTHING",
            (
                event.signature_hash,
                doc["base"],
                doc["quote"],
                doc["at"],
                seq,
                dumps(
                    {
                        "document": doc,
                        "signature": event.signature,
                        "signature_hash": event.signature_hash,
                        "signer": event.signer,
                    }
                ),
            ),
        )

    def latest(self, base: str, quote: str) -> dict | None:
        row = self.db.fetchone(
            "SELECT record FROM view_rates WHERE base = ? AND quote = ? ORDER BY at DESC, seq DESC LIMIT 1",
            (base.upper(), quote.upper()),
        )
        return None if row is None else json.loads(row[0])
