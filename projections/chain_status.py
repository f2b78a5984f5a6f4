"""The chain-status record: how far each chain is indexed, as the reader's cursor tells it.

One row per chain (block, block hash, the node's head when the cursor last advanced),
projected from the cursor's own events, so whichever process runs the views keeps it
and a rebuild gives it back. Each cursor move is also marked with its position in the
event log, so the block a view shows is known from the view's position alone
(:meth:`ChainStatusView.block_at`): a client that waits for its transaction's block waits
for the view it reads, not for the reader.
"""

from __future__ import annotations

from typing import Any

from engine.chain.cursor import ChainCursor

from .view import View


class ChainStatusView(View):
    """Indexed block, its hash and the node head per chain."""

    name = "chain_status"
    version = 2
    schema = (
        """CREATE TABLE IF NOT EXISTS view_chain_status (
            cursor_id TEXT PRIMARY KEY, chain_id BIGINT NOT NULL UNIQUE, head BIGINT, block BIGINT,
            block_hash TEXT, updated_at TEXT)""",
        """CREATE TABLE IF NOT EXISTS view_chain_marks (
            seq BIGINT PRIMARY KEY, chain_id BIGINT NOT NULL, block BIGINT NOT NULL)""",
    )
    tables = ("view_chain_status", "view_chain_marks")
    handles = (ChainCursor.Started, ChainCursor.Advanced, ChainCursor.RolledBack)

    def begin(self) -> dict:
        return {"_marks": []}

    def apply(self, batch: dict, event: Any, seq: int) -> None:
        key = str(event.originator_id)
        marks = batch["_marks"]
        if isinstance(event, ChainCursor.Started):
            batch[key] = {"chain_id": event.chain_id, "head": None, "block": event.start_block - 1, "block_hash": None}
        else:
            row = batch.get(key)
            if row is None:
                found = self.db.fetchone("SELECT chain_id, head FROM view_chain_status WHERE cursor_id = ?", (key,))
                if found is None:  # cannot happen: Started comes first
                    return
                row = batch[key] = {"chain_id": found[0], "head": found[1]}
            row.update(block=event.to_block, block_hash=event.block_hash)
            if isinstance(event, ChainCursor.Advanced):
                row["head"] = getattr(event, "head", None)
        batch[key]["updated_at"] = event.timestamp.isoformat()
        marks.append((seq, batch[key]["chain_id"], batch[key]["block"]))

    def finish(self, batch: dict) -> None:
        marks = batch.pop("_marks")
        self.db.executemany(
            "INSERT INTO view_chain_marks (seq, chain_id, block) VALUES (?, ?, ?) ON CONFLICT (seq) DO NOTHING", marks
        )
        # Only the marks a view may still stand at are kept: from the latest one at or before
        # the position of the view furthest behind.
        behind = self.db.scalar("SELECT min(position) FROM view_positions") or 0
        for chain_id in {m[1] for m in marks}:
            self.db.execute(
                "DELETE FROM view_chain_marks WHERE chain_id = ? AND seq < (SELECT max(seq) FROM "
                "view_chain_marks WHERE chain_id = ? AND seq <= ?)",
                (chain_id, chain_id, behind),
            )
        self.db.executemany(
            "INSERT INTO view_chain_status (cursor_id, chain_id, head, block, block_hash, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cursor_id) DO UPDATE SET head = excluded.head, "
            "block = excluded.block, block_hash = excluded.block_hash, updated_at = excluded.updated_at",
            [(k, r["chain_id"], r["head"], r["block"], r["block_hash"], r["updated_at"]) for k, r in batch.items()],
        )

    def block_at(self, chain_id: int, positions: dict[str, int]) -> dict[str, int | None]:
        """The block each view shows, from its position: the cursor's block as of the last
        cursor move the view has passed (None: nothing indexed yet)."""
        blocks: dict[int, int | None] = {}
        for position in set(positions.values()):  # views mostly stand together: one query per position
            row = self.db.fetchone(
                "SELECT block FROM view_chain_marks WHERE chain_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1",
                (chain_id, position),
            )
            blocks[position] = None if row is None else int(row[0])
        return {name: blocks[position] for name, position in positions.items()}

    def snapshot(self) -> dict:
        """The chain rows (the marks are an index of positions, kept as far back as views stand)."""
        return {
            "view_chain_status": sorted(repr(tuple(row)) for row in self.db.fetchall("SELECT * FROM view_chain_status"))
        }

    def chain(self, chain_id: int) -> dict | None:
        row = self.db.fetchone(
            "SELECT head, block, block_hash, updated_at FROM view_chain_status WHERE chain_id = ?", (chain_id,)
        )
        return None if row is None else {"head": row[0], "block": row[1], "block_hash": row[2], "updated_at": row[3]}
