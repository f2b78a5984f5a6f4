"""An account per person or organisation, as an event-sourced aggregate: registered, its
profile changed, its phone verified, its wallet bound, a second factor enrolled, its
sign-ins (failed or not), locked, closed.

Each command checks its rule first (:mod:`.profile`, :mod:`.factors`) and records an event
only when the rule holds, except a sign-in, whose failure is recorded too (the lockout counts
failures): :meth:`Account.sign_in` returns whether it succeeded, and the caller saves the
account either way and answers every failure the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from engine.accounts.factors import (
    CODE_SECONDS,
    IssuedCode,
    code_matches,
    lockout_until,
    needs_rehash,
    new_code,
    password_matches,
    totp_step,
)
from engine.accounts.identity import identity_hash, identity_record
from engine.accounts.profile import MAX_ADDRESSES, Address, Profile, ProfileRefused, normalise_phone, require
from engine.ids import derive

ROLES = ("buyer", "store_staff", "warehouse", "lender", "operator")
CODE_PURPOSES = ("verify_phone", "sign_in")
RESEND_SECONDS = 30  # a new code for the same purpose at most this often (each SMS costs)


class CodeTooSoon(ValueError):
    """A new code asked for within :data:`RESEND_SECONDS` of the last one for the same purpose."""

    def __init__(self, seconds_left: int):
        super().__init__(f"a code was sent moments ago: ask again in {seconds_left} s")
        self.seconds_left = seconds_left


class AccountRefused(ValueError):
    """A command the account's state does not allow (a closed account, a role without its store)."""


def normalise_login(login: str) -> str:
    text = login.strip().lower()
    if not 3 <= len(text) <= 120 or any(c.isspace() for c in text):
        raise AccountRefused("a login is 3 to 120 characters without spaces")
    return text


