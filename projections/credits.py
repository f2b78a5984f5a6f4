"""What every escrow contract owes each recipient whose token refused a payout (credits),
and what was claimed: one row per credit and per claim, in every contract.

Credits come from the credit accounts (``Credited`` in the liquor and cross-border
contracts), from the settlement's ``PayoutCredited`` and from the group-buy refunds and
collections whose log says ``credited`` (their token is the campaign's); claims from the
accounts' ``CreditClaimed``. A retracted log takes its row with it. :func:`engine.credits.ledger`
says what is still owed.
"""

from __future__ import annotations

from typing import Any

from engine.chain.source import log_key, log_of
from engine.credits import CreditAccount, ledger
from engine.group_buy.campaign import Campaign
from engine.registry import SOURCES
from engine.settlement.escrow import Settlement

from .chain_rows import ChainBatch, ChainRowsView, chain_events
from .view import dumps

ACCOUNTS = tuple(s.aggregate for s in SOURCES if issubclass(s.aggregate, CreditAccount))
CONTRACT_OF = {s.aggregate.kind: s.contract for s in SOURCES if issubclass(s.aggregate, CreditAccount)}
SETTLEMENT_CONTRACT = next(s.contract for s in SOURCES if s.aggregate is Settlement)
GROUP_BUY_CONTRACT = next(s.contract for s in SOURCES if s.aggregate is Campaign)
ENTRY_COLUMNS = (
    "block_hash, log_index, account, contract, token, recipient, kind, amount, to_address, source, block_number, "
    "tx_hash"
)


