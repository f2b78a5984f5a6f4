"""The accounts' front desk: one-time codes sent by SMS, sign-ins with both factors, and the
sessions they open.

A session is a random token shown once; only its SHA-256 is kept, in the ``account_sessions``
table of the view database (every API worker shares it), and the account records that the
session opened and when it closed (``SessionOpened`` / ``SessionClosed``, by a session id
that is not the token). A **bearer** session is short-lived (``ORDERCHAIN_ACCOUNT_SESSION_SECONDS``,
15 minutes), for API clients; a **cookie** session is for the browser
(``ORDERCHAIN_BROWSER_SESSION_SECONDS``, 8 hours), sent as an HttpOnly, SameSite=Strict cookie.
Signing out, locking or closing the account ends its sessions.

Codes go out through the gateway named by ``ORDERCHAIN_SMS_URL`` (signed POSTs, see
:mod:`engine.accounts.sms`) or, with none, into the local outbox ``var/sms-outbox.jsonl``.
A message the gateway never took is kept as a dead letter (with the phone masked, never the
code); the person asks for a new code.
"""

from __future__ import annotations

import logging
import secrets
import time

from engine.accounts.account import Account
from engine.accounts.factors import SignInRefused
from engine.accounts.profile import mask_phone
from engine.accounts.sms import RETRIES, HttpGateway, Outbox, Sent, SmsMessage
from engine.application import OrderEngine
from engine.config import ConfigError, Settings
from engine.db import Database, schema_lock
from engine.ids import token_hash

