"""`orderchain account`: register, verify the phone, sign in with both factors, complete the
profile, enrol an authenticator, bind the wallet, see the reputation, sign a checkout's
mandates, list purchases (or export them as CSV), recommendations and notices; and
`orderchain notices outbox`, the SMS messages a development setup keeps instead of sending.

A session's bearer token is kept in ``~/.orderchain/session.json`` (mode 0600; ``--session``
or ``ORDERCHAIN_SESSION``), never printed. The password is prompted for
(``ORDERCHAIN_ACCOUNT_PASSWORD`` for scripts), and so is a code not given as an option.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from api.cli import wallet
from api.cli.wallet import API, KEYSTORE, _fail, _run
from api.client import Holder, answer, sign_transaction
from api.client.group_buy import sign_in_message
from api.client.holder import signature_of

app = typer.Typer(
    help="Accounts: register, sign in with two factors, complete the profile, reputation.", no_args_is_help=True
)
address_app = typer.Typer(help="Saved delivery addresses (with coordinates; one is the default).", no_args_is_help=True)
app.add_typer(address_app, name="address")
notices = typer.Typer(help="Notices sent to people (SMS codes).", no_args_is_help=True)

DEFAULT_SESSION = Path("~/.orderchain/session.json")
SESSION = typer.Option(
    None, "--session", envvar="ORDERCHAIN_SESSION", help="Session file [default: ~/.orderchain/session.json]."
)


def _session_path(session: Path | None) -> Path:
    return (session or DEFAULT_SESSION).expanduser()


def _password(confirm: bool = False) -> str:
    env = os.environ.get("ORDERCHAIN_ACCOUNT_PASSWORD")
    if env is not None:
        return env
    return typer.prompt("account password", hide_input=True, confirmation_prompt=confirm)


class _Signed:
    """The API client with the session's token on every request."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str):
        call = getattr(self.client, method)
        return lambda path, **kw: call(path, headers=self.headers, **kw)


def _authorised(api: str, session: Path | None) -> _Signed:
    path = _session_path(session)
    if not path.exists():
        _fail("not signed in: `orderchain account login` first")
    return _Signed(wallet.http_client(api), json.loads(path.read_text())["token"])


def _show(data: dict) -> None:
    typer.echo(json.dumps(data, indent=2))


def _prompts(me: dict) -> None:
    for action, missing in me["missing"].items():
        if missing:
            typer.echo(f"  to {action.replace('_', ' ')}: add {', '.join(missing)}")


@app.command()
def register(
    login: str = typer.Option(..., help="An e-mail address or any name without spaces."),
    phone: str = typer.Option(..., help="International form (+44 7911 123456), or national with --region."),
    region: str = typer.Option(None, help="ISO 3166 country of a national phone number (GB, DE ...)."),
    role: str = typer.Option(
        "buyer",
        help="buyer; store_staff (with --store and its --store-key); operator, warehouse or lender "
        "(with --admin-token).",
    ),
    store: str = typer.Option(None, help="The store a staff account works for."),
    store_key: str = typer.Option(None, envvar="ORDERCHAIN_STORE_KEY", help="That store's API key."),
    admin_token: str = typer.Option(None, envvar="ORDERCHAIN_ADMIN_TOKEN", help="The operator's token."),
    api: str = API,
) -> None:
    """Register an account; a code goes to the phone (then `orderchain account verify-phone`).
    A buyer registers alone; the store opens its staff's accounts, the operator every other role."""
    body = {"login": login, "password": _password(confirm=True), "phone": phone}
    if region:
        body["region"] = region
    path, headers = "/accounts", {}
    if role == "store_staff":
        if not (store and store_key):
            _fail("a staff account needs --store and --store-key (the store opens its staff's accounts)")
        path, headers = f"/stores/{store}/staff", {"Authorization": f"Bearer {store_key}"}
    elif role != "buyer":
        if not admin_token:
            _fail(f"the operator opens a {role}'s account: give --admin-token")
        path, headers, body = "/operator/accounts", {"Authorization": f"Bearer {admin_token}"}, {**body, "role": role}
    made = _run(lambda: answer(wallet.http_client(api).post(path, json=body, headers=headers)))
    typer.echo(f"registered {made['login']} ({role.replace('_', ' ')}); a code went to {made['sent_to']}")


