"""The alarms view: every alarm of the verification error system, by store and state, for the
operator's list and each store's own."""

from __future__ import annotations

import json
from typing import Any

from engine.delivery.order import Alarm

from .view import View, dumps

COLUMNS = (
    "alarm_id",
    "checkout_id",
    "store_id",
    "kind",
    "state",
    "errors",
    "raised_at",
    "acknowledged_by",
    "resolution",
)


class AlarmsView(View):
    """Alarms raised, acknowledged and resolved."""

    name = "alarms"
    version = 2
    schema = (
        """CREATE TABLE IF NOT EXISTS view_alarms (
            alarm_id TEXT PRIMARY KEY, checkout_id TEXT NOT NULL, store_id TEXT NOT NULL, kind TEXT NOT NULL,
            state TEXT NOT NULL,
            errors TEXT NOT NULL, raised_at DOUBLE PRECISION NOT NULL, acknowledged_by TEXT, resolution TEXT,
            seq BIGINT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_alarms_by_store ON view_alarms (store_id, state, seq)",
        "CREATE INDEX IF NOT EXISTS view_alarms_by_state ON view_alarms (state, seq)",
        "CREATE INDEX IF NOT EXISTS view_alarms_by_seq ON view_alarms (seq)",
        "CREATE INDEX IF NOT EXISTS view_alarms_store_seq ON view_alarms (store_id, seq)",
    )
    tables = ("view_alarms",)
    handles = (Alarm.Raised, Alarm.Acknowledged, Alarm.Resolved)

    def apply(self, batch: Any, event: Any, seq: int) -> None:
        alarm_id = str(event.originator_id)
        if isinstance(event, Alarm.Raised):
            self.db.execute(
                "INSERT INTO view_alarms (alarm_id, checkout_id, store_id, kind, state, errors, raised_at, seq) "
                "VALUES (?, ?, ?, ?, 'open', ?, ?, ?) ON CONFLICT (alarm_id) DO NOTHING",
                (alarm_id, event.checkout_id, event.store_id, event.kind, dumps(event.errors), event.at, seq),
            )
        elif isinstance(event, Alarm.Acknowledged):
            self.db.execute(
                "UPDATE view_alarms SET state = 'acknowledged', acknowledged_by = ?, seq = ? WHERE alarm_id = ?",
                (event.by, seq, alarm_id),
            )
        else:
            resolution = {"by": event.by, "proceed": event.proceed, "reason": event.reason, "at": event.at}
            self.db.execute(
                "UPDATE view_alarms SET state = 'resolved', resolution = ?, seq = ? WHERE alarm_id = ?",
                (dumps(resolution), seq, alarm_id),
            )

    def alarms(self, store_id: str | None = None, state: str | None = None, limit: int = 100) -> list[dict]:
        """Alarms, newest change first: a store's own, or all (the operator's), of one state or any."""
        where, params = [], []
        if store_id is not None:
            where.append("store_id = ?")
            params.append(store_id)
        if state is not None:
            where.append("state = ?")
            params.append(state)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.fetchall(
            f"SELECT {', '.join(COLUMNS)} FROM view_alarms {clause} ORDER BY seq DESC LIMIT ?", (*params, limit)
        )
        return [self._alarm(row) for row in rows]

    def changes(self, store_id: str | None, after: int, limit: int) -> list[tuple[int, dict]]:
        """Alarms changed after position ``after``, oldest change first, each in its latest state."""
        where, params = "seq > ?", list[object]([after])
        if store_id is not None:
            where += " AND store_id = ?"
            params.append(store_id)
        rows = self.db.fetchall(
            f"SELECT seq, {', '.join(COLUMNS)} FROM view_alarms WHERE {where} ORDER BY seq LIMIT ?", (*params, limit)
        )
        return [(int(r[0]), self._alarm(r[1:])) for r in rows]

    def latest_seq(self, store_id: str | None) -> int:
        row = self.db.fetchone(
            "SELECT MAX(seq) FROM view_alarms" + (" WHERE store_id = ?" if store_id is not None else ""),
            (store_id,) if store_id is not None else (),
        )
        return int(row[0]) if row and row[0] is not None else 0

    @staticmethod
    def _alarm(row) -> dict:
        alarm = dict(zip(COLUMNS, row))
        alarm["errors"] = json.loads(alarm["errors"])
        alarm["resolution"] = json.loads(alarm["resolution"]) if alarm["resolution"] else None
        return alarm
