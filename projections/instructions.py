"""The webhook view: each succeeded campaign's production instruction, and each notice, with its
delivery state."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from engine.instructions import Notice, ProductionInstruction

from .view import View, dumps

DELIVERY_COLUMNS = ("delivery_id", "kind", "store_id", "subject", "state", "attempts", "last_error", "delivered_at")


class InstructionsView(View):
    """One row per instruction: pending, retrying, delivered or dead, with its attempts and last error."""

    name = "instructions"
    version = 3
    schema = (
        """CREATE TABLE IF NOT EXISTS view_instructions (
            instruction_id TEXT PRIMARY KEY, campaign_id BIGINT NOT NULL UNIQUE, store_id TEXT NOT NULL,
            state TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT, delivered_at DOUBLE PRECISION,
            seq BIGINT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS view_notices (
            notice_id TEXT PRIMARY KEY, subject TEXT NOT NULL UNIQUE, store_id TEXT NOT NULL,
            state TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT, delivered_at DOUBLE PRECISION,
            seq BIGINT NOT NULL, body TEXT NOT NULL)""",
    )
    tables = ("view_instructions", "view_notices")
    handles = (
        ProductionInstruction.Created,
        ProductionInstruction.Attempted,
        ProductionInstruction.Delivered,
        ProductionInstruction.Dead,
        ProductionInstruction.Replayed,
        Notice.Created,
        Notice.Attempted,
        Notice.Delivered,
        Notice.Dead,
        Notice.Replayed,
    )

    def apply(self, batch: Any, event: Any, seq: int) -> None:
        key = str(event.originator_id)
        table, id_column = (
            ("view_notices", "notice_id")
            if isinstance(event, (Notice.Created, Notice.Attempted, Notice.Delivered, Notice.Dead, Notice.Replayed))
            else ("view_instructions", "instruction_id")
        )
        if isinstance(event, ProductionInstruction.Created):
            self.db.execute(
                "INSERT INTO view_instructions (instruction_id, campaign_id, store_id, state, attempts, "
                "seq) VALUES (?, ?, ?, 'pending', 0, ?) ON CONFLICT (instruction_id) DO NOTHING",
                (key, event.campaign_id, event.store_id, seq),
            )
        elif isinstance(event, Notice.Created):
            self.db.execute(
                "INSERT INTO view_notices (notice_id, subject, store_id, state, attempts, seq, body) "
                "VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (notice_id) DO NOTHING",
                (key, event.subject, event.store_id, seq, dumps(event.body)),
            )
        elif isinstance(event, (ProductionInstruction.Attempted, Notice.Attempted)):
            self.db.execute(
                f"UPDATE {table} SET state = 'retrying', attempts = attempts + 1, "
                f"last_error = ?, seq = ? WHERE {id_column} = ?",
                (event.error, seq, key),
            )
        elif isinstance(event, (ProductionInstruction.Dead, Notice.Dead)):
            self.db.execute(f"UPDATE {table} SET state = 'dead', seq = ? WHERE {id_column} = ?", (seq, key))
        elif isinstance(event, (ProductionInstruction.Replayed, Notice.Replayed)):
            self.db.execute(
                f"UPDATE {table} SET state = 'pending', attempts = 0, seq = ? WHERE {id_column} = ?", (seq, key)
            )
        else:
            self.db.execute(
                f"UPDATE {table} SET state = 'delivered', attempts = attempts + 1, "
                f"last_error = NULL, delivered_at = ?, seq = ? WHERE {id_column} = ?",
                (event.at, seq, key),
            )

    def pending(self) -> list[UUID]:
        return [
            UUID(i)
            for (i,) in self.db.fetchall(
                "SELECT instruction_id FROM view_instructions WHERE state NOT IN ('delivered', 'dead') UNION ALL "
                "SELECT notice_id FROM view_notices WHERE state NOT IN ('delivered', 'dead')"
            )
        ]

    def deliveries(self, state: str | None = None, limit: int = 100) -> list[dict]:
        """Every store webhook delivery (production instructions and notices), the latest changed
        first, of one state or any (``dead``: the dead letters to replay)."""
        clause = "WHERE state = ?" if state else ""
        params = (state, state) if state else ()
        rows = self.db.fetchall(
            "SELECT * FROM ("
            f"SELECT instruction_id, 'instruction', store_id, 'production instruction of campaign ' || campaign_id, "
            f"state, attempts, last_error, delivered_at, seq FROM view_instructions {clause} UNION ALL "
            f"SELECT notice_id, 'notice', store_id, subject, state, attempts, last_error, delivered_at, seq "
            f"FROM view_notices {clause}) AS d ORDER BY seq DESC LIMIT ?",
            (*params, limit),
        )
        return [dict(zip(DELIVERY_COLUMNS, r[:-1])) | {"attempts": int(r[5])} for r in rows]

    def notice_subjects(self) -> set[str]:
        return {s for (s,) in self.db.fetchall("SELECT subject FROM view_notices")}

    def notices(self, store_id: str) -> list[dict]:
        return [
            {
                "subject": r[0],
                "state": r[1],
                "attempts": int(r[2]),
                "last_error": r[3],
                "delivered_at": r[4],
                "body": json.loads(r[5]),
            }
            for r in self.db.fetchall(
                "SELECT subject, state, attempts, last_error, delivered_at, body FROM view_notices WHERE store_id = ? "
                "ORDER BY seq",
                (store_id,),
            )
        ]

    def instructions(self, store_id: str) -> list[dict]:
        """The store's production instructions, oldest change first, with their delivery."""
        return [
            {"campaign_id": int(r[0]), "state": r[1], "attempts": int(r[2]), "last_error": r[3], "delivered_at": r[4]}
            for r in self.db.fetchall(
                "SELECT campaign_id, state, attempts, last_error, delivered_at FROM view_instructions "
                "WHERE store_id = ? ORDER BY seq",
                (store_id,),
            )
        ]

    def campaigns(self) -> set[int]:
        return {int(c) for (c,) in self.db.fetchall("SELECT campaign_id FROM view_instructions")}

    def of_campaign(self, campaign_id: int) -> dict | None:
        row = self.db.fetchone(
            "SELECT state, attempts, last_error, delivered_at FROM view_instructions WHERE campaign_id = ?",
            (campaign_id,),
        )
        return (
            None
            if row is None
            else {"state": row[0], "attempts": int(row[1]), "last_error": row[2], "delivered_at": row[3]}
        )
