"""`orderchain wallet`: sign and send buyer and store actions from a local keystore.

The key lives in an encrypted eth-account keystore file on the holder's machine
(default ``~/.orderchain/keystore.json``, or ``--keystore`` / ``ORDERCHAIN_KEYSTORE``).
Each action asks the API for the unsigned transaction, shows what will be signed, signs
it here after the password prompt and relays the signed bytes through ``POST /tx``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer
from eth_account import Account
from eth_utils import to_checksum_address

from .client import ApiError, Holder, answer

app = typer.Typer(help="Sign and send settlement actions with a local keystore (keys never leave this machine).",
                  no_args_is_help=True)

DEFAULT_KEYSTORE = Path("~/.orderchain/keystore.json")
KEYSTORE = typer.Option(None, "--keystore", envvar="ORDERCHAIN_KEYSTORE",
                        help="Keystore file [default: ~/.orderchain/keystore.json].")
API = typer.Option("http://127.0.0.1:8000", "--api", envvar="ORDERCHAIN_API_URL", help="orderchain API base URL.")


def _path(keystore: Optional[Path]) -> Path:
    return (keystore or DEFAULT_KEYSTORE).expanduser()


def _password(confirm: bool = False) -> str:
    env = os.environ.get("ORDERCHAIN_WALLET_PASSWORD")
    if env is not None:
        return env
    return typer.prompt("keystore password", hide_input=True, confirmation_prompt=confirm)


def _fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


def _save(account, keystore: Optional[Path], force: bool) -> None:
    path = _path(keystore)
    if path.exists() and not force:
        _fail(f"{path} already exists (use --force to replace it, or --keystore for another file)")
    password = _password(confirm=True)
    if len(password) < 8:
        _fail("choose a password of at least 8 characters")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(Account.encrypt(account.key, password)))
    path.chmod(0o600)
    typer.echo(f"{account.address}  (keystore {path})")


def _load(keystore: Optional[Path]):
    path = _path(keystore)
    if not path.exists():
        _fail(f"no keystore at {path}: create one with `orderchain wallet new` or `orderchain wallet import`")
    try:
        data = json.loads(path.read_text())
    except ValueError:
        _fail(f"{path} is not a keystore file")
    try:
        return Account.from_key(Account.decrypt(data, _password()))
    except ValueError:
        _fail("wrong password for this keystore")


def http_client(api: str):
    """The HTTP client the wallet talks to the API with (tests replace it)."""
    import httpx
    return httpx.Client(base_url=api, timeout=60)


def _holder(keystore: Optional[Path], api: str) -> Holder:
    return Holder(http_client(api), _load(keystore), wait=30)


def _token(holder: Holder, token: Optional[str]) -> str:
    if token is not None:
        return token
    try:
        return answer(holder.http.get("/status"))["contracts"]["TestStablecoin"]
    except (ApiError, KeyError):
        _fail("give --token (this deployment has no test stablecoin)")


def _key(holder: Holder, store: str, order: str, buyer: Optional[str], payer: Optional[str],
         token: Optional[str]) -> dict:
    key = {"store": store, "order_number": order, "buyer": buyer or holder.address, "token": _token(holder, token)}
    if payer:
        key["payer"] = payer
    return key


def _report(result: dict) -> None:
    status = result.get("status")
    colour = "green" if status == "success" else ("yellow" if status == "pending" else "red")
    typer.secho(f"{status}: tx {result['tx_hash']}" + (f" in block {result['block_number']}"
                                                       if "block_number" in result else ""), fg=colour)
    for event in result.get("events", []):
        args = ", ".join(f"{k}={v}" for k, v in event["args"].items())
        typer.echo(f"  {event['event']}({args})")
    if result.get("revert"):
        revert = result["revert"]
        typer.secho(f"  reverted: {revert.get('error')}({revert.get('args')})", fg="red")
        raise typer.Exit(1)


def _send(holder: Holder, path: str, body: dict, yes: bool) -> None:
    try:
        built = holder.build(path, body)
        tx = built["transaction"]
        typer.echo(f"{path.rsplit('/', 1)[-1]} from {holder.address} to {tx['to']}: gas {tx['gas']}, "
                   f"nonce {tx['nonce']}, chain {tx['chainId']}"
                   + (f", settlement {built['settlement_id']}" if "settlement_id" in built else ""))
        if not yes and not typer.confirm("sign and send?", default=True):
            raise typer.Exit(1)
        from .client import sign_transaction
        _report(holder.relay(sign_transaction(holder.account, tx)))
    except ApiError as exc:
        _fail(str(exc))


def _act(action: str, keystore: Optional[Path], api: str, yes: bool, store: str, order: str,
         buyer: Optional[str], payer: Optional[str], token: Optional[str], **extra) -> None:
    """Builds the settlement action through the API, signs it here and relays it."""
    h = _holder(keystore, api)
    body = {"key": _key(h, store, order, buyer, payer, token), **extra}
    if body.pop("sender", None):
        body["sender"] = h.address
    _send(h, f"/settlements/{action}", body, yes)


# -- keystore

@app.command()
def new(keystore: Optional[Path] = KEYSTORE, force: bool = typer.Option(False, help="Replace an existing file.")):
    """Create a new key in an encrypted keystore."""
    _save(Account.create(), keystore, force)


@app.command("import")
def import_(keystore: Optional[Path] = KEYSTORE, force: bool = typer.Option(False, help="Replace an existing file.")):
    """Import a private key (asked for, not echoed) into an encrypted keystore."""
    raw = os.environ.get("ORDERCHAIN_WALLET_IMPORT_KEY") or typer.prompt("private key (hex)", hide_input=True)
    try:
        account = Account.from_key(raw.strip())
    except (ValueError, TypeError):
        _fail("that is not a private key (64 hex digits)")
    _save(account, keystore, force)


@app.command()
def address(keystore: Optional[Path] = KEYSTORE):
    """Print the keystore's address (no password needed)."""
    path = _path(keystore)
    if not path.exists():
        _fail(f"no keystore at {path}")
    typer.echo(to_checksum_address("0x" + json.loads(path.read_text())["address"].removeprefix("0x")))