@app.command("verify-phone")
def verify_phone(
    login: str = typer.Option(None, help="The account (not signed in yet: a new account's first code)."),
    code: str = typer.Option(None, help="The code sent to the phone (prompted for if not given)."),
    api: str = API,
    session: Path = SESSION,
) -> None:
    """Verify the phone with the code sent to it (a new account's, or a new phone's once signed in)."""
    code = code or typer.prompt("code")
    if login:
        body = {"login": login, "code": code}
        _run(lambda: answer(wallet.http_client(api).post("/accounts/verify-phone", json=body)))
        typer.echo("the phone is verified")
        return
    me = _run(lambda: answer(_authorised(api, session).post("/accounts/me/phone/verify", json={"code": code})))
    typer.echo(f"the phone {me['phone']} is verified")


@app.command()
def login(
    login: str = typer.Option(..., help="The account's login."),
    code: str = typer.Option(None, help="The one-time code (prompted for; an SMS code is asked for first)."),
    totp: bool = typer.Option(False, "--totp", help="Use the authenticator's code (no SMS is sent)."),
    api: str = API,
    session: Path = SESSION,
) -> None:
    """Sign in with the password and a one-time code; the session is kept for the other commands."""
    client = wallet.http_client(api)
    if code is None and not totp:
        _run(lambda: answer(client.post("/accounts/sign-in/code", json={"login": login})))
        typer.echo("if the account signs in with SMS codes, a code is on its way")
    password = _password()
    code = code or typer.prompt("code")
    opened = _run(
        lambda: answer(client.post("/accounts/sign-in", json={"login": login, "password": password, "code": code}))
    )
    path = _session_path(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"token": opened["token"], "login": opened["login"], "expires_at": opened["expires_at"]})
    )
    path.chmod(0o600)
    typer.echo(f"signed in as {opened['login']} ({opened['role']}, {opened['factor']}); session kept in {path}")


@app.command()
def logout(api: str = API, session: Path = SESSION) -> None:
    """End the session."""
    client = _authorised(api, session)
    _run(lambda: client.post("/accounts/sign-out").raise_for_status())
    _session_path(session).unlink()
    typer.echo("signed out")


@app.command()
def profile(
    name: str = typer.Option(None, help="Set the name."),
    company: str = typer.Option(None, help="Set the company."),
    phone: str = typer.Option(None, help="Set a new phone (a code goes to it: then `verify-phone`)."),
    region: str = typer.Option(None, help="The region of a national --phone."),
    api: str = API,
    session: Path = SESSION,
) -> None:
    """Show the profile and what each action still needs; change the name, company or phone."""
    client = _authorised(api, session)
    if name or company:
        body = {k: v for k, v in {"name": name, "company": company}.items() if v}
        _run(lambda: answer(client.patch("/accounts/me", json=body)))
    if phone:
        body = {"phone": phone} | ({"region": region} if region else {})
        sent = _run(lambda: answer(client.put("/accounts/me/phone", json=body)))
        typer.echo(f"a code went to {sent['sent_to']}: `orderchain account verify-phone`")
    me = _run(lambda: answer(client.get("/accounts/me")))
    typer.echo(
        f"{me['login']} ({me['role']}): {me['name'] or 'no name yet'}, phone {me['phone'] or 'none'}"
        f"{' (verified)' if me['phone_verified'] else ''}, second factor {me['second_factor'] or 'none'}"
    )
    for a in me["addresses"]:
        typer.echo(f"  {'*' if a['default'] else ' '} {a['label']}: {', '.join(a['lines'])} ({a['country']})")
    _prompts(me)


@address_app.command("add")
def address_add(
    label: str = typer.Argument(..., help="home, office ..."),
    line: list[str] = typer.Option(..., "--line", help="An address line; repeat for each."),
    country: str = typer.Option(..., help="ISO 3166 alpha-2 (GB)."),
    latitude: float = typer.Option(..., "--lat"),
    longitude: float = typer.Option(..., "--lon"),
    default: bool = typer.Option(False, "--default", help="Make it the default."),
    api: str = API,
    session: Path = SESSION,
) -> None:
    """Save a delivery address (the first one is the default)."""
    body = {"lines": line, "country": country, "latitude": latitude, "longitude": longitude, "default": default}
    me = _run(lambda: answer(_authorised(api, session).put(f"/accounts/me/addresses/{label}", json=body)))
    typer.echo(f"saved {label}; default: {next(a['label'] for a in me['addresses'] if a['default'])}")


