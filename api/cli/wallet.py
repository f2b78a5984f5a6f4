"""`orderchain wallet`: sign and send buyer and store actions from a local keystore.

The key lives in an encrypted eth-account keystore file on the holder's machine
(default ``~/.orderchain/keystore.json``, or ``--keystore`` / ``ORDERCHAIN_KEYSTORE``).
Each action asks the API for the unsigned transaction, shows what will be signed, signs
it here after the password prompt and relays the signed bytes through ``POST /tx``.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import typer
from eth_account import Account
from eth_utils import to_checksum_address
from pydantic import WithJsonSchema

from api.actions.common import ContractAction
from api.client import ApiError, Holder, answer, sign_transaction

app = typer.Typer(
    help="Sign and send buyer, store, holder and lender actions (settlements, group buys, liquor "
    "cases, cross-border orders) with a local keystore (keys never leave this machine).",
    no_args_is_help=True,
)

DEFAULT_KEYSTORE = Path("~/.orderchain/keystore.json")
KEYSTORE = typer.Option(
    None, "--keystore", envvar="ORDERCHAIN_KEYSTORE", help="Keystore file [default: ~/.orderchain/keystore.json]."
)
API = typer.Option("http://127.0.0.1:8000", "--api", envvar="ORDERCHAIN_API_URL", help="orderchain API base URL.")


def _path(keystore: Path | None) -> Path:
    return (keystore or DEFAULT_KEYSTORE).expanduser()


def _password(confirm: bool = False) -> str:
    env = os.environ.get("ORDERCHAIN_WALLET_PASSWORD")
    if env is not None:
        return env
    return typer.prompt("keystore password", hide_input=True, confirmation_prompt=confirm)


def _fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


def _save(account, keystore: Path | None, force: bool) -> None:
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


def _load(keystore: Path | None):
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


def _run(action):
    """Runs an API conversation, turning its problems into a clear message and exit code 1."""
    try:
        return action()
    except (ApiError, ValueError) as exc:
        _fail(str(exc))


def http_client(api: str):
    """The HTTP client the wallet talks to the API with (tests replace it)."""
    import httpx

    return httpx.Client(base_url=api, timeout=60)


def _holder(keystore: Path | None, api: str) -> Holder:
    return Holder(http_client(api), _load(keystore), wait=30)


def _token(holder: Holder, token: str | None) -> str:
    if token is not None:
        return token
    try:
        return answer(holder.http.get("/status"))["contracts"]["TestStablecoin"]
    except (ApiError, KeyError):
        _fail("give --token (this deployment has no test stablecoin)")


def _report(result: dict) -> None:
    status = result.get("status")
    colour = "green" if status == "success" else ("yellow" if status == "pending" else "red")
    typer.secho(
        f"{status}: tx {result['tx_hash']}"
        + (f" in block {result['block_number']}" if "block_number" in result else ""),
        fg=colour,
    )
    for event in result.get("events") or []:
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
        typer.echo(
            f"{path.rsplit('/', 1)[-1]} from {holder.address} to {tx['to']}: gas {int(tx['gas'], 16)}, "
            f"nonce {int(tx['nonce'], 16)}, chain {int(tx['chainId'], 16)}"
            + (f", settlement {built['settlement_id']}" if built.get("settlement_id") else "")
        )
        if tx["from"].lower() != holder.address.lower():
            _fail(f"this transaction must be signed by {tx['from']}; this wallet is {holder.address}")
        if not yes and not typer.confirm("sign and send?", default=True):
            raise typer.Exit(1)
        _report(holder.relay(sign_transaction(holder.account, tx)))
    except ApiError as exc:
        _fail(str(exc))


# -- keystore


@app.command()
def new(keystore: Path | None = KEYSTORE, force: bool = typer.Option(False, help="Replace an existing file.")):
    """Create a new key in an encrypted keystore."""
    _save(Account.create(), keystore, force)


@app.command("import")
def import_(keystore: Path | None = KEYSTORE, force: bool = typer.Option(False, help="Replace an existing file.")):
    """Import a private key (asked for, not echoed) into an encrypted keystore."""
    raw = os.environ.get("ORDERCHAIN_WALLET_IMPORT_KEY") or typer.prompt("private key (hex)", hide_input=True)
    try:
        account = Account.from_key(raw.strip())
    except (ValueError, TypeError):
        _fail("that is not a private key (64 hex digits)")
    _save(account, keystore, force)


@app.command()
def address(keystore: Path | None = KEYSTORE):
    """Print the keystore's address (no password needed)."""
    path = _path(keystore)
    if not path.exists():
        _fail(f"no keystore at {path}")
    typer.echo(to_checksum_address("0x" + json.loads(path.read_text())["address"].removeprefix("0x")))


