"""The chain-status record: how far each chain is indexed, as the reader's cursor tells it.

One row per chain (block, block hash, the node's head when the cursor last advanced),
projected from the cursor's own events, so whichever process runs the views keeps it
and a rebuild gives it back.
"""

from __future__ import annotations

from typing import Any

from engine.cursor import ChainCursor

from .view import View


class ChainStatusView(View):
    """Indexed block, its hash and the node head per chain."""

    name = "chain_status"
    schema = (
        """CREATE TABLE IF NOT EXISTS view_chain_status (
            cursor_id TEXT PRIMARY KEY, chain_id BIGINT NOT NULL UNIQUE, head BIGINT, block BIGINT,
            block_hash TEXT, updated_at TEXT)""",
    )
    tables = ("view_chain_status",)
    handles = (ChainCursor.Started, ChainCursor.Advanced, ChainCursor.RolledBack)

    def begin(self) -> dict:
        return {}

    def apply(self, batch: dict, event: Any, seq: int) -> None:
        key = str(event.originator_id)
        if isinstance(event, ChainCursor.Started):
            batch[key] = {"chain_id": event.chain_id, "head": None, "block": event.start_block - 1,
                          "block_hash": None}
        else:
            row = batch.get(key)
            if row is None:
                found = self.db.fetchone("SELECT chain_id, head FROM view_chain_status WHERE cursor_id = ?", (key,))
                if found is None:   # cannot happen: Started comes first
                    return
                row = batch[key] = {"chain_id": found[0], "head": found[1]}
            row.update(block=event.to_block, block_hash=event.block_hash)
            if isinstance(event, ChainCursor.Advanced):
                row["head"] = getattr(event, "head", None)
        batch[key]["updated_at"] = event.timestamp.isoformat()

    def finish(self, batch: dict) -> None:
        self.db.executemany(
            "INSERT INTO view_chain_status (cursor_id, chain_id, head, block, block_hash, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cursor_id) DO UPDATE SET head = excluded.head, "
            "block = excluded.block, block_hash = excluded.block_hash, updated_at = excluded.updated_at",
            [(k, r["chain_id"], r["head"], r["block"], r["block_hash"], r["updated_at"]) for k, r in batch.items()])

    def chain(self, chain_id: int) -> dict | None:
        row = self.db.fetchone("SELECT head, block, block_hash, updated_at FROM view_chain_status "
                               "WHERE chain_id = ?", (chain_id,))
        return None if row is None else {"head": row[0], "block": row[1], "block_hash": row[2],
                                          "updated_at": row[3]}