@address_app.command("remove")
def address_remove(label: str = typer.Argument(...), api: str = API, session: Path = SESSION) -> None:
    """Remove a saved address."""
    _run(lambda: answer(_authorised(api, session).delete(f"/accounts/me/addresses/{label}")))
    typer.echo(f"removed {label}")


@app.command("enrol-totp")
def enrol_totp(
    code: str = typer.Option(None, help="The authenticator's first code (prompted for)."),
    api: str = API,
    session: Path = SESSION,
) -> None:
    """Enrol an authenticator app: from then on, sign-ins take its codes instead of SMS."""
    client = _authorised(api, session)
    made = _run(lambda: answer(client.post("/accounts/me/totp")))
    typer.echo(f"add this to the authenticator: {made['provisioning_uri']}\n(secret {made['secret']})")
    code = code or typer.prompt("the authenticator's code")
    me = _run(lambda: answer(client.post("/accounts/me/totp/confirm", json={"secret": made["secret"], "code": code})))
    typer.echo(f"enrolled: the second factor is now {me['second_factor']}")


@app.command("bind-wallet")
def bind_wallet(keystore: Path = KEYSTORE, api: str = API, session: Path = SESSION) -> None:
    """Bind the keystore's wallet to the account (a Sign-In with Ethereum signed here)."""
    client = _authorised(api, session)
    holder = wallet._holder(keystore, api)
    holder.http = client
    me = _run(lambda: answer(client.post("/accounts/me/wallet", json=sign_in_message(holder))))
    typer.echo(f"bound {me['wallet']} to {me['login']}")


@app.command()
def reputation(api: str = API, session: Path = SESSION) -> None:
    """The account's reputation: each counter explained, the score and the credit limit."""
    found = _run(lambda: answer(_authorised(api, session).get("/accounts/me/reputation")))
    for c in found["counters"]:
        typer.echo(
            f"  {c['name']:<24} {c['counts']:<8} {c['last_365_days']:>6} in 365 days ({c['total']} in all): {c['means']}"
        )
    typer.echo(
        f"score {found['score']} ({found['positive']} for, {found['negative']} against in 365 days); identity level "
        f"{found['identity_level']}; credit limit {found['credit_limit']} base units (cap {found['credit_limit_cap']})"
    )


