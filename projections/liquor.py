"""The liquor views: holdings, warehouse inventory, provenance, redemption queue, lender book.

One projection keeps them all, because they are cuts of the same few things: every
plan, purchase and case of ``LiquorCases`` has a row holding its canonical logs (so a
retraction after a reorganisation is undone by folding again) and its folded state, with
the columns the views select by. Each row's ``seq`` is the notification id of the event
that last changed it. The five views are queries over these rows:

- **holdings** per owner: cases with their locked / pledged / redeeming state;
- **warehouse inventory** per plan: for sale, sold awaiting outbound, in custody,
  redeeming, delivered (counted from purchases and cases, so always consistent);
- **provenance** per case: every step from plan to burn with its chain coordinates;
- **redemption queue** per warehouse: pending pickups with their ciphertexts;
- **lender book** per lender: every pledge, active, repaid or seized, with due dates.

The rules (a case's state, whether a loan is overdue, a plan's mismatches with its
listing) are the domain's, in ``engine/liquor.py``.
"""

from __future__ import annotations

import json
from typing import Any

from engine.liquor import (
    AGGREGATES,
    LiquorCase,
    LiquorListing,
    LiquorPlan,
    LiquorPurchase,
    WarehouseKey,
    inventory,
    loan_overdue,
    plan_mismatches,
)

from .chain_rows import ChainBatch, ChainRowsView, chain_events
from .view import chunks, dumps

REDEEMING = ("redeeming", "dispatched")


