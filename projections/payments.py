"""The payments view: every shipment of an order paid after verified delivery, as the engine
and the chain tell it, with what the keeper and the notices still owe it, and the purchase
habits recommendations are made from.

A shipment row joins the checkout's off-chain story (divided, mandate signed, declared,
verified or alarmed, cleared) with its mandate on ``OfflinePayment`` (the mandate's state and
the on-chain shipment carrying the row's :func:`~engine.delivery.order.shipment_ref`). The
mandates' canonical logs are kept at hand (:class:`~projections.chain_rows.ChainRowsView`),
so a reorganisation folds them again and the rows, the notices due and the habits go back
with it: the view always equals a rebuild.

Habits count buyers, not orders: a buyer holds an item while at least one collected shipment
of theirs has it; the first such shipment adds the buyer to the item's buyers and to every
pair with the items the buyer already holds, the last one leaving (a retraction) takes them
out again (see :mod:`engine.delivery.recommend` for the ranking).
"""

from __future__ import annotations

import json
from typing import Any

from engine.deliveries import backoff
from engine.delivery.mandate import PaymentMandate
from engine.delivery.notices import BuyerNotice, wanted_subjects
from engine.delivery.order import Alarm, CheckoutOrder, shipment_ref
from engine.delivery.recommend import MIN_TOGETHER, recommend

from .chain_rows import ChainBatch, ChainRowsView, chain_events
from .view import chunks, dumps

AGGREGATES = (PaymentMandate,)
CHECKOUT_EVENTS = (
    CheckoutOrder.Placed,
    CheckoutOrder.Divided,
    CheckoutOrder.MandateSigned,
    CheckoutOrder.Declared,
    CheckoutOrder.VerificationFailed,
    CheckoutOrder.ShipmentVerified,
    CheckoutOrder.ShipmentCleared,
)
NOTICE_EVENTS = (
    BuyerNotice.Created,
    BuyerNotice.Attempted,
    BuyerNotice.Delivered,
    BuyerNotice.Dead,
    BuyerNotice.Replayed,
)
ROW_COLUMNS = (
    "checkout_id",
    "store_id",
    "login",
    "mandate_id",
    "status",
    "chain_status",
    "mandate_status",
    "chain_alarmed",
    "open_alarms",
    "valid_until",
    "alarm_open",
    "notices_due",
    "default_due",
    "seq",
    "data",
)
RANK_MARGIN = 20  # candidates beyond the limit the database hands over for the exact ranking (near ties)


def item_key(store_id: str, sku: str) -> str:
    return f"{store_id}/{sku}"