class CreditsView(ChainRowsView):
    name = "credits"
    version = 1
    retired = ("view_credit_account_logs",)  # the logs it kept itself before they were shared
    aggregates = ACCOUNTS
    schema = (
        """CREATE TABLE IF NOT EXISTS view_credit_entries (
            block_hash TEXT NOT NULL, log_index INTEGER NOT NULL, account TEXT, contract TEXT NOT NULL,
            token TEXT NOT NULL, recipient TEXT NOT NULL, kind TEXT NOT NULL, amount TEXT NOT NULL,
            to_address TEXT, source TEXT, block_number BIGINT NOT NULL, tx_hash TEXT NOT NULL,
            PRIMARY KEY (block_hash, log_index))""",
        "CREATE INDEX IF NOT EXISTS view_credit_entries_by_recipient ON view_credit_entries (recipient)",
        # A campaign's token, for its credited refunds and collections; `logs` holds its canonical
        # opening (none once the opening left the chain, until a fork opens it again).
        """CREATE TABLE IF NOT EXISTS view_credit_campaigns (
            aggregate_id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, token TEXT NOT NULL, logs TEXT NOT NULL)""",
    )
    tables = ("view_credit_entries", "view_credit_campaigns")
    handles = chain_events(ACCOUNTS) + (
        Settlement.LogRecorded,
        Settlement.Retracted,
        Campaign.Discovered,
        Campaign.LogRecorded,
        Campaign.Retracted,
    )

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        for kind, recipient, logs, _seq in changed:
            account = f"{kind}:{recipient}"
            self.db.execute("DELETE FROM view_credit_entries WHERE account = ?", (account,))
            state = CreditAccount.fold(logs)
            rows = [
                (
                    c["block_hash"],
                    c["log_index"],
                    account,
                    CONTRACT_OF[kind],
                    c["token"],
                    recipient,
                    "credited",
                    str(c["amount"]),
                    None,
                    None,
                    c["block_number"],
                    c["tx_hash"],
                )
                for c in state["credits"]
            ] + [
                (
                    c["block_hash"],
                    c["log_index"],
                    account,
                    CONTRACT_OF[kind],
                    c["token"],
                    recipient,
                    "claimed",
                    str(c["amount"]),
                    c["to"],
                    None,
                    c["block_number"],
                    c["tx_hash"],
                )
                for c in state["claims"]
            ]
            self._insert(rows)
        for _seq, event in batch.other:
            self._other(event)

    def _insert(self, rows: list[tuple]) -> None:
        if rows:
            self.db.executemany(
                f"INSERT INTO view_credit_entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * 12)}) "
                "ON CONFLICT (block_hash, log_index) DO NOTHING",
                rows,
            )

    def _other(self, event: Any) -> None:
        if isinstance(event, (Settlement.Retracted, Campaign.Retracted)):
            gone = log_key(event.coords)
            self.db.execute("DELETE FROM view_credit_entries WHERE block_hash = ? AND log_index = ?", gone)
            if isinstance(event, Campaign.Retracted):
                self.db.execute(
                    "UPDATE view_credit_campaigns SET logs = ? WHERE aggregate_id = ? AND logs = ?",
                    ("[]", str(event.originator_id), dumps([list(gone)])),
                )
            return
        log = log_of(event)
        if log is None:
            return
        args, coords = log["args"], log["coords"]
        at = (coords["block_hash"], coords["log_index"])
        tail = (coords["block_number"], coords["tx_hash"])
        if isinstance(event, Campaign.Discovered) and log["event"] == "CampaignOpened":
            self.db.execute(
                "INSERT INTO view_credit_campaigns (aggregate_id, campaign_id, token, logs) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (aggregate_id) DO UPDATE SET token = excluded.token, logs = excluded.logs",
                (str(event.originator_id), event.key, args["token"], dumps([list(at)])),
            )
        elif log["event"] == "CampaignOpened":  # opened again on another fork: a recorded log
            self.db.execute(
                "UPDATE view_credit_campaigns SET token = ?, logs = ? WHERE aggregate_id = ?",
                (args["token"], dumps([list(at)]), str(event.originator_id)),
            )
        elif isinstance(event, Settlement.LogRecorded):
            if log["event"] == "PayoutCredited":
                self._insert(
                    [
                        (
                            *at,
                            None,
                            SETTLEMENT_CONTRACT,
                            args["token"],
                            args["recipient"],
                            "credited",
                            str(args["amount"]),
                            None,
                            None,
                            *tail,
                        )
                    ]
                )
        elif log["event"] in ("Refunded", "DepositsCollected") and args.get("credited"):
            row = self.db.fetchone(
                "SELECT campaign_id, token FROM view_credit_campaigns WHERE aggregate_id = ? AND logs <> ?",
                (str(event.originator_id), "[]"),
            )
            if row is not None:
                recipient = args["backer"] if log["event"] == "Refunded" else args["enterprise"]
                self._insert(
                    [
                        (
                            *at,
                            None,
                            GROUP_BUY_CONTRACT,
                            row[1],
                            recipient,
                            "credited",
                            str(args["amount"]),
                            None,
                            f"campaign {row[0]}",
                            *tail,
                        )
                    ]
                )

    # -- reads

    def credits_of(self, recipient: str) -> list[dict]:
        """What each contract credited ``recipient`` and what it claimed, per contract and token:
        the totals and what is still owed (:func:`engine.credits.ledger`)."""
        groups: dict[tuple[str, str], list[dict]] = {}
        for row in self.db.fetchall(
            f"SELECT {ENTRY_COLUMNS} FROM view_credit_entries WHERE recipient = ?", (recipient.lower(),)
        ):
            (block_hash, log_index, _account, contract, token, _recipient, kind, amount, to, source, block, tx_hash) = (
                row
            )
            entry = {
                "kind": kind,
                "amount": int(amount),
                "block_number": int(block),
                "log_index": int(log_index),
                "block_hash": block_hash,
                "tx_hash": tx_hash,
            }
            if to:
                entry["to"] = to
            if source:
                entry["source"] = source
            groups.setdefault((contract, token), []).append(entry)
        return [
            dict(contract=contract, token=token, **ledger(entries))
            for (contract, token), entries in sorted(groups.items())
        ]