# -- actions

STORE = typer.Option(..., "--store", help="The store's address.")
ORDER = typer.Option(..., "--order", help="The store order number.")
BUYER = typer.Option(None, "--buyer", help="The buyer's address [default: this wallet].")
PAYER = typer.Option(None, "--payer", help="Who pays and receives refunds [default: the buyer].")
TOKEN = typer.Option(None, "--token", help="Settlement token [default: the deployment's test stablecoin].")
YES = typer.Option(False, "--yes", "-y", help="Do not ask before signing.")


@app.command()
def approve(amount: str = typer.Option(..., help="Amount in base units."), token: Optional[str] = TOKEN,
            keystore: Optional[Path] = KEYSTORE, api: str = API, yes: bool = YES):
    """Approve the settlement contract to take AMOUNT of the token (before `open`)."""
    h = _holder(keystore, api)
    _send(h, "/settlements/approve", {"owner": h.address, "token": _token(h, token), "amount": amount}, yes)


@app.command("open")
def open_(store: str = STORE, order: str = ORDER, amount: str = typer.Option(..., help="Amount in base units."),
          snapshot_hash: str = typer.Option(..., help="The store order's snapshot hash."),
          time_limit: int = typer.Option(0, help="Seconds; 0 = the contract's default."),
          permit: bool = typer.Option(False, help="Sign an EIP-2612 permit instead of a prior approval."),
          buyer: Optional[str] = BUYER, payer: Optional[str] = PAYER, token: Optional[str] = TOKEN,
          keystore: Optional[Path] = KEYSTORE, api: str = API, yes: bool = YES):
    """Pay for a store order (as the payer): freezes the amount, or updates an unshipped settlement."""
    h = _holder(keystore, api)
    key = _key(h, store, order, buyer, payer or (h.address if buyer else None), token)
    body = {"key": key, "amount": amount, "snapshot_hash": snapshot_hash, "time_limit": time_limit}
    if permit:
        try:
            body["permit"] = h.permit(key["token"], int(amount))
        except ApiError as exc:
            _fail(str(exc))
        _send(h, "/settlements/open-with-permit", body, yes)
    else:
        _send(h, "/settlements/open", body, yes)


@app.command()
def ship(store: str = STORE, order: str = ORDER, buyer: str = typer.Option(..., help="The buyer's address."),
         waybill: str = typer.Option(..., help="The logistics record; its hash goes on chain."),
         payer: Optional[str] = PAYER, token: Optional[str] = TOKEN, keystore: Optional[Path] = KEYSTORE,
         api: str = API, yes: bool = YES):
    """Mark a settlement shipped (as the store)."""
    _act("ship", keystore, api, yes, store, order, buyer, payer, token, waybill=waybill)


@app.command()
def reject(store: str = STORE, order: str = ORDER, buyer: str = typer.Option(..., help="The buyer's address."),
           payer: Optional[str] = PAYER, token: Optional[str] = TOKEN, keystore: Optional[Path] = KEYSTORE,
           api: str = API, yes: bool = YES):
    """Reject an unshipped order (as the store): the payer gets everything back."""
    _act("reject", keystore, api, yes, store, order, buyer, payer, token)


@app.command()
def confirm(store: str = STORE, order: str = ORDER,
            amount_due: str = typer.Option(..., help="What is actually due to the store (≤ the frozen amount)."),
            buyer: Optional[str] = BUYER, payer: Optional[str] = PAYER, token: Optional[str] = TOKEN,
            keystore: Optional[Path] = KEYSTORE, api: str = API, yes: bool = YES):
    """Confirm receipt (as the buyer): the store gets AMOUNT_DUE, the payer the rest."""
    _act("confirm", keystore, api, yes, store, order, buyer, payer, token, amount_due=amount_due)


@app.command()
def dispute(store: str = STORE, order: str = ORDER, reason: str = typer.Option(..., help="Why; its hash goes on chain."),
            buyer: Optional[str] = BUYER, payer: Optional[str] = PAYER, token: Optional[str] = TOKEN,
            keystore: Optional[Path] = KEYSTORE, api: str = API, yes: bool = YES):
    """Raise a dispute before the time limit (as the buyer): stops the automatic release."""
    _act("dispute", keystore, api, yes, store, order, buyer, payer, token, reason=reason)


@app.command()
def release(store: str = STORE, order: str = ORDER, buyer: str = typer.Option(..., help="The buyer's address."),
            payer: Optional[str] = PAYER, token: Optional[str] = TOKEN, keystore: Optional[Path] = KEYSTORE,
            api: str = API, yes: bool = YES):
    """Release the full amount to the store after the time limit (anyone may)."""
    _act("release", keystore, api, yes, store, order, buyer, payer, token, sender=True)


@app.command()
def resolve(store: str = STORE, order: str = ORDER, buyer: str = typer.Option(..., help="The buyer's address."),
            to_store: str = typer.Option(..., help="Amount to the store; the payer gets the rest."),
            payer: Optional[str] = PAYER, token: Optional[str] = TOKEN, keystore: Optional[Path] = KEYSTORE,
            api: str = API, yes: bool = YES):
    """Resolve a dispute with a split (as the arbiter)."""
    _act("resolve", keystore, api, yes, store, order, buyer, payer, token, sender=True, to_store=to_store)
