"""The two sign-in factors, side by side as the seed's authentication module has them: a
password (the password unit) **and** a one-time code (the SMS unit, or an authenticator app
for staff who enrol one), with the lockout that follows repeated failures.

- Passwords are hashed with argon2id (``argon2-cffi``) at :data:`ARGON2`: 3 passes over
  64 MiB with 4 lanes, a 16-byte salt and a 32-byte hash (RFC 9106's second recommended
  option). It is slow on purpose.
- An SMS code is 6 digits, valid 5 minutes, used once; only its salted SHA-256 is kept and
  it is compared in constant time.
- A TOTP code is checked with ``pyotp``'s ``verify_and_get_timecode``: a code whose time step
  is not later than the last one accepted is refused, so no code is accepted twice.
- Five failures in a row lock the account for a minute, doubling with each further failure
  up to an hour (:func:`lockout_until`); a success clears the count.

Every refusal is the same :class:`SignInRefused`, whatever went wrong, so that an answer
never tells whether an account exists, which factor failed or why.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pyotp.exceptions import OTPVerificationError

ARGON2 = {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 4, "hash_len": 32, "salt_len": 16}
CODE_DIGITS = 6
CODE_SECONDS = 300
MAX_FAILURES = 5
FIRST_LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 3600
MIN_PASSWORD = 10

_hasher = PasswordHasher(
    time_cost=ARGON2["time_cost"],
    memory_cost=ARGON2["memory_cost"],
    parallelism=ARGON2["parallelism"],
    hash_len=ARGON2["hash_len"],
    salt_len=ARGON2["salt_len"],
    type=Type.ID,
)


class SignInRefused(Exception):
    """The one answer to every failed sign-in (see the module docstring)."""

    def __init__(self):
        super().__init__("sign-in refused")


class PasswordRefused(ValueError):
    """A password too weak to set."""


# -- the password


def hash_password(password: str) -> str:
    """The argon2id hash to keep (it carries its parameters and salt)."""
    if len(password) < MIN_PASSWORD:
        raise PasswordRefused(f"a password has at least {MIN_PASSWORD} characters")
    if password.strip() != password or len(set(password)) < 4:
        raise PasswordRefused("a password has no leading or trailing spaces and at least 4 different characters")
    return _hasher.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash; with no account (``stored`` None) a hash of
    a dummy is checked all the same, so both take as long."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with other parameters than :data:`ARGON2` (rehash at the next sign-in)."""
    return _hasher.check_needs_rehash(stored)


_DUMMY = _hasher.hash("not the password of any account")


# -- one-time codes sent by SMS


@dataclass(frozen=True)
class IssuedCode:
    """A code as it is kept: its salted hash, when it stops being valid, and whether it was used."""

    salt: str
    digest: str
    expires_at: float
    used: bool = False


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + code.encode()).hexdigest()


def new_code(now: float) -> tuple[str, IssuedCode]:
    """A fresh code (sent to the verified phone, never kept) and what is kept of it."""
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_hex(16)
    return code, IssuedCode(salt=salt, digest=_digest(salt, code), expires_at=now + CODE_SECONDS)


def code_matches(issued: IssuedCode | None, code: str, now: float) -> bool:
    """Whether ``code`` is the issued one, unused and not expired (compared in constant time)."""
    if issued is None:
        hmac.compare_digest(_digest("00" * 16, code), "0" * 64)  # as long as a real check
        return False
    same = hmac.compare_digest(_digest(issued.salt, code), issued.digest)
    return same and not issued.used and now < issued.expires_at


# -- authenticator apps (TOTP)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_step(secret: str, code: str, now: float, last_step: int | None) -> int | None:
    """The time step of a valid code later than ``last_step`` (None: refused, a replay included).
    One step of clock drift either way is allowed."""
    try:
        step = pyotp.TOTP(secret).verify_and_get_timecode(code, for_time=now, valid_window=1)
    except (OTPVerificationError, ValueError):
        return None
    if last_step is not None and step <= last_step:
        return None
    return step


# -- the lockout


def lockout_until(failures: int, last_failure_at: float) -> float | None:
    """When an account with ``failures`` consecutive failures may try again (None: it may now).
    Locked from the fifth failure: a minute, doubling per further failure, at most an hour."""
    if failures < MAX_FAILURES:
        return None
    seconds = min(MAX_LOCK_SECONDS, FIRST_LOCK_SECONDS * 2 ** (failures - MAX_FAILURES))
    return last_failure_at + seconds