TOKEN = typer.Option(None, "--token", help="The token [default: the deployment's test stablecoin].")
YES = typer.Option(False, "--yes", "-y", help="Do not ask before signing.")


CREDIT_CONTRACTS = {
    "C2CSettlement": "settlement",
    "LiquorCases": "liquor",
    "GroupBuy": "group-buy",
    "CrossBorderEscrow": "cross-border",
    "OfflinePayment": "pay-after-delivery",
}


@app.command()
def credits(keystore: Path | None = KEYSTORE, api: str = API):
    """What the contracts owe this wallet (payouts and refunds its token would not transfer to
    it), what it claimed, and the command that claims what is owed."""
    h = _holder(keystore, api)
    try:
        ledgers = answer(h.http.get(f"/credits/{h.address}"))
    except ApiError as exc:
        _fail(str(exc))
    if not ledgers:
        typer.echo(f"nothing credited to {h.address}")
    for c in ledgers:
        typer.echo(
            f"{c['contract']}  token {c['token']}: credited {c['credited']}, claimed {c['claimed']}, owed {c['owed']}"
        )
        if int(c["owed"]):
            typer.echo(
                f"  claim it: orderchain wallet claim-credit --contract {CREDIT_CONTRACTS[c['contract']]} "
                f"--token {c['token']} --to <address>"
            )