class Account(Aggregate):
    """One account (see the module docstring)."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Registered: ClassVar[type[Any]]
        ProfileChanged: ClassVar[type[Any]]
        PhoneSet: ClassVar[type[Any]]
        CodeIssued: ClassVar[type[Any]]
        PhoneVerified: ClassVar[type[Any]]
        AddressSaved: ClassVar[type[Any]]
        AddressRemoved: ClassVar[type[Any]]
        WalletBound: ClassVar[type[Any]]
        TotpEnrolled: ClassVar[type[Any]]
        SignInFailed: ClassVar[type[Any]]
        SignedIn: ClassVar[type[Any]]
        PasswordRehashed: ClassVar[type[Any]]
        Locked: ClassVar[type[Any]]
        Unlocked: ClassVar[type[Any]]
        Closed: ClassVar[type[Any]]
        SessionOpened: ClassVar[type[Any]]
        SessionClosed: ClassVar[type[Any]]
        IdentityPrepared: ClassVar[type[Any]]

    @staticmethod
    def create_id(login: str) -> UUID:
        return derive("account", normalise_login(login))

    @classmethod
    def register(cls, login: str, role: str, password_hash: str, store_id: str | None = None) -> Account:
        if role not in ROLES:
            raise AccountRefused(f"a role is one of {', '.join(ROLES)}")
        if (role == "store_staff") != (store_id is not None):
            raise AccountRefused("store staff name their store, and only they do")
        return cls(login=normalise_login(login), role=role, password_hash=password_hash, store_id=store_id)

    @event("Registered")
    def __init__(self, login: str, role: str, password_hash: str, store_id: str | None):
        self.login = login
        self.role = role
        self.store_id = store_id
        self.password_hash = password_hash
        self.name: str | None = None
        self.company: str | None = None
        self.phone: str | None = None
        self.phone_verified = False
        self.pending_phone: str | None = None
        self.addresses: dict[str, dict] = {}
        self.default_address: str | None = None
        self.wallet: str | None = None
        self.totp_secret: str | None = None
        self.totp_last_step: int | None = None
        self.codes: dict[str, dict] = {}  # purpose -> what is kept of the code last issued
        self.failures = 0
        self.last_failure_at = 0.0
        self.locked_reason: str | None = None
        self.closed = False
        self.sessions: dict[str, dict] = {}  # session id -> kind, factor, expires_at (open ones)
        self.sessions_opened = 0
        self.last_factor: str | None = None
        self.identity_salt: str | None = None  # hex; kept off chain, so the hash on chain reveals nothing
        self.identity_hashes: list[str] = []  # every record hash prepared for attestation, oldest first

    # -- the profile

    def _open(self) -> None:
        if self.closed:
            raise AccountRefused("the account is closed")

    def change_profile(self, name: str | None = None, company: str | None = None) -> None:
        self._open()
        if name is not None and not (1 <= len(name.strip()) <= 200):
            raise ProfileRefused("name", "1 to 200 characters")
        self._profile_changed(name=name.strip() if name else self.name, company=company or self.company)

    @event("ProfileChanged")
    def _profile_changed(self, name: str | None, company: str | None) -> None:
        self.name, self.company = name, company

    def set_phone(self, raw: str, region: str | None = None) -> str:
        """Sets the phone (E.164), to verify by a code sent to it. A verified phone stays the
        account's (its sign-in codes still go there) until the new one is verified."""
        self._open()
        phone = normalise_phone(raw, region)
        if phone not in (self.phone if not self.phone_verified else None, self.pending_phone):
            if phone == self.phone and self.phone_verified:
                if self.pending_phone is not None:
                    self._phone_set(phone=phone)  # back to the verified one: nothing pending
            else:
                self._phone_set(phone=phone)
        return phone

    @event("PhoneSet")
    def _phone_set(self, phone: str) -> None:
        if self.phone_verified and phone == self.phone:
            self.pending_phone = None
        elif self.phone_verified:
            self.pending_phone = phone
        else:
            self.phone = phone
        self.codes.pop("verify_phone", None)

    @property
    def phone_to_verify(self) -> str | None:
        """Where a verification code goes: the new phone waiting for its code, else the phone if unverified."""
        if self.pending_phone is not None:
            return self.pending_phone
        return None if self.phone_verified else self.phone

    def issue_code(self, purpose: str, now: float) -> str:
        """A fresh code for ``purpose`` (only its hash is recorded): send it to the phone."""
        self._open()
        if purpose not in CODE_PURPOSES:
            raise AccountRefused(f"a code is for one of {', '.join(CODE_PURPOSES)}")
        if purpose == "sign_in" and not self.phone_verified:
            raise ProfileRefused("phone", "a verified phone is needed to receive sign-in codes")
        if purpose == "verify_phone" and self.phone_to_verify is None:
            raise ProfileRefused("phone", "no phone waits for verification: set one first")
        last = self.codes.get(purpose)
        if last is not None and not last["used"]:
            since = now - (last["expires_at"] - CODE_SECONDS)
            if 0 <= since < RESEND_SECONDS:
                raise CodeTooSoon(int(RESEND_SECONDS - since) + 1)
        code, issued = new_code(now)
        self._code_issued(purpose=purpose, salt=issued.salt, digest=issued.digest, expires_at=issued.expires_at)
        return code

    @event("CodeIssued")
    def _code_issued(self, purpose: str, salt: str, digest: str, expires_at: float) -> None:
        self.codes[purpose] = {"salt": salt, "digest": digest, "expires_at": expires_at, "used": False}

    def _code(self, purpose: str) -> IssuedCode | None:
        kept = self.codes.get(purpose)
        return None if kept is None else IssuedCode(**kept)

    def verify_phone(self, code: str, now: float) -> bool:
        """Whether the code sent to the phone matches (then the phone is verified); a wrong
        code counts as a failed attempt."""
        self._open()
        if self._locked(now) or not code_matches(self._code("verify_phone"), code, now):
            self._sign_in_failed(at=now)
            return False
        self._phone_verified()
        return True

    @event("PhoneVerified")
    def _phone_verified(self) -> None:
        if self.pending_phone is not None:
            self.phone, self.pending_phone = self.pending_phone, None
        self.phone_verified = True
        self.codes["verify_phone"]["used"] = True
        self.failures = 0

    def save_address(self, address: Address, default: bool = False) -> None:
        self._open()
        if address.label not in self.addresses and len(self.addresses) >= MAX_ADDRESSES:
            raise ProfileRefused("addresses", f"at most {MAX_ADDRESSES} addresses")
        self._address_saved(
            label=address.label,
            lines=list(address.lines),
            country=address.country.upper(),
            latitude=address.latitude,
            longitude=address.longitude,
            default=default or not self.addresses,
        )

    @event("AddressSaved")
    def _address_saved(
        self, label: str, lines: list, country: str, latitude: float, longitude: float, default: bool
    ) -> None:
        self.addresses[label] = {"lines": lines, "country": country, "latitude": latitude, "longitude": longitude}
        if default:
            self.default_address = label

    def remove_address(self, label: str) -> None:
        self._open()
        if label not in self.addresses:
            raise ProfileRefused("addresses", f"no address {label!r}")
        self._address_removed(label=label)

    @event("AddressRemoved")
    def _address_removed(self, label: str) -> None:
        del self.addresses[label]
        if self.default_address == label:
            self.default_address = next(iter(self.addresses), None)

    def profile(self, attested: bool = False) -> Profile:
        """The profile as the rules of :mod:`.profile` read it (``attested``: the chain says so)."""
        return Profile(
            name=self.name,
            phone=self.phone,
            phone_verified=self.phone_verified,
            company=self.company,
            addresses={
                label: Address(label, tuple(a["lines"]), a["country"], a["latitude"], a["longitude"])
                for label, a in self.addresses.items()
            },
            default_address=self.default_address,
            attested=attested,
        )

    # -- the identity attestation

    def identity_record(self) -> dict:
        """What an attestation of this account vouches for (the verified phone only)."""
        default = self.addresses.get(self.default_address) if self.default_address else None
        return identity_record(
            self.login, self.name, self.phone if self.phone_verified else None, self.company, default
        )

    @property
    def identity_hash(self) -> str | None:
        """The hash the current record makes with the account's salt (None before any attestation)."""
        return None if self.identity_salt is None else identity_hash(self.identity_salt, self.identity_record())

    def prepare_attestation(self, salt: str) -> str:
        """Records the salted hash of the current record, for the operator to attest on chain;
        the profile must be complete for it (name, verified phone, default address)."""
        self._open()
        require(self.profile(), "attestation")
        salt = self.identity_salt or salt
        hash_ = identity_hash(salt, self.identity_record())
        if hash_ not in self.identity_hashes or self.identity_salt is None:
            self._identity_prepared(salt=salt, identity_hash=hash_)
        return hash_

    @event("IdentityPrepared")
    def _identity_prepared(self, salt: str, identity_hash: str) -> None:
        self.identity_salt = salt
        self.identity_hashes.append(identity_hash)

    # -- the wallet and the second factor

    def bind_wallet(self, address: str) -> None:
        """Binds the wallet that signed in with Ethereum (the caller checked its signature)."""
        self._open()
        self._wallet_bound(address=address.lower())

    @event("WalletBound")
    def _wallet_bound(self, address: str) -> None:
        self.wallet = address

    def enrol_totp(self, secret: str, code: str, now: float) -> bool:
        """Enrols an authenticator app, proven by a first code of it."""
        self._open()
        step = totp_step(secret, code, now, None)
        if step is None:
            return False
        self._totp_enrolled(secret=secret, step=step)
        return True

    @event("TotpEnrolled")
    def _totp_enrolled(self, secret: str, step: int) -> None:
        self.totp_secret, self.totp_last_step = secret, step

    # -- signing in

    def _locked(self, now: float) -> bool:
        until = lockout_until(self.failures, self.last_failure_at)
        return self.locked_reason is not None or (until is not None and now < until)

    def sign_in(self, password: str, code: str, now: float) -> bool:
        """Both factors: the password **and** a one-time code (the authenticator's, when one is
        enrolled, else the SMS code last issued for signing in). Records the outcome; a locked
        or closed account fails whatever is given."""
        if self.closed or self._locked(now):
            self._sign_in_failed(at=now)
            return False
        password_ok = password_matches(self.password_hash, password)
        factor, step = "sms", None
        if self.totp_secret is not None:
            factor, step = "totp", totp_step(self.totp_secret, code, now, self.totp_last_step)
            code_ok = step is not None
        else:
            code_ok = code_matches(self._code("sign_in"), code, now)
        if not (password_ok and code_ok):
            self._sign_in_failed(at=now)
            return False
        self._signed_in(at=now, factor=factor, step=step)
        return True

    def sign_in_wallet(self, code: str, now: float) -> bool:
        """A Sign-In with Ethereum by the bound wallet (the caller checked the signature and that
        it is this account's wallet) stands for the password; an account with a second factor
        (an authenticator, or a verified phone) still needs its one-time code."""
        if self.wallet is None or self.closed or self._locked(now):
            self._sign_in_failed(at=now)
            return False
        factor, step, code_ok = "wallet", None, True
        if self.totp_secret is not None:
            factor, step = "wallet+totp", totp_step(self.totp_secret, code, now, self.totp_last_step)
            code_ok = step is not None
        elif self.phone_verified:
            factor, code_ok = "wallet+sms", code_matches(self._code("sign_in"), code, now)
        if not code_ok:
            self._sign_in_failed(at=now)
            return False
        self._signed_in(at=now, factor=factor, step=step)
        return True

    @property
    def second_factor(self) -> str | None:
        """How this account proves its second factor: ``totp``, ``sms`` or None (none yet)."""
        if self.totp_secret is not None:
            return "totp"
        return "sms" if self.phone_verified else None

    @event("SignInFailed")
    def _sign_in_failed(self, at: float) -> None:
        self.failures += 1
        self.last_failure_at = at

    @event("SignedIn")
    def _signed_in(self, at: float, factor: str, step: int | None) -> None:
        self.failures = 0
        self.last_factor = factor
        if step is not None:
            self.totp_last_step = step
        elif factor.endswith("sms"):
            self.codes["sign_in"]["used"] = True

    def rehash_if_needed(self, password_hash: str) -> None:
        """After a sign-in, keeps a hash made with today's parameters (``password_hash`` of the same password)."""
        if needs_rehash(self.password_hash):
            self._password_rehashed(password_hash=password_hash)

    @event("PasswordRehashed")
    def _password_rehashed(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def locked_until(self, now: float) -> float | None:
        """When a locked-out account may try again (None: now)."""
        until = lockout_until(self.failures, self.last_failure_at)
        return until if until is not None and now < until else None

    # -- sessions (the tokens themselves live in a table: only their ids are recorded here)

    def open_session(self, session_id: str, kind: str, factor: str, expires_at: float, at: float) -> None:
        self._open()
        if kind not in ("bearer", "cookie"):
            raise AccountRefused("a session is a bearer token or a browser cookie")
        self._session_opened(session_id=session_id, kind=kind, factor=factor, expires_at=expires_at, at=at)

    @event("SessionOpened")
    def _session_opened(self, session_id: str, kind: str, factor: str, expires_at: float, at: float) -> None:
        self.sessions = {k: v for k, v in self.sessions.items() if v["expires_at"] > at}
        self.sessions[session_id] = {"kind": kind, "factor": factor, "expires_at": expires_at, "opened_at": at}
        self.sessions_opened += 1

    def close_session(self, session_id: str, at: float, reason: str = "signed out") -> bool:
        """Ends a session (False if it was not open)."""
        if session_id not in self.sessions:
            return False
        self._session_closed(session_id=session_id, at=at, reason=reason)
        return True

    @event("SessionClosed")
    def _session_closed(self, session_id: str, at: float, reason: str) -> None:
        self.sessions.pop(session_id, None)

    # -- locking and closing

    def lock(self, reason: str) -> None:
        self._open()
        self._locked_event(reason=reason.strip() or "locked by the operator")

    @event("Locked")
    def _locked_event(self, reason: str) -> None:
        self.locked_reason = reason
        self.sessions = {}

    def unlock(self) -> None:
        """Lifts the operator's lock and the failures counted toward the lockout."""
        self._open()
        if self.locked_reason is not None or self.failures:
            self._unlocked()

    @event("Unlocked")
    def _unlocked(self) -> None:
        self.locked_reason = None
        self.failures = 0

    def close(self) -> None:
        self._open()
        self._closed()

    @event("Closed")
    def _closed(self) -> None:
        self.closed = True
        self.sessions = {}


class WalletBinding(Aggregate):
    """Which account a wallet is bound to: one account per wallet (the aggregate's id is the
    address's, so a second account binding the same wallet conflicts when it is saved)."""

    if TYPE_CHECKING:
        Bound: ClassVar[type[Any]]
        Moved: ClassVar[type[Any]]

    @staticmethod
    def create_id(address: str) -> UUID:
        return derive("account-wallet", address.lower())

    @classmethod
    def bind(cls, address: str, login: str) -> WalletBinding:
        return cls(address=address.lower(), login=login)

    @event("Bound")
    def __init__(self, address: str, login: str):
        self.address = address
        self.login = login

    def move(self, login: str) -> None:
        """Binds the wallet to another account (its former account no longer holds it)."""
        self._moved(login=login)

    @event("Moved")
    def _moved(self, login: str) -> None:
        self.login = login
