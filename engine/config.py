"""Settings from ``ORDERCHAIN_*`` environment variables, with defaults for a local run."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_BLOCK_RANGE = 5000  # blocks per eth_getLogs, halved when a node refuses


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


def _int(env: dict, name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: dict, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _decimal_text(env: dict, name: str, default: str) -> str:
    from decimal import Decimal, InvalidOperation

    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"{name} must be a decimal number, got {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return raw


def _public_url(raw: str | None) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")) or " " in raw:
        raise ConfigError(f"ORDERCHAIN_PUBLIC_URL must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _sms_url(raw: str | None, secret: str | None) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")) or " " in raw:
        raise ConfigError(f"ORDERCHAIN_SMS_URL must be an http(s) URL, got {raw!r}")
    if not secret:
        raise ConfigError("ORDERCHAIN_SMS_URL needs ORDERCHAIN_SMS_SECRET, the gateway's signing secret (whsec_...)")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything the engine and the API need to know about their surroundings."""

    rpc_url: str | None = None
    db: str = "var/orderchain.sqlite"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    admin_token_generated: bool = True
    confirmations: int = 0
    anvil_port: int = 0
    deployments_dir: str = "deployments"
    var_dir: str = "var"
    poll_interval: float = 0.1
    block_range: int = DEFAULT_BLOCK_RANGE
    events_per_step: int = 20_000
    keeper_key: str | None = None
    keeper_interval: float = 5.0
    max_body_bytes: int = 64 * 1024
    view_db_override: str | None = None
    witness_key: str | None = None
    anchor_interval: float = 5.0
    siwe_domain: str | None = None
    session_seconds: int = 3600
    freight_factor: str = "1.5"
    quote_hold_seconds: int = 900
    ws_url: str | None = None
    sse_heartbeat: float = 15.0
    sse_lifetime: float = 600.0  # seconds an event stream stays open; the client reconnects and resumes
    public_url: str | None = None
    sms_url: str | None = None
    sms_secret: str | None = None
    account_session_seconds: int = 900
    browser_session_seconds: int = 8 * 3600

    @classmethod
    def from_env(cls, env: dict | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        admin = env.get("ORDERCHAIN_ADMIN_TOKEN") or None
        base = cls() if admin is None else cls(admin_token=admin, admin_token_generated=False)
        return replace(
            base,
            rpc_url=env.get("ORDERCHAIN_RPC_URL") or None,
            db=env.get("ORDERCHAIN_DB") or base.db,
            api_host=env.get("ORDERCHAIN_API_HOST") or base.api_host,
            api_port=_int(env, "ORDERCHAIN_API_PORT", base.api_port),
            confirmations=_int(env, "ORDERCHAIN_CONFIRMATIONS", base.confirmations),
            anvil_port=_int(env, "ORDERCHAIN_ANVIL_PORT", base.anvil_port),
            deployments_dir=env.get("ORDERCHAIN_DEPLOYMENTS") or base.deployments_dir,
            var_dir=env.get("ORDERCHAIN_VAR") or base.var_dir,
            poll_interval=_float(env, "ORDERCHAIN_POLL_INTERVAL", base.poll_interval),
            block_range=_int(env, "ORDERCHAIN_BLOCK_RANGE", base.block_range, minimum=1),
            events_per_step=_int(env, "ORDERCHAIN_EVENTS_PER_STEP", base.events_per_step, minimum=1),
            keeper_key=env.get("ORDERCHAIN_KEEPER_KEY") or None,
            keeper_interval=_float(env, "ORDERCHAIN_KEEPER_INTERVAL", base.keeper_interval),
            view_db_override=env.get("ORDERCHAIN_VIEW_DB") or None,
            witness_key=env.get("ORDERCHAIN_WITNESS_KEY") or None,
            anchor_interval=_float(env, "ORDERCHAIN_ANCHOR_INTERVAL", base.anchor_interval),
            siwe_domain=env.get("ORDERCHAIN_SIWE_DOMAIN") or None,
            session_seconds=_int(env, "ORDERCHAIN_SESSION_SECONDS", base.session_seconds, minimum=60),
            freight_factor=_decimal_text(env, "ORDERCHAIN_FREIGHT_FACTOR", base.freight_factor),
            ws_url=env.get("ORDERCHAIN_WS_URL"),
            sse_heartbeat=_float(env, "ORDERCHAIN_SSE_HEARTBEAT", base.sse_heartbeat),
            sse_lifetime=_float(env, "ORDERCHAIN_SSE_LIFETIME", base.sse_lifetime),
            quote_hold_seconds=_int(env, "ORDERCHAIN_QUOTE_HOLD_SECONDS", base.quote_hold_seconds, minimum=1),
            public_url=_public_url(env.get("ORDERCHAIN_PUBLIC_URL")),
            sms_url=_sms_url(env.get("ORDERCHAIN_SMS_URL"), env.get("ORDERCHAIN_SMS_SECRET")),
            sms_secret=env.get("ORDERCHAIN_SMS_SECRET") or None,
            account_session_seconds=_int(
                env, "ORDERCHAIN_ACCOUNT_SESSION_SECONDS", base.account_session_seconds, minimum=60
            ),
            browser_session_seconds=_int(
                env, "ORDERCHAIN_BROWSER_SESSION_SECONDS", base.browser_session_seconds, minimum=60
            ),
        )

    @property
    def base_url(self) -> str:
        """Where this API is reached: ORDERCHAIN_PUBLIC_URL, or the host and port it serves on."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.api_host in ("0.0.0.0", "::", "") else self.api_host
        return f"http://{host}:{self.api_port}"

    @property
    def metadata_base(self) -> str:
        """The base of every liquor case's ``tokenURI`` (``{base}{tokenId}/metadata``): this API's ``/cases/``."""
        return f"{self.base_url}/cases/"

    @property
    def domain(self) -> str:
        """The domain sign-in messages must name (EIP-4361): this API's host and port unless set."""
        return self.siwe_domain or f"{self.api_host}:{self.api_port}"

    @property
    def is_postgres(self) -> bool:
        return self.db.startswith(("postgresql://", "postgres://"))

    @property
    def view_db(self) -> str:
        """Where the views live: the same PostgreSQL database, or a SQLite file next to the
        event store's (SQLite has one writer per file: the reader and a projector process
        then never wait for each other)."""
        if self.view_db_override:
            return self.view_db_override
        if self.is_postgres:
            return self.db
        path = Path(self.db)
        return str(path.with_name(f"{path.stem}-views{path.suffix or '.sqlite'}"))

    def ensure_dirs(self) -> None:
        Path(self.var_dir).mkdir(parents=True, exist_ok=True)
        if not self.is_postgres:
            Path(self.db).parent.mkdir(parents=True, exist_ok=True)