class LiquorView(ChainRowsView):
    """Plans, purchases, cases and loans of ``LiquorCases`` (see the module docstring)."""

    name = "liquor"
    version = 1
    retired = ("view_liquor_logs",)  # the logs it kept itself before they were shared
    aggregates = AGGREGATES
    schema = (
        """CREATE TABLE IF NOT EXISTS view_liquor_plans (
            plan_id BIGINT PRIMARY KEY, producer TEXT NOT NULL, warehouse TEXT NOT NULL, facts_hash TEXT NOT NULL,
            seq BIGINT NOT NULL, data TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_liquor_plans_by_warehouse ON view_liquor_plans (warehouse)",
        """CREATE TABLE IF NOT EXISTS view_liquor_purchases (
            purchase_id BIGINT PRIMARY KEY, plan_id BIGINT NOT NULL, buyer TEXT NOT NULL, payer TEXT NOT NULL,
            seq BIGINT NOT NULL, data TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_liquor_purchases_by_plan ON view_liquor_purchases (plan_id)",
        """CREATE TABLE IF NOT EXISTS view_liquor_cases (
            token_id BIGINT PRIMARY KEY, plan_id BIGINT NOT NULL, purchase_id BIGINT NOT NULL, owner TEXT,
            state TEXT NOT NULL, warehouse TEXT, seq BIGINT NOT NULL, data TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_liquor_cases_by_owner ON view_liquor_cases (owner, state)",
        "CREATE INDEX IF NOT EXISTS view_liquor_cases_by_plan ON view_liquor_cases (plan_id, state)",
        "CREATE INDEX IF NOT EXISTS view_liquor_cases_by_warehouse ON view_liquor_cases (warehouse, state)",
        """CREATE TABLE IF NOT EXISTS view_liquor_loans (
            token_id BIGINT NOT NULL, n INTEGER NOT NULL, lender TEXT NOT NULL, holder TEXT NOT NULL,
            status TEXT NOT NULL, due_at BIGINT NOT NULL, seq BIGINT NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (token_id, n))""",
        "CREATE INDEX IF NOT EXISTS view_liquor_loans_by_lender ON view_liquor_loans (lender, status)",
        """CREATE TABLE IF NOT EXISTS view_liquor_warehouses (
            warehouse TEXT PRIMARY KEY, public_key TEXT, seq BIGINT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS view_liquor_listings (
            producer TEXT NOT NULL, facts_hash TEXT NOT NULL, seq BIGINT NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (producer, facts_hash))""",
    )
    tables = (
        "view_liquor_plans",
        "view_liquor_purchases",
        "view_liquor_cases",
        "view_liquor_loans",
        "view_liquor_warehouses",
        "view_liquor_listings",
    )
    handles = chain_events(AGGREGATES) + (LiquorListing.Registered,)

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        rows: dict[str, list] = {"plans": [], "purchases": [], "cases": [], "warehouses": []}
        gone: dict[str, list] = {"plans": [], "purchases": [], "cases": []}
        loans: list[tuple] = []
        cases: dict[int, tuple[dict, int]] = {}
        plans: dict[int, dict] = {}
        for kind, key, logs, seq in changed:
            if kind == LiquorPlan.kind:
                state = LiquorPlan.fold(logs)
                if not state["steps"]:
                    gone["plans"].append(int(key))
                    continue
                state["plan_id"] = int(key)
                plans[int(key)] = state
                rows["plans"].append(
                    (int(key), state["producer"], state["warehouse"], state["facts_hash"], seq, dumps(state))
                )
            elif kind == LiquorPurchase.kind:
                state = LiquorPurchase.fold(logs)
                if not state["steps"]:
                    gone["purchases"].append(int(key))
                    continue
                state["purchase_id"] = int(key)
                rows["purchases"].append(
                    (int(key), state["plan_id"], state["buyer"], state["payer"], seq, dumps(state))
                )
            elif kind == LiquorCase.kind:
                state = LiquorCase.fold(logs)
                if not state["steps"]:
                    gone["cases"].append(int(key))
                    continue
                state["token_id"] = int(key)
                cases[int(key)] = (state, seq)
            elif kind == WarehouseKey.kind:
                state = WarehouseKey.fold(logs)
                rows["warehouses"].append((key, state["public_key"], seq))
        warehouses = self._warehouses({s["plan_id"] for s, _ in cases.values()} - set(plans), plans)
        for token_id, (state, seq) in cases.items():
            warehouse = warehouses.get(state["plan_id"])
            rows["cases"].append(
                (
                    token_id,
                    state["plan_id"],
                    state["purchase_id"],
                    state["owner"],
                    state["state"],
                    warehouse,
                    seq,
                    dumps(state),
                )
            )
            for n, loan in enumerate(state["loans"]):
                loans.append(
                    (token_id, n, loan["lender"], loan["holder"], loan["status"], loan["due_at"], seq, dumps(loan))
                )
        listings = [
            (
                e.producer,
                e.facts_hash,
                seq,
                dumps(
                    {
                        "producer": e.producer,
                        "facts": e.facts,
                        "facts_hash": e.facts_hash,
                        "terms": e.terms,
                        "terms_hash": e.terms_hash,
                        "sale": e.sale,
                    }
                ),
            )
            for seq, e in batch.other
            if isinstance(e, LiquorListing.Registered)
        ]
        self._write(rows, gone, loans, list(cases), listings)

    def _warehouses(self, plan_ids: set[int], known: dict[int, dict]) -> dict[int, str]:
        found = {plan_id: state["warehouse"] for plan_id, state in known.items()}
        for chunk in chunks(sorted(plan_ids)):
            found.update(
                self.db.fetchall(
                    f"SELECT plan_id, warehouse FROM view_liquor_plans WHERE plan_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return found

    def _write(self, rows: dict, gone: dict, loans: list, loan_tokens: list[int], listings: list[tuple]) -> None:
        db = self.db
        # retractions first, then writes
        for table, column in (("plans", "plan_id"), ("purchases", "purchase_id"), ("cases", "token_id")):
            for chunk in chunks(gone[table]):
                db.execute(f"DELETE FROM view_liquor_{table} WHERE {column} IN ({','.join('?' * len(chunk))})", chunk)
        for chunk in chunks(gone["cases"] + loan_tokens):
            db.execute(f"DELETE FROM view_liquor_loans WHERE token_id IN ({','.join('?' * len(chunk))})", chunk)
        db.executemany(
            "INSERT INTO view_liquor_plans (plan_id, producer, warehouse, facts_hash, seq, data) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (plan_id) DO UPDATE SET producer = excluded.producer, "
            "warehouse = excluded.warehouse, facts_hash = excluded.facts_hash, seq = excluded.seq, "
            "data = excluded.data",
            rows["plans"],
        )
        db.executemany(
            "INSERT INTO view_liquor_purchases (purchase_id, plan_id, buyer, payer, seq, data) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (purchase_id) DO UPDATE SET plan_id = excluded.plan_id, "
            "buyer = excluded.buyer, payer = excluded.payer, seq = excluded.seq, data = excluded.data",
            rows["purchases"],
        )
        db.executemany(
            "INSERT INTO view_liquor_cases (token_id, plan_id, purchase_id, owner, state, warehouse, seq, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token_id) DO UPDATE SET plan_id = excluded.plan_id, "
            "purchase_id = excluded.purchase_id, owner = excluded.owner, state = excluded.state, "
            "warehouse = excluded.warehouse, seq = excluded.seq, data = excluded.data",
            rows["cases"],
        )
        db.executemany(
            "INSERT INTO view_liquor_warehouses (warehouse, public_key, seq) VALUES (?, ?, ?) "
            "ON CONFLICT (warehouse) DO UPDATE SET public_key = excluded.public_key, seq = excluded.seq",
            rows["warehouses"],
        )
        db.executemany(
            "INSERT INTO view_liquor_loans (token_id, n, lender, holder, status, due_at, seq, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            loans,
        )
        db.executemany(
            "INSERT INTO view_liquor_listings (producer, facts_hash, seq, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (producer, facts_hash) DO NOTHING",
            listings,
        )

    # -- queries

    @staticmethod
    def _rows(rows) -> list[dict]:
        return [dict(json.loads(data), seq=int(seq)) for seq, data in rows]

    def listing(self, producer: str, facts_hash: str) -> dict | None:
        row = self.db.fetchone(
            "SELECT data FROM view_liquor_listings WHERE producer = ? AND facts_hash = ?", (producer, facts_hash)
        )
        return None if row is None else json.loads(row[0])

    def plan(self, plan_id: int) -> dict | None:
        """A plan with its listing's facts and terms, its mismatches and its inventory."""
        row = self.db.fetchone("SELECT seq, data FROM view_liquor_plans WHERE plan_id = ?", (plan_id,))
        if row is None:
            return None
        plan = self._rows([row])[0]
        listing = self.listing(plan["producer"], plan["facts_hash"])
        plan["facts"] = listing["facts"] if listing else None
        plan["terms"] = listing["terms"] if listing else None
        plan["mismatches"] = plan_mismatches(plan, listing)
        plan["inventory"] = self.inventory(plan_id, plan)
        return plan

    def plans(self, warehouse: str | None = None, producer: str | None = None) -> list[dict]:
        sql, params = "SELECT plan_id FROM view_liquor_plans WHERE 1 = 1", []
        if warehouse:
            sql += " AND warehouse = ?"
            params.append(warehouse)
        if producer:
            sql += " AND producer = ?"
            params.append(producer)
        return [
            p
            for (plan_id,) in self.db.fetchall(sql + " ORDER BY plan_id", params)
            if (p := self.plan(int(plan_id))) is not None
        ]

    def inventory(self, plan_id: int, plan: dict) -> dict:
        purchases = [
            json.loads(d)
            for (d,) in self.db.fetchall("SELECT data FROM view_liquor_purchases WHERE plan_id = ?", (plan_id,))
        ]
        states = dict(
            self.db.fetchall(
                "SELECT state, count(*) FROM view_liquor_cases WHERE plan_id = ? GROUP BY state", (plan_id,)
            )
        )
        return inventory(plan, purchases, {k: int(v) for k, v in states.items()})

    def purchase(self, purchase_id: int) -> dict | None:
        row = self.db.fetchone("SELECT seq, data FROM view_liquor_purchases WHERE purchase_id = ?", (purchase_id,))
        if row is None:
            return None
        purchase = self._rows([row])[0]
        purchase["assigned"] = int(
            self.db.scalar("SELECT count(*) FROM view_liquor_cases WHERE purchase_id = ?", (purchase_id,))
        )
        purchase["unassigned"] = purchase["quantity"] - purchase["cancelled"] - purchase["assigned"]
        return purchase

    def purchases(self, plan_id: int | None = None, buyer: str | None = None) -> list[dict]:
        sql, params = "SELECT purchase_id FROM view_liquor_purchases WHERE 1 = 1", list[Any]()
        if plan_id is not None:
            sql += " AND plan_id = ?"
            params.append(plan_id)
        if buyer:
            sql += " AND (buyer = ? OR payer = ?)"
            params += [buyer, buyer]
        return [
            p
            for (i,) in self.db.fetchall(sql + " ORDER BY purchase_id", params)
            if (p := self.purchase(int(i))) is not None
        ]

    def case(self, token_id: int) -> dict | None:
        row = self.db.fetchone("SELECT seq, data, warehouse FROM view_liquor_cases WHERE token_id = ?", (token_id,))
        if row is None:
            return None
        return dict(json.loads(row[1]), seq=int(row[0]), warehouse=row[2])

    def holdings(self, owner: str) -> list[dict]:
        """The cases an account holds now (burned ones are gone)."""
        return [
            dict(json.loads(data), seq=int(seq), warehouse=warehouse)
            for seq, data, warehouse in self.db.fetchall(
                "SELECT seq, data, warehouse FROM view_liquor_cases WHERE owner = ? AND state <> 'delivered' "
                "ORDER BY token_id",
                (owner,),
            )
        ]

    def provenance(self, token_id: int) -> list[dict] | None:
        """Every step of a case from its plan to its burn, oldest first, with chain coordinates."""
        case = self.case(token_id)
        if case is None:
            return None
        plan = self.db.fetchone("SELECT data FROM view_liquor_plans WHERE plan_id = ?", (case["plan_id"],))
        purchase = self.db.fetchone(
            "SELECT data FROM view_liquor_purchases WHERE purchase_id = ?", (case["purchase_id"],)
        )
        steps = []
        for label, row in (("plan", plan), ("purchase", purchase)):
            if row is not None:
                state = json.loads(row[0])
                steps += [dict(step, of=label) for step in state["steps"]]
        steps += [dict(step, of="case") for step in case["steps"]]
        return sorted(steps, key=lambda s: (s["block_number"], s["log_index"]))

    def redemption_queue(self, warehouse: str) -> list[dict]:
        """Pickups the warehouse has to serve: requested or dispatched, with their ciphertexts."""
        out = []
        for seq, data in self.db.fetchall(
            "SELECT seq, data FROM view_liquor_cases WHERE warehouse = ? AND state IN (?, ?) ORDER BY seq",
            (warehouse, *REDEEMING),
        ):
            case = json.loads(data)
            out.append(
                {
                    "token_id": case["token_id"],
                    "plan_id": case["plan_id"],
                    "case_code": case["case_code"],
                    "state": case["state"],
                    "holder": case["pickup"]["holder"],
                    "ciphertext": case["pickup"]["ciphertext"],
                    "code_hash": case["pickup"]["code_hash"],
                    "requested": case["pickup"]["requested"],
                    "seq": int(seq),
                }
            )
        return out

    def lender_book(self, lender: str, now: int) -> list[dict]:
        """Every pledge to the lender, newest first, each with whether it is overdue at ``now``."""
        return [
            dict(json.loads(data), token_id=int(token_id), seq=int(seq), overdue=loan_overdue(json.loads(data), now))
            for token_id, seq, data in self.db.fetchall(
                "SELECT token_id, seq, data FROM view_liquor_loans WHERE lender = ? "
                "ORDER BY seq DESC, token_id, n DESC",
                (lender,),
            )
        ]

    def warehouse_key(self, warehouse: str) -> str | None:
        row = self.db.fetchone("SELECT public_key FROM view_liquor_warehouses WHERE warehouse = ?", (warehouse,))
        return None if row is None else row[0]