@app.command("sign-mandates")
def sign_mandates(
    checkout_id: str = typer.Option(..., "--checkout", help="The checkout order whose mandates to sign."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Sign without asking."),
    approve: bool = typer.Option(
        True, "--approve/--no-approve", help="Approve OfflinePayment for the mandates' total (an on-chain transaction)."
    ),
    keystore: Path = KEYSTORE,
    api: str = API,
    session: Path = SESSION,
) -> None:
    """Sign each store's mandate of a checkout with the keystore's wallet (no transaction, no
    money moves: the store is paid only after its shipment is verified), shown first."""
    client = _authorised(api, session)
    order = _run(lambda: answer(client.get(f"/checkout/{checkout_id}")))
    waiting = [s for s in order["shipments"] if s.get("typed_data")]
    if not waiting:
        _fail(f"checkout {checkout_id} has no mandate left to sign (it is {order['status']})")
    account = wallet._load(keystore)
    for shipment in waiting:
        message = shipment["typed_data"]["message"]
        typer.echo(
            f"{shipment['store_id']}: at most {message['maxAmount']} base units of {message['token']} "
            f"(goods {shipment['goods']} + freight {shipment['freight']['total']} by {shipment['courier_id']}), "
            f"collected after verified delivery, valid until {message['validUntil']}"
        )
        if message["buyer"].lower() != account.address.lower():
            _fail(f"the mandate is for the wallet {message['buyer']}, the keystore holds {account.address}")
        if not yes and not typer.confirm("sign this mandate?", default=False):
            _fail("nothing signed")
        body = {"store_id": shipment["store_id"], "signature": signature_of(account, shipment["typed_data"])}
        order = _run(lambda body=body: answer(client.post(f"/checkout/{checkout_id}/mandates", json=body)))
    typer.echo(f"checkout {checkout_id} is {order['status'].replace('_', ' ')}")
    if approve:
        # What the mandates may collect, approved to OfflinePayment (the money stays in the wallet until then).
        token = waiting[0]["typed_data"]["message"]["token"]
        total = sum(int(s["typed_data"]["message"]["maxAmount"]) for s in waiting)
        typer.echo(f"approving OfflinePayment to collect at most {total} base units of {token} in all")
        holder = Holder(wallet.http_client(api), account, wait=30)
        wallet._send(holder, "/checkout/approve", {"owner": account.address, "token": token, "amount": str(total)}, yes)


@app.command("revoke-mandate")
def revoke_mandate(
    checkout_id: str = typer.Option(..., "--checkout", help="The checkout order."),
    store_id: str = typer.Option(..., "--store", help="The store whose mandate to revoke."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Sign without asking."),
    keystore: Path = KEYSTORE,
    api: str = API,
    session: Path = SESSION,
) -> None:
    """Revoke a store's mandate of a checkout before its first verification (a transaction
    signed here with the keystore's wallet: nothing can be collected under it after)."""
    client = _authorised(api, session)
    built = _run(lambda: answer(client.post(f"/checkout/{checkout_id}/revoke", json={"store_id": store_id})))
    account = wallet._load(keystore)
    tx = built["transaction"]
    if tx["from"].lower() != account.address.lower():
        _fail(f"the mandate is {tx['from']}'s to revoke; the keystore holds {account.address}")
    typer.echo(f"revoke the mandate of {store_id} for checkout {checkout_id} from {account.address}")
    if not yes and not typer.confirm("sign and send?", default=True):
        _fail("nothing signed")
    holder = Holder(wallet.http_client(api), account, wait=30)
    wallet._report(_run(lambda: holder.relay(sign_transaction(account, tx))))


@app.command()
def purchases(
    as_csv: bool = typer.Option(False, "--csv", help="Write CSV (for a spreadsheet) instead of a table."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of the terminal."),
    api: str = API,
    session: Path = SESSION,
) -> None:
    """The account's purchases across every capability: unit price, store, date and transaction."""
    client = _authorised(api, session)
    if as_csv:
        response = client.get("/accounts/me/purchases", params={"format": "csv"})
        text = _run(lambda: response.text if response.status_code == 200 else answer(response))
    else:
        records = _run(lambda: answer(client.get("/accounts/me/purchases")))
        lines = [
            f"{_date(r['at'])}  {r['capability']:<18} {r['store_id'] or r['seller']:<14} {r['item']:<16} "
            f"{r['quantity']:>4} x {r['unit_price']:>12} = {r['amount']:>12}  {r['status']:<10} {r['tx_hash'] or '-'}"
            for r in records
        ]
        text = "\n".join(lines or ["no purchases yet"]) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"wrote {output}")


def _date(at: int | None) -> str:
    from datetime import UTC, datetime

    return "pending   " if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


@app.command()
def recommendations(
    store_id: str | None = typer.Option(None, "--store", help="Only this store's items."),
    limit: int = typer.Option(5, help="How many to show."),
    api: str = API,
    session: Path = SESSION,
) -> None:
    """Items for you from everyone's purchase habits, each with its reason."""
    params: dict = {"limit": limit} | ({"store_id": store_id} if store_id else {})
    found = _run(lambda: answer(_authorised(api, session).get("/accounts/me/recommendations", params=params)))
    if not found:
        typer.echo("nothing to recommend yet")
    for r in found:
        typer.echo(f"  {r['item']:<24} {r['reason']}" + (f" (lift {r['lift']})" if r["lift"] else ""))


@app.command("notices")
def my_notices(api: str = API, session: Path = SESSION) -> None:
    """The notices sent to you about orders paid after delivery, newest first."""
    found = _run(lambda: answer(_authorised(api, session).get("/accounts/me/notices")))
    if not found:
        typer.echo("no notices yet")
    for n in found:
        typer.echo(f"  [{n['state']}] {n['text']}")


@app.command()
def export(api: str = API, session: Path = SESSION) -> None:
    """Everything kept about the account, as JSON."""
    _show(_run(lambda: answer(_authorised(api, session).get("/accounts/me/export"))))


@notices.command()
def outbox(limit: int = typer.Option(20, help="How many of the newest messages to show.")) -> None:
    """The SMS messages kept in the local outbox (no ORDERCHAIN_SMS_URL set), newest last."""
    from engine.account_desk import outbox_path
    from engine.accounts.sms import Outbox
    from engine.config import Settings

    messages = Outbox(outbox_path(Settings.from_env())).messages()
    if not messages:
        typer.echo("the outbox is empty")
    for m in messages[-limit:]:
        typer.echo(f"{m['at']}  to {m['to']}: {m['text']}")
