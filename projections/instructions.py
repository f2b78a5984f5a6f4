"""The production-instruction view: each succeeded campaign's instruction and its delivery state."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from engine.instructions import ProductionInstruction

from .view import View


class InstructionsView(View):
    """One row per instruction: pending, retrying or delivered, with its attempts and last error."""

    name = "instructions"
    version = 1
    schema = (
        """CREATE TABLE IF NOT EXISTS view_instructions (
            instruction_id TEXT PRIMARY KEY, campaign_id BIGINT NOT NULL UNIQUE, store_id TEXT NOT NULL,
            state TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT, delivered_at DOUBLE PRECISION,
            seq BIGINT NOT NULL)""",
    )
    tables = ("view_instructions",)
    handles = (ProductionInstruction.Created, ProductionInstruction.Attempted, ProductionInstruction.Delivered)

    def apply(self, batch: Any, event: Any, seq: int) -> None:
        key = str(event.originator_id)
        if isinstance(event, ProductionInstruction.Created):
            self.db.execute("INSERT INTO view_instructions (instruction_id, campaign_id, store_id, state, attempts, "
                            "seq) VALUES (?, ?, ?, 'pending', 0, ?) ON CONFLICT (instruction_id) DO NOTHING",
                            (key, event.campaign_id, event.store_id, seq))
        elif isinstance(event, ProductionInstruction.Attempted):
            self.db.execute("UPDATE view_instructions SET state = 'retrying', attempts = attempts + 1, "
                            "last_error = ?, seq = ? WHERE instruction_id = ?", (event.error, seq, key))
        else:
            self.db.execute("UPDATE view_instructions SET state = 'delivered', attempts = attempts + 1, "
                            "last_error = NULL, delivered_at = ?, seq = ? WHERE instruction_id = ?",
                            (event.at, seq, key))

    def pending(self) -> list[UUID]:
        return [UUID(i) for (i,) in self.db.fetchall(
            "SELECT instruction_id FROM view_instructions WHERE state <> 'delivered' ORDER BY seq")]

    def campaigns(self) -> set[int]:
        return {int(c) for (c,) in self.db.fetchall("SELECT campaign_id FROM view_instructions")}

    def of_campaign(self, campaign_id: int) -> dict | None:
        row = self.db.fetchone("SELECT state, attempts, last_error, delivered_at FROM view_instructions "
                               "WHERE campaign_id = ?", (campaign_id,))
        return None if row is None else {"state": row[0], "attempts": int(row[1]), "last_error": row[2],
                                         "delivered_at": row[3]}