log = logging.getLogger("orderchain.accounts")
TOKEN_PREFIX = "ocacct_"
KINDS = ("bearer", "cookie")
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS account_sessions (
        token_hash TEXT PRIMARY KEY, session_id TEXT NOT NULL, login TEXT NOT NULL, role TEXT NOT NULL,
        store_id TEXT, kind TEXT NOT NULL, factor TEXT NOT NULL, issued_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL, closed_at DOUBLE PRECISION)""",
    "CREATE INDEX IF NOT EXISTS account_sessions_login ON account_sessions (login)",
    """CREATE TABLE IF NOT EXISTS sms_dead_letters (
        id TEXT PRIMARY KEY, to_masked TEXT NOT NULL, purpose TEXT NOT NULL, attempts INTEGER NOT NULL,
        error TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)""",
)
TEXTS = {
    "sign_in": "orderchain: your sign-in code is {code}. It expires in 5 minutes. Nobody from orderchain asks for it.",
    "verify_phone": "orderchain: {code} verifies this phone for your account. It expires in 5 minutes.",
}


def sender(settings: Settings, retries: int = RETRIES) -> HttpGateway | Outbox:
    """The SMS gateway the settings name, else the local outbox."""
    if settings.sms_url:
        try:
            return HttpGateway(settings.sms_url, settings.sms_secret or "", retries=retries)
        except Exception as exc:  # the secret is not a Standard Webhooks secret
            raise ConfigError(f"ORDERCHAIN_SMS_SECRET is not a signing secret (whsec_<base64>): {exc}") from None
    return Outbox(outbox_path(settings))


def outbox_path(settings: Settings) -> str:
    return f"{settings.var_dir}/sms-outbox.jsonl"


class AccountDesk:
    """Codes, sign-ins and sessions for one API (see the module docstring)."""

    def __init__(self, app: OrderEngine, db: Database, settings: Settings, sms: HttpGateway | Outbox | None = None):
        self.app = app
        self.db = db
        self.sms = sms if sms is not None else sender(settings)
        self.lifetimes = {"bearer": settings.account_session_seconds, "cookie": settings.browser_session_seconds}
        with schema_lock(db.target):
            for statement in SCHEMA:
                db.execute(statement)

    # -- codes

    def send_sign_in_code(self, login: str, now: float | None = None) -> None:
        """Sends a sign-in code if the account can receive one; nothing tells whether it could."""
        issued = self.app.sign_in_code(login, time.time() if now is None else now)
        if issued is not None:
            self._send("sign_in", *issued)

    def send_phone_code(self, login: str, now: float | None = None) -> str:
        """Sends a code to the account's phone to verify it; the masked phone it went to."""
        phone, code, message_id = self.app.phone_code(login, time.time() if now is None else now)
        self._send("verify_phone", phone, code, message_id)
        return mask_phone(phone)

    def _send(self, purpose: str, phone: str, code: str, message_id: str) -> Sent:
        sent = self.sms.send(SmsMessage(message_id, phone, TEXTS[purpose].format(code=code)))
        if not sent.ok:
            log.warning("SMS %s not sent after %d attempt(s): %s", message_id, sent.attempts, sent.error)
            self.db.execute(
                "INSERT INTO sms_dead_letters (id, to_masked, purpose, attempts, error, at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (message_id, mask_phone(phone), purpose, sent.attempts, sent.error or "", time.time()),
            )
        return sent

    def dead_letters(self) -> list[dict]:
        rows = self.db.fetchall("SELECT id, to_masked, purpose, attempts, error, at FROM sms_dead_letters ORDER BY at")
        return [dict(zip(("id", "to", "purpose", "attempts", "error", "at"), row)) for row in rows]

    # -- signing in

    def sign_in(self, login: str, password: str, code: str, kind: str = "bearer", now: float | None = None) -> dict:
        """Password and one-time code: a new session (:class:`SignInRefused` for any failure)."""
        now = time.time() if now is None else now
        token, grant = self._grant(kind, now)
        account = self.app.sign_in_account(login, password, code, now, grant)
        return self._opened(account, token, grant, now)

    def sign_in_wallet(self, address: str, code: str, kind: str = "bearer", now: float | None = None) -> dict:
        """A wallet's Sign-In with Ethereum (checked by the caller) and, for an account with a
        second factor, its code: a new session of the account the wallet is bound to."""
        now = time.time() if now is None else now
        token, grant = self._grant(kind, now)
        account = self.app.sign_in_wallet(address, code, now, grant)
        return self._opened(account, token, grant, now)

    def _grant(self, kind: str, now: float) -> tuple[str, dict]:
        if kind not in KINDS:
            raise ValueError(f"a session is one of {', '.join(KINDS)}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        return token, {"session_id": token_hash(token)[:24], "kind": kind, "expires_at": now + self.lifetimes[kind]}

    def _opened(self, account: Account, token: str, grant: dict, now: float) -> dict:
        self.db.execute(
            "INSERT INTO account_sessions (token_hash, session_id, login, role, store_id, kind, factor, issued_at, "
            "expires_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                token_hash(token),
                grant["session_id"],
                account.login,
                account.role,
                account.store_id,
                grant["kind"],
                account.last_factor or "",
                now,
                grant["expires_at"],
            ),
        )
        return {
            "token": token,
            "session_id": grant["session_id"],
            "kind": grant["kind"],
            "login": account.login,
            "role": account.role,
            "store_id": account.store_id,
            "factor": account.last_factor,
            "expires_at": int(grant["expires_at"]),
        }

    # -- sessions

    def session(self, token: str | None, now: float | None = None) -> dict | None:
        """The live session a token names (None for an unknown, expired or closed one)."""
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        now = time.time() if now is None else now
        row = self.db.fetchone(
            "SELECT session_id, login, role, store_id, kind, factor, expires_at FROM account_sessions "
            "WHERE token_hash = ? AND closed_at IS NULL",
            (token_hash(token),),
        )
        if row is None or float(row[6]) <= now:
            return None
        keys = ("session_id", "login", "role", "store_id", "kind", "factor", "expires_at")
        return dict(zip(keys, row)) | {"expires_at": int(row[6])}

    def sign_out(self, token: str, now: float | None = None) -> bool:
        """Ends the session the token names (False if it was not live)."""
        now = time.time() if now is None else now
        found = self.session(token, now)
        if found is None:
            return False
        self.db.execute("UPDATE account_sessions SET closed_at = ? WHERE token_hash = ?", (now, token_hash(token)))
        self.app.close_session(found["login"], found["session_id"], now)
        return True

    def end_all(self, login: str, now: float | None = None, reason: str = "ended") -> int:
        """Ends every live session of an account (locked, closed, its password changed)."""
        now = time.time() if now is None else now
        rows = self.db.fetchall(
            "SELECT token_hash, session_id FROM account_sessions WHERE login = ? AND closed_at IS NULL AND expires_at > ?",
            (login, now),
        )
        for hashed, session_id in rows:
            self.db.execute("UPDATE account_sessions SET closed_at = ? WHERE token_hash = ?", (now, hashed))
            self.app.close_session(login, session_id, now, reason)
        return len(rows)

    def lock(self, login: str, reason: str, now: float | None = None) -> Account:
        """Locks an account (the operator's decision) and ends its sessions."""
        account, _ = self.app.change_account(login, lambda a: a.lock(reason))
        self.end_all(account.login, now, "locked")
        return account

    def close(self, login: str, now: float | None = None) -> Account:
        """Closes an account (its holder's decision) and ends its sessions."""
        account, _ = self.app.change_account(login, Account.close)
        self.end_all(account.login, now, "closed")
        return account

    def sessions_of(self, login: str) -> list[dict]:
        """Every session of an account, live or not, newest first (ids only, never tokens)."""
        rows = self.db.fetchall(
            "SELECT session_id, kind, factor, issued_at, expires_at, closed_at FROM account_sessions WHERE login = ? "
            "ORDER BY issued_at DESC",
            (login,),
        )
        keys = ("session_id", "kind", "factor", "issued_at", "expires_at", "closed_at")
        return [dict(zip(keys, row)) for row in rows]


__all__ = ["TOKEN_PREFIX", "AccountDesk", "SignInRefused", "outbox_path", "sender"]
