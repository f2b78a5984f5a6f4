"""Sign-in with Ethereum (EIP-4361, the ``siwe`` package): single-use nonces, expiring sessions.

A client asks for a nonce, builds the EIP-4361 message for this API's domain and chain
with it, signs it with the wallet's key and trades message and signature for a session
token. The nonce is used once; the message's expiration (if any) and the session's
lifetime both end it. Only a SHA-256 hash of each token is kept. The tables live in the
view database, which every API worker shares.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from siwe import SiweMessage

from engine.db import Database, schema_lock
from engine.ids import token_hash

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS auth_nonces (
        nonce TEXT PRIMARY KEY, issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used BOOLEAN NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS auth_sessions (
        token_hash TEXT PRIMARY KEY, address TEXT NOT NULL, issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
        message TEXT NOT NULL, signature TEXT NOT NULL)""",
)
NONCE_SECONDS = 600
TOKEN_PREFIX = "ocsess_"
# What an EIP-4361 message needs: a domain (at most 253 characters), the address, a
# one-line statement, the URI, version, chain, nonce and times, and a few resources.
MAX_MESSAGE = 2_048
MAX_LINES = 24
HEADER = " wants you to sign in with your Ethereum account:"


class SignInRefused(Exception):
    """The sign-in message, its signature or its nonce does not hold (the reason says why)."""


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


class SignIn:
    """Nonces and sessions for one API (its domain and chain)."""

    def __init__(self, db: Database, domain: str, chain_id: int, session_seconds: int = 3600):
        self.db = db
        self.domain = domain
        self.chain_id = chain_id
        self.session_seconds = session_seconds
        with schema_lock(db.target):
            for statement in SCHEMA:
                db.execute(statement)

    def nonce(self, now: datetime) -> dict:
        """A fresh nonce, and what the message must say besides it."""
        nonce = secrets.token_hex(12)
        self.db.execute(
            "INSERT INTO auth_nonces (nonce, issued_at, expires_at, used) VALUES (?, ?, ?, ?)",
            (nonce, _ts(now), _ts(now) + NONCE_SECONDS, False),
        )
        return {
            "nonce": nonce,
            "domain": self.domain,
            "chain_id": self.chain_id,
            "expires_at": _ts(now) + NONCE_SECONDS,
        }

    def verify(self, message: str, signature: str, now: datetime, consume: bool = True) -> SiweMessage:
        """Checks an EIP-4361 message and its signature for this domain and chain, and uses its nonce.

        The message's size and shape are checked first, in time linear in its length, and it
        is parsed with the ``siwe`` package's regular-expression parser (its ABNF parser takes
        time growing with the square of the length: seconds for a few thousand characters)."""
        check_shape(message)
        try:
            parsed = SiweMessage.from_message(message, abnf=False)
        except Exception as exc:
            raise SignInRefused(f"not an EIP-4361 message: {exc}") from None
        if parsed.domain != self.domain:
            raise SignInRefused(f"the message is for {parsed.domain!r}, this API is {self.domain!r}")
        if int(parsed.chain_id) != self.chain_id:
            raise SignInRefused(f"the message is for chain {parsed.chain_id}, this API serves {self.chain_id}")
        try:
            parsed.verify(signature, timestamp=now)
        except Exception as exc:  # siwe's errors: expired, not yet valid, bad signature
            raise SignInRefused(f"the sign-in does not hold: {type(exc).__name__} {exc}".strip()) from None
        if consume:
            with self.db.transaction():
                row = self.db.fetchone("SELECT expires_at, used FROM auth_nonces WHERE nonce = ?", (parsed.nonce,))
                if row is None or bool(row[1]) or int(row[0]) < _ts(now):
                    raise SignInRefused("the nonce is unknown, used or expired: ask for a new one")
                self.db.execute("UPDATE auth_nonces SET used = ? WHERE nonce = ?", (True, parsed.nonce))
        return parsed

    def sign_in(self, message: str, signature: str, now: datetime) -> dict:
        """A session for the message's address; the token is shown once."""
        parsed = self.verify(message, signature, now)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = _ts(now) + self.session_seconds
        if parsed.expiration_time:
            expires = min(expires, _ts(datetime.fromisoformat(str(parsed.expiration_time).replace("Z", "+00:00"))))
        self.db.execute(
            "INSERT INTO auth_sessions (token_hash, address, issued_at, expires_at, message, signature) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (token_hash(token), parsed.address.lower(), _ts(now), expires, message, signature),
        )
        return {"token": token, "address": parsed.address.lower(), "expires_at": expires}

    def session(self, token: str, now: datetime) -> dict | None:
        """The live session a token names: its address and the sign-in it came from."""
        row = self.db.fetchone(
            "SELECT address, expires_at, message, signature FROM auth_sessions WHERE token_hash = ?",
            (token_hash(token),),
        )
        if row is None or int(row[1]) < _ts(now):
            return None
        return {"address": row[0], "expires_at": int(row[1]), "message": row[2], "signature": row[3]}


def check_shape(message: str) -> None:
    """Refuses at once what cannot be an EIP-4361 message: too long, too many lines, or no
    ``<domain> wants you to sign in with your Ethereum account:`` line then an address."""
    if len(message) > MAX_MESSAGE:
        raise SignInRefused(f"not an EIP-4361 message: {len(message)} characters, at most {MAX_MESSAGE}")
    lines = message.split("\n", MAX_LINES)
    if len(lines) > MAX_LINES:
        raise SignInRefused(f"not an EIP-4361 message: more than {MAX_LINES} lines")
    if not lines[0].endswith(HEADER) or len(lines) < 2 or not lines[1].startswith("0x") or len(lines[1]) != 42:
        raise SignInRefused(
            "not an EIP-4361 message: it begins with '<domain> wants you to sign in with your "
            "Ethereum account:' and the address on the next line"
        )


def utcnow() -> datetime:
    return datetime.now(UTC)