@app.command("claim-credit")
def claim_credit(
    to: str = typer.Option(..., "--to", help="Where the credited payouts go."),
    contract: str = typer.Option(
        "settlement",
        help="Which contract credited them: settlement, "
        "liquor (refunds of cancelled purchases too), "
        "group-buy, cross-border or pay-after-delivery.",
    ),
    token: str | None = TOKEN,
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Claim payouts credited to this wallet (the token would not transfer to it, or a refund), to an address."""
    paths = {
        "settlement": "/settlements/claim-credit",
        "liquor": "/liquor/claim-credit",
        "group-buy": "/group-buy/claim-credit",
        "cross-border": "/cross-border/claim-credit",
        "pay-after-delivery": "/checkout/claim-credit",
    }
    if contract not in paths:
        _fail(f"--contract is one of {', '.join(paths)}")
    h = _holder(keystore, api)
    _send(h, paths[contract], {"owner": h.address, "token": _token(h, token), "to": to}, yes)


@app.command("resolve-alarm")
def resolve_alarm(
    alarm_id: str = typer.Argument(..., help="The alarm's id (from GET /operator/alarms)."),
    proceed: bool = typer.Option(..., "--proceed/--cancel", help="Let the payment go ahead, or cancel the shipment."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded with the resolution)."),
    admin_token: str = typer.Option(
        ..., "--admin-token", envvar="ORDERCHAIN_ADMIN_TOKEN", help="The operator's token."
    ),
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Resolve an alarm as the operator; one the keeper recorded on chain is cleared there with
    this keystore's key (OfflinePayment's operator), signed here."""
    h = _holder(keystore, api)
    try:
        resolved = answer(
            h.http.post(
                f"/operator/alarms/{alarm_id}/resolve",
                json={"proceed": proceed, "reason": reason},
                headers={"Authorization": f"Bearer {admin_token}"},
            )
        )
    except ApiError as exc:
        _fail(str(exc))
    typer.echo(f"alarm {alarm_id} resolved: {'proceed' if proceed else 'cancel'} ({reason})")
    tx = resolved.get("transaction")
    if tx is None:
        typer.echo("it was not on chain: nothing to clear there")
        return
    if tx["from"].lower() != h.address.lower():
        _fail(f"clearAlarm must be signed by OfflinePayment's operator {tx['from']}; this wallet is {h.address}")
    typer.echo(f"clearAlarm from {h.address} to {tx['to']}: gas {int(tx['gas'], 16)}, nonce {int(tx['nonce'], 16)}")
    if not yes and not typer.confirm("sign and send?", default=True):
        raise typer.Exit(1)
    _report(_run(lambda: h.relay(sign_transaction(h.account, tx))))


@app.command()
def attest(
    login: str = typer.Argument(..., help="The account whose identity was reviewed (GET /operator/accounts)."),
    level: int = typer.Option(1, "--level", min=1, max=2, help="1: the record checked; 2: checked in person."),
    valid_for: int = typer.Option(365 * 86_400, "--valid-for", min=0, help="Seconds until it expires (0: never)."),
    admin_token: str = typer.Option(
        ..., "--admin-token", envvar="ORDERCHAIN_ADMIN_TOKEN", help="The operator's token."
    ),
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Attest an account's identity on chain (EAS) with this keystore's key, one the deployment
    trusts as attester: the API builds the transaction (a salted hash of the record and the
    level, never the data), it is signed here."""
    h = _holder(keystore, api)
    try:
        built = answer(
            h.http.post(
                f"/operator/accounts/{login}/attestation",
                json={"attester": h.address, "level": level, "valid_for": valid_for},
                headers={"Authorization": f"Bearer {admin_token}"},
            )
        )
    except ApiError as exc:
        _fail(str(exc))
    tx = built["transaction"]
    typer.echo(
        f"attest {login} at level {level} (record {built['identity_hash']}, "
        + (f"expires at {built['expiration_time']}" if built["expiration_time"] else "never expires")
        + f") from {h.address} to {tx['to']}: gas {int(tx['gas'], 16)}, nonce {int(tx['nonce'], 16)}"
    )
    if not yes and not typer.confirm("sign and send?", default=True):
        raise typer.Exit(1)
    _report(_run(lambda: h.relay(sign_transaction(h.account, tx))))


# -- what every capability's signing commands share


def _option(name: str, field) -> inspect.Parameter:
    flag = "--" + name.replace("_", "-")
    # Amounts are integers shown as decimal strings (their schema says so); plain integers stay integers.
    kind = int if field.annotation is int and not any(isinstance(m, WithJsonSchema) for m in field.metadata) else str
    default = ... if field.is_required() else field.default
    if kind is str and isinstance(default, int) and not isinstance(default, bool):
        default = str(default)  # an amount's default, sent as the decimal string the API takes
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=kind,
        default=typer.Option(default, flag, help=field.description or ""),
    )


def holder_parameters() -> list[inspect.Parameter]:
    """The options every signing command ends with: the keystore, the API, ``--yes``."""
    P = inspect.Parameter
    return [
        P("keystore", P.KEYWORD_ONLY, annotation=Path | None, default=KEYSTORE),
        P("api", P.KEYWORD_ONLY, annotation=str, default=API),
        P("yes", P.KEYWORD_ONLY, annotation=bool, default=YES),
    ]


def action_command(action: ContractAction, path: str, option=None):
    """A command for a row of a contract's action table (``POST path``), sent by this wallet:
    one option per field of the row's model but ``sender``; ``option(name, field)`` may
    give a field an option of its own (None: the usual one)."""
    fields = {n: f for n, f in action.model.model_fields.items() if n != "sender"}

    def command(keystore: Path | None, api: str, yes: bool, **extra) -> None:
        h = _holder(keystore, api)
        body = {"sender": h.address, **{k: v for k, v in extra.items() if v is not None}}
        _send(h, path, body, yes)

    command.__signature__ = inspect.Signature(
        [*((option and option(n, f)) or _option(n, f) for n, f in fields.items()), *holder_parameters()]
    )
    command.__name__ = action.name.replace("-", "_")
    command.__doc__ = f"{action.summary} (signed by {action.by})."
    return command
