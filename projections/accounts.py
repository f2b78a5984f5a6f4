"""The accounts view: one row per account with what the operator's review needs to list it.

Each row is the account as it stood at the last of its events that change the profile
(registration, name, phone, addresses, wallet, identity prepared, locked, closed): the
aggregate is read at that version, and the domain says what the attestation still lacks
(:func:`engine.accounts.profile.missing_for`) and which record hash is current. Sign-ins,
codes and sessions leave the row alone. Whether an attestation holds for that hash is the
identity view's to say (it changes with the chain, not with the account).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from engine.accounts.account import Account
from engine.accounts.profile import missing_for

from .view import View, dumps

COLUMNS = (
    "login",
    "role",
    "store_id",
    "name",
    "company",
    "phone_verified",
    "wallet",
    "missing",
    "identity_hash",
    "locked",
    "closed",
)
CHANGES = (
    Account.Registered,
    Account.ProfileChanged,
    Account.PhoneSet,
    Account.PhoneVerified,
    Account.AddressSaved,
    Account.AddressRemoved,
    Account.WalletBound,
    Account.IdentityPrepared,
    Account.Locked,
    Account.Unlocked,
    Account.Closed,
)


class AccountsView(View):
    """Accounts by what their identity review needs (see the module docstring)."""

    name = "accounts"
    version = 1
    schema = (
        """CREATE TABLE IF NOT EXISTS view_accounts (
            login TEXT PRIMARY KEY, role TEXT NOT NULL, store_id TEXT, name TEXT, company TEXT,
            phone_verified BOOLEAN NOT NULL, wallet TEXT, missing TEXT NOT NULL, identity_hash TEXT,
            locked BOOLEAN NOT NULL, closed BOOLEAN NOT NULL, ready BOOLEAN NOT NULL, seq BIGINT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_accounts_ready ON view_accounts (ready, seq)",
        "CREATE INDEX IF NOT EXISTS view_accounts_seq ON view_accounts (seq)",
    )
    tables = ("view_accounts",)
    handles = CHANGES

    def begin(self) -> dict[UUID, tuple[int, int]]:
        return {}  # account id -> (its version, the position) of its last change in the batch

    def apply(self, batch: dict[UUID, tuple[int, int]], event: Any, seq: int) -> None:
        batch[event.originator_id] = (event.originator_version, seq)

    def finish(self, batch: dict[UUID, tuple[int, int]]) -> None:
        for account_id, (version, seq) in batch.items():
            account: Account = self.app.repository.get(account_id, version=version)
            missing = missing_for(account.profile(), "attestation")
            self.db.execute(
                "INSERT INTO view_accounts (login, role, store_id, name, company, phone_verified, wallet, missing, "
                "identity_hash, locked, closed, ready, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (login) DO UPDATE SET name = excluded.name, company = excluded.company, "
                "phone_verified = excluded.phone_verified, wallet = excluded.wallet, missing = excluded.missing, "
                "identity_hash = excluded.identity_hash, locked = excluded.locked, closed = excluded.closed, "
                "ready = excluded.ready, seq = excluded.seq",
                (
                    account.login,
                    account.role,
                    account.store_id,
                    account.name,
                    account.company,
                    account.phone_verified,
                    account.wallet,
                    dumps(missing),
                    account.identity_hash,
                    account.locked_reason is not None,
                    account.closed,
                    not missing and not account.closed,
                    seq,
                ),
            )

    # -- queries

    def accounts(self, ready: bool | None = None, before: int | None = None, limit: int = 100) -> list[dict]:
        """Accounts, the latest changed first: only those whose profile is complete for an
        attestation (and not closed), or only the others, or all; ``before``: a position to page on."""
        where, params = [], list[object]()
        if ready is not None:
            where.append("ready = ?")
            params.append(ready)
        if before is not None:
            where.append("seq < ?")
            params.append(before)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.fetchall(
            f"SELECT seq, {', '.join(COLUMNS)} FROM view_accounts {clause} ORDER BY seq DESC LIMIT ?",
            (*params, limit),
        )
        return [self._row(row) for row in rows]

    @staticmethod
    def _row(row) -> dict:
        account = dict(zip(COLUMNS, row[1:]))
        account["seq"] = int(row[0])
        account["missing"] = json.loads(account["missing"])
        for flag in ("phone_verified", "locked", "closed"):
            account[flag] = bool(account[flag])
        return account