class PaymentsView(ChainRowsView):
    """Shipments paid after verified delivery, the buyers' notices and purchase habits."""

    name = "payments"
    version = 1
    retired = ("view_payment_logs",)  # the logs it kept itself before they were shared
    aggregates = AGGREGATES
    schema = (
        """CREATE TABLE IF NOT EXISTS view_payment_checkouts (
            order_id TEXT PRIMARY KEY, checkout_id TEXT NOT NULL, login TEXT NOT NULL, wallet TEXT NOT NULL,
            lines TEXT NOT NULL, placed_at DOUBLE PRECISION, seq BIGINT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS view_payment_shipments (
            checkout_id TEXT NOT NULL, store_id TEXT NOT NULL, login TEXT NOT NULL, mandate_id TEXT,
            status TEXT NOT NULL, chain_status TEXT, mandate_status TEXT, chain_alarmed INTEGER NOT NULL,
            open_alarms INTEGER NOT NULL, valid_until BIGINT, alarm_open TEXT, notices_due INTEGER NOT NULL,
            default_due INTEGER NOT NULL, seq BIGINT NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (checkout_id, store_id))""",
        "CREATE INDEX IF NOT EXISTS view_payment_shipments_mandate ON view_payment_shipments (mandate_id)",
        "CREATE INDEX IF NOT EXISTS view_payment_shipments_login ON view_payment_shipments (login, seq)",
        "CREATE INDEX IF NOT EXISTS view_payment_shipments_store ON view_payment_shipments (store_id, seq)",
        "CREATE INDEX IF NOT EXISTS view_payment_shipments_todo ON view_payment_shipments (status, chain_status)",
        "CREATE INDEX IF NOT EXISTS view_payment_shipments_due ON view_payment_shipments (notices_due, default_due)",
        """CREATE TABLE IF NOT EXISTS view_payment_alarms (
            alarm_id TEXT PRIMARY KEY, checkout_id TEXT NOT NULL, store_id TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS view_payment_mandates (
            mandate_id TEXT PRIMARY KEY, status TEXT NOT NULL, seq BIGINT NOT NULL, data TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS view_buyer_notices (
            notice_id TEXT PRIMARY KEY, subject TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL,
            login TEXT NOT NULL, checkout_id TEXT NOT NULL, store_id TEXT NOT NULL, state TEXT NOT NULL,
            attempts INTEGER NOT NULL, last_error TEXT, next_at DOUBLE PRECISION NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, delivered_at DOUBLE PRECISION, text TEXT NOT NULL,
            seq BIGINT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_buyer_notices_state ON view_buyer_notices (state, next_at)",
        "CREATE INDEX IF NOT EXISTS view_buyer_notices_login ON view_buyer_notices (login, seq)",
        """CREATE TABLE IF NOT EXISTS view_habit_holdings (
            login TEXT NOT NULL, item TEXT NOT NULL, shipments INTEGER NOT NULL, units BIGINT NOT NULL,
            PRIMARY KEY (login, item))""",
        """CREATE TABLE IF NOT EXISTS view_habit_items (
            item TEXT PRIMARY KEY, store_id TEXT NOT NULL, buyers INTEGER NOT NULL, units BIGINT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_habit_items_best ON view_habit_items (store_id, buyers)",
        """CREATE TABLE IF NOT EXISTS view_habit_pairs (
            a TEXT NOT NULL, b TEXT NOT NULL, buyers INTEGER NOT NULL, PRIMARY KEY (a, b))""",
        # covering both ways: a buyer's items' partners are read from the indexes alone
        "CREATE INDEX IF NOT EXISTS view_habit_pairs_ab ON view_habit_pairs (a, b, buyers)",
        "CREATE INDEX IF NOT EXISTS view_habit_pairs_ba ON view_habit_pairs (b, a, buyers)",
        "CREATE INDEX IF NOT EXISTS view_habit_items_counts ON view_habit_items (item, buyers, store_id)",
        """CREATE TABLE IF NOT EXISTS view_habit_buyers (login TEXT PRIMARY KEY, items INTEGER NOT NULL)""",
    )
    tables = (
        "view_payment_checkouts",
        "view_payment_shipments",
        "view_payment_alarms",
        "view_payment_mandates",
        "view_buyer_notices",
        "view_habit_holdings",
        "view_habit_items",
        "view_habit_pairs",
        "view_habit_buyers",
    )
    handles = chain_events(AGGREGATES) + CHECKOUT_EVENTS + (Alarm.Raised, Alarm.Resolved) + NOTICE_EVENTS

    # -- writing

    def _rows(self, keys: list[tuple[str, str]], cache: dict) -> None:
        wanted = [k for k in keys if k not in cache]
        for key in wanted:
            row = self.db.fetchone(
                f"SELECT {', '.join(ROW_COLUMNS)} FROM view_payment_shipments WHERE checkout_id = ? AND store_id = ?",
                key,
            )
            if row is not None:
                found = dict(zip(ROW_COLUMNS, row))
                found["data"] = json.loads(found["data"])
                found["was"] = found["chain_status"]
                cache[key] = found

    def _off_chain(self, seq: int, event: Any, cache: dict) -> None:
        if isinstance(event, CheckoutOrder.Placed):
            self.db.execute(
                "INSERT INTO view_payment_checkouts (order_id, checkout_id, login, wallet, lines, placed_at, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING",
                (
                    str(event.originator_id),
                    event.checkout_id,
                    event.login,
                    event.wallet,
                    dumps(event.lines),
                    event.timestamp.timestamp(),
                    seq,
                ),
            )
            return
        if isinstance(event, NOTICE_EVENTS):
            self._notice(seq, event, cache)
            return
        if isinstance(event, (Alarm.Raised, Alarm.Resolved)):
            self._alarm(seq, event, cache)
            return
        checkout_id, login = self._checkout_of(event)
        if checkout_id is None:
            return
        if isinstance(event, CheckoutOrder.Divided):
            for store_id, shipment in event.shipments.items():
                cache[(checkout_id, store_id)] = {
                    "checkout_id": checkout_id,
                    "store_id": store_id,
                    "login": login,
                    "mandate_id": None,
                    "status": "awaiting_mandate",
                    "chain_status": None,
                    "was": None,
                    "mandate_status": None,
                    "chain_alarmed": 0,
                    "open_alarms": 0,
                    "valid_until": None,
                    "alarm_open": None,
                    "seq": seq,
                    "data": {
                        "lines": shipment["lines"],
                        "amount": shipment["amount"],
                        "goods": shipment["goods"],
                        "freight": shipment["freight"],
                        "courier_id": shipment["courier_id"],
                        "warehouse_id": shipment["warehouse_id"],
                        "ref": shipment_ref(checkout_id, store_id),
                        "alarms": [],
                        "noticed": [],
                    },
                }
            return
        store_id = event.store_id
        if store_id is None:  # the whole order refused at checkout: no shipment rows
            return
        key = (checkout_id, store_id)
        self._rows([key], cache)
        row = cache.get(key)
        if row is None:
            return
        row["seq"] = seq
        if isinstance(event, CheckoutOrder.MandateSigned):
            row.update(status="awaiting_shipment", mandate_id=event.mandate_id)
            row["valid_until"] = int(event.mandate["validUntil"])
            row["data"].update(mandate=event.mandate, signature=event.signature)
        elif isinstance(event, CheckoutOrder.Declared):
            row["data"]["declared"] = {
                "courier_id": event.courier_id,
                "waybill": event.waybill,
                "category": event.category,
                "items": event.items,
                "at": event.timestamp.timestamp(),
            }
        elif isinstance(event, CheckoutOrder.VerificationFailed):
            row["status"] = "alarmed"
        elif isinstance(event, CheckoutOrder.ShipmentVerified):
            row["status"] = "verified"
        elif isinstance(event, CheckoutOrder.ShipmentCleared):
            row["status"] = "verified" if event.proceed else "cancelled"

    def _checkout_of(self, event: Any) -> tuple[str | None, str | None]:
        found = self.db.fetchone(
            "SELECT checkout_id, login FROM view_payment_checkouts WHERE order_id = ?", (str(event.originator_id),)
        )
        return (found[0], found[1]) if found else (None, None)

    def _notice(self, seq: int, event: Any, cache: dict) -> None:
        notice_id = str(event.originator_id)
        if isinstance(event, BuyerNotice.Created):
            self.db.execute(
                "INSERT INTO view_buyer_notices (notice_id, subject, channel, kind, login, checkout_id, store_id, "
                "state, attempts, next_at, created_at, text, seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?) "
                "ON CONFLICT (notice_id) DO NOTHING",
                (
                    notice_id,
                    event.subject,
                    event.channel,
                    event.kind,
                    event.login,
                    event.checkout_id,
                    event.store_id,
                    event.created_at,
                    event.created_at,
                    event.body.get("text", ""),
                    seq,
                ),
            )
            key = (event.checkout_id, event.store_id)
            self._rows([key], cache)
            row = cache.get(key)
            if row is not None and event.subject not in row["data"]["noticed"]:
                row["data"]["noticed"].append(event.subject)
            return
        if isinstance(event, BuyerNotice.Attempted):
            found = self.db.fetchone("SELECT attempts FROM view_buyer_notices WHERE notice_id = ?", (notice_id,))
            attempts = (int(found[0]) if found else 0) + 1
            self.db.execute(
                "UPDATE view_buyer_notices SET state = 'retrying', attempts = ?, last_error = ?, "
                "next_at = ?, seq = ? WHERE notice_id = ?",
                (attempts, event.error, event.at + backoff(attempts), seq, notice_id),
            )
        elif isinstance(event, BuyerNotice.Delivered):
            self.db.execute(
                "UPDATE view_buyer_notices SET state = 'delivered', attempts = attempts + 1, last_error = NULL, "
                "delivered_at = ?, seq = ? WHERE notice_id = ?",
                (event.at, seq, notice_id),
            )
        elif isinstance(event, BuyerNotice.Dead):
            self.db.execute(
                "UPDATE view_buyer_notices SET state = 'dead', seq = ? WHERE notice_id = ?", (seq, notice_id)
            )
        else:
            self.db.execute(
                "UPDATE view_buyer_notices SET state = 'pending', attempts = 0, next_at = ?, seq = ? WHERE notice_id = ?",
                (event.at, seq, notice_id),
            )

    def _alarm(self, seq: int, event: Any, cache: dict) -> None:
        alarm_id = str(event.originator_id)
        if isinstance(event, Alarm.Raised):
            key = (event.checkout_id, event.store_id)
            self._rows([key], cache)
            row = cache.get(key)
            if row is None:
                return
            reason = "; ".join(e["reason"].replace("_", " ") for e in event.errors)
            row["data"]["alarms"].append({"alarm_id": alarm_id, "kind": event.kind, "reason": reason, "open": True})
            if event.kind == "declaration":
                row["alarm_open"] = alarm_id
            row["seq"] = seq
            self.db.execute(
                "INSERT INTO view_payment_alarms (alarm_id, checkout_id, store_id) VALUES (?, ?, ?) "
                "ON CONFLICT (alarm_id) DO NOTHING",
                (alarm_id, event.checkout_id, event.store_id),
            )
            return
        found = self.db.fetchone(
            "SELECT checkout_id, store_id FROM view_payment_alarms WHERE alarm_id = ?", (alarm_id,)
        )
        if found is None:
            return
        key = (found[0], found[1])
        self._rows([key], cache)
        row = cache[key]
        for alarm in row["data"]["alarms"]:
            if alarm["alarm_id"] == alarm_id:
                alarm["open"] = False
        if row["alarm_open"] == alarm_id:
            row["alarm_open"] = None
        row["seq"] = seq

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        cache: dict[tuple[str, str], dict] = {}
        for seq, event in batch.other:
            self._off_chain(seq, event, cache)
        mandates = []
        for _, key, logs, seq in changed:
            state = PaymentMandate.fold(logs)
            mandates.append((key, state["status"], seq, dumps(state)))
            keys = [
                (c, s)
                for c, s in self.db.fetchall(
                    "SELECT checkout_id, store_id FROM view_payment_shipments WHERE mandate_id = ?", (key,)
                )
            ]
            keys += [k for k, r in cache.items() if r["mandate_id"] == key and k not in keys]
            self._rows(keys, cache)
            for k in keys:
                row = cache[k]
                ref = row["data"]["ref"]
                shipment = next((sh for sh in state["shipments"].values() if sh["ref"] == ref), None)
                row["data"]["shipment"] = shipment
                row["data"]["mandate_steps"] = state["steps"]
                row.update(
                    chain_status=None if shipment is None else shipment["status"],
                    mandate_status=state["status"] if logs else None,  # None: nothing on chain (any more)
                    chain_alarmed=int(bool(state["alarmed"])),
                    open_alarms=state["open_alarms"],
                    seq=max(row["seq"], seq),
                )
                row["data"]["chain_alarm_reason"] = state.get("alarm_reason")
        self.db.executemany(
            "INSERT INTO view_payment_mandates (mandate_id, status, seq, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (mandate_id) DO UPDATE SET status = excluded.status, seq = excluded.seq, data = excluded.data",
            mandates,
        )
        for row in cache.values():
            self._habits(row)
            noticed = set(row["data"]["noticed"])
            row["notices_due"] = int(any(s not in noticed for s in wanted_subjects(row)))
            defaulted = row["chain_status"] == "defaulted"
            row["default_due"] = int(
                defaulted and not any(a["kind"] == "collection_defaulted" for a in row["data"]["alarms"])
            )
        self.db.executemany(
            f"INSERT INTO view_payment_shipments ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' * len(ROW_COLUMNS))}) "
            "ON CONFLICT (checkout_id, store_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in ROW_COLUMNS[2:]),
            [tuple(dumps(r[c]) if c == "data" else r[c] for c in ROW_COLUMNS) for r in cache.values()],
        )

    # -- purchase habits

    def _habits(self, row: dict) -> None:
        was, now = row.get("was") == "collected", row["chain_status"] == "collected"
        row["was"] = row["chain_status"]
        if was == now:
            return
        step = 1 if now else -1
        for line in row["data"]["lines"]:
            self.hold(row["login"], line["store_id"], line["sku"], line["quantity"], step)

    def hold(self, login: str, store_id: str, sku: str, units: int, step: int) -> None:
        """One collected shipment more (``step`` 1) or less (-1) holding ``units`` of an item for a buyer."""
        item = item_key(store_id, sku)
        found = self.db.fetchone(
            "SELECT shipments FROM view_habit_holdings WHERE login = ? AND item = ?", (login, item)
        )
        before = int(found[0]) if found else 0
        after = before + step
        if after > 0:
            self.db.execute(
                "INSERT INTO view_habit_holdings (login, item, shipments, units) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (login, item) DO UPDATE SET shipments = excluded.shipments, "
                "units = view_habit_holdings.units + ?",
                (login, item, after, units * step, units * step),
            )
        else:
            self.db.execute("DELETE FROM view_habit_holdings WHERE login = ? AND item = ?", (login, item))
        self.db.execute(
            "INSERT INTO view_habit_items (item, store_id, buyers, units) VALUES (?, ?, 0, 0) "
            "ON CONFLICT (item) DO NOTHING",
            (item, store_id),
        )
        self.db.execute("UPDATE view_habit_items SET units = units + ? WHERE item = ?", (units * step, item))
        if (before == 0) == (after == 0):  # still held, or still not: the buyer counts are as they were
            return
        joined = 1 if after > 0 else -1
        self.db.execute("UPDATE view_habit_items SET buyers = buyers + ? WHERE item = ?", (joined, item))
        self.db.execute("DELETE FROM view_habit_items WHERE item = ? AND buyers <= 0", (item,))
        others = [
            i
            for (i,) in self.db.fetchall("SELECT item FROM view_habit_holdings WHERE login = ?", (login,))
            if i != item
        ]
        pairs = [(min(item, o), max(item, o)) for o in others]
        if joined > 0:
            self.db.executemany(
                "INSERT INTO view_habit_pairs (a, b, buyers) VALUES (?, ?, 1) "
                "ON CONFLICT (a, b) DO UPDATE SET buyers = view_habit_pairs.buyers + 1",
                pairs,
            )
        else:
            self.db.executemany("UPDATE view_habit_pairs SET buyers = buyers - 1 WHERE a = ? AND b = ?", pairs)
            self.db.executemany("DELETE FROM view_habit_pairs WHERE a = ? AND b = ? AND buyers <= 0", pairs)
        self.db.execute(
            "INSERT INTO view_habit_buyers (login, items) VALUES (?, 0) ON CONFLICT (login) DO NOTHING", (login,)
        )
        self.db.execute("UPDATE view_habit_buyers SET items = items + ? WHERE login = ?", (joined, login))
        self.db.execute("DELETE FROM view_habit_buyers WHERE login = ? AND items <= 0", (login,))

    def recommendations(self, login: str, store_id: str | None = None, limit: int = 5) -> list[dict]:
        """Items for a buyer from the purchase habits of all (see :mod:`engine.delivery.recommend`),
        of one store's items when ``store_id`` is given.

        The database ranks the candidates by their best lift (in floating point) and hands over
        the first few, with a margin for near ties; the domain ranks those exactly."""
        has = sorted(i for (i,) in self.db.fetchall("SELECT item FROM view_habit_holdings WHERE login = ?", (login,)))
        together: dict[tuple[str, str], int] = {}
        if has:
            marks = ",".join("?" * len(has))
            shop = " AND o.store_id = ?" if store_id is not None else ""
            shop_args = (store_id,) if store_id is not None else ()
            side = (
                "SELECT p.{other} AS other, p.buyers * 1.0 / (m.buyers * o.buyers) AS score FROM view_habit_pairs p "
                "JOIN view_habit_items m ON m.item = p.{mine} JOIN view_habit_items o ON o.item = p.{other} "
                f"WHERE p.{{mine}} IN ({marks}) AND p.{{other}} NOT IN ({marks}) AND p.buyers >= ?{shop}"
            )
            candidates = [
                c
                for (c,) in self.db.fetchall(
                    f"SELECT other FROM ({side.format(mine='a', other='b')} UNION ALL "
                    f"{side.format(mine='b', other='a')}) AS s GROUP BY other ORDER BY MAX(score) DESC LIMIT ?",
                    (*has, *has, MIN_TOGETHER, *shop_args) * 2 + (limit + RANK_MARGIN,),
                )
            ]
            if candidates:
                picked = ",".join("?" * len(candidates))
                for a, b, n in self.db.fetchall(
                    f"SELECT a, b, buyers FROM view_habit_pairs WHERE a IN ({marks}) AND b IN ({picked}) UNION ALL "
                    f"SELECT a, b, buyers FROM view_habit_pairs WHERE b IN ({marks}) AND a IN ({picked})",
                    (*has, *candidates, *has, *candidates),
                ):
                    together[(a, b)] = int(n)
        involved = sorted({i for pair in together for i in pair})
        bought: dict[str, int] = {}
        for chunk in chunks(involved):
            for item, n in self.db.fetchall(
                f"SELECT item, buyers FROM view_habit_items WHERE item IN ({','.join('?' * len(chunk))})", chunk
            ):
                bought[item] = int(n)
        best = self.db.fetchall(
            "SELECT item, buyers FROM view_habit_items WHERE buyers > 0"
            + (" AND store_id = ?" if store_id is not None else "")
            + " ORDER BY buyers DESC, item LIMIT ?",
            (*([store_id] if store_id is not None else []), 2 * limit + len(has)),
        )
        for item, n in best:
            bought.setdefault(item, int(n))
        buyers_row = self.db.fetchone("SELECT COUNT(*) FROM view_habit_buyers")
        buyers = int(buyers_row[0]) if buyers_row else 0
        out = recommend(set(has), bought, together, buyers, limit=limit)
        for rec in out:
            rec["store_id"], rec["sku"] = rec["item"].split("/", 1)
        return out

    def holdings(self, login: str) -> dict[str, int]:
        return {
            i: int(u)
            for i, u in self.db.fetchall("SELECT item, units FROM view_habit_holdings WHERE login = ?", (login,))
        }

    # -- reading

    def _read_rows(self, where: str, params: tuple) -> list[dict]:
        out = []
        for r in self.db.fetchall(
            f"SELECT {', '.join(ROW_COLUMNS)} FROM view_payment_shipments WHERE {where} ORDER BY seq", params
        ):
            row = dict(zip(ROW_COLUMNS, r))
            row["data"] = json.loads(row["data"])
            out.append(row)
        return out

    def shipment(self, checkout_id: str, store_id: str) -> dict | None:
        rows = self._read_rows("checkout_id = ? AND store_id = ?", (checkout_id, store_id))
        return rows[0] if rows else None

    def of_checkout(self, checkout_id: str) -> list[dict]:
        return self._read_rows("checkout_id = ?", (checkout_id,))

    def of_login(self, login: str) -> list[dict]:
        return self._read_rows("login = ?", (login,))

    def of_store(self, store_id: str, limit: int = 100) -> list[dict]:
        """The store's shipments paid after delivery, newest change first."""
        return self._read_rows("store_id = ? AND mandate_id IS NOT NULL", (store_id,))[::-1][:limit]

    def to_verify(self, now: int) -> list[dict]:
        """Shipments the engine verified (or the operator let proceed) not yet verified on chain,
        whose mandate holds and has no open alarm on chain."""
        return self._read_rows(
            "status = 'verified' AND chain_status IS NULL AND chain_alarmed = 0 AND valid_until > ? "
            "AND (mandate_status IS NULL OR mandate_status IN ('unseen', 'active'))",
            (now,),
        )

    def to_raise(self) -> list[dict]:
        """Shipments with an open declaration alarm that is not on chain yet."""
        return self._read_rows(
            "alarm_open IS NOT NULL AND chain_alarmed = 0 AND chain_status IS NULL "
            "AND (mandate_status IS NULL OR mandate_status IN ('unseen', 'active'))",
            (),
        )

    def to_collect(self, now: int) -> list[dict]:
        """Shipments verified on chain and collectable now: no open alarm, the mandate holds."""
        return self._read_rows(
            "chain_status = 'verified' AND open_alarms = 0 AND mandate_status = 'active' AND valid_until >= ?", (now,)
        )

    def notices_due(self) -> list[dict]:
        return self._read_rows("notices_due = 1", ())

    def defaults_due(self) -> list[dict]:
        return self._read_rows("default_due = 1", ())

    def notices_to_send(self, now: float, limit: int = 100) -> list[str]:
        return [
            i
            for (i,) in self.db.fetchall(
                "SELECT notice_id FROM view_buyer_notices WHERE state IN ('pending', 'retrying') AND next_at <= ? "
                "ORDER BY next_at LIMIT ?",
                (now, limit),
            )
        ]

    def notices(self, login: str | None = None, state: str | None = None, limit: int = 200) -> list[dict]:
        where, params = [], []
        if login is not None:
            where.append("login = ?")
            params.append(login)
        if state is not None:
            where.append("state = ?")
            params.append(state)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        columns = (
            "notice_id",
            "subject",
            "channel",
            "kind",
            "login",
            "checkout_id",
            "store_id",
            "state",
            "attempts",
            "last_error",
            "created_at",
            "delivered_at",
            "text",
        )
        return [
            dict(zip(columns, r))
            for r in self.db.fetchall(
                f"SELECT {', '.join(columns)} FROM view_buyer_notices {clause} ORDER BY seq DESC LIMIT ?",
                (*params, limit),
            )
        ]
