"""Liquor cases from the command line: the holder's, lender's and producer's commands of
``orderchain wallet``, and ``orderchain warehouse`` for the custody warehouse.

Everything is signed here from a local keystore; delivery addresses are encrypted here to
the warehouse's key (typed at a prompt, never passed on the command line) and decrypted
only by ``orderchain warehouse queue`` on the warehouse's machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from api.cli import wallet
from api.cli.wallet import API, KEYSTORE, YES, _fail, _holder, _report, _run
from api.client import answer
from api.client import liquor as client

DAY = 86_400
TOKEN_ID = typer.Option(..., "--token-id", help="The case's token id.")


def _case_action(path: str, token_id: int, keystore: Path | None, api: str, yes: bool, **extra) -> None:
    h = _holder(keystore, api)
    wallet._send(h, f"/liquor/{path}", {"sender": h.address, "token_id": str(token_id), **extra}, yes)


def _loan(lender: str | None, interest_per_case: str, term_days: int | None) -> dict | None:
    if lender is None:
        return None
    if term_days is None:
        _fail("a loan purchase needs --term-days (days from each case's outbound until its loan is due)")
    return {"lender": lender, "interest_per_case": interest_per_case, "term": term_days * 86_400}


# -- orderchain wallet: producer


def create_plan(
    facts_hash: str = typer.Option(..., "--facts-hash", help="The listing's facts hash."),
    cases: int | None = typer.Option(None, help="Cases for sale [default: the listing's]."),
    unit_price: str | None = typer.Option(None, help="Price per case, base units [default: the listing's]."),
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Create a sale plan over your listing's facts and custody terms (you are the producer)."""
    h = _holder(keystore, api)
    body = {"sender": h.address, "facts_hash": facts_hash}
    if cases is not None:
        body["cases"] = cases
    if unit_price is not None:
        body["unit_price"] = unit_price
    wallet._send(h, "/liquor/create-plan", body, yes)


# -- buyer and payer


def sign_custody(
    plan: int = typer.Option(..., "--plan", help="The sale plan's id."),
    quantity: int = typer.Option(1, help="Number of cases."),
    lender: str | None = typer.Option(None, help="A loan purchase: the lender who pays."),
    interest_per_case: str = typer.Option("0", help="The loan's interest per case, base units."),
    term_days: int | None = typer.Option(None, help="The loan's term: days from each case's outbound until it is due."),
    keystore: Path | None = KEYSTORE,
    api: str = API,
):
    """Sign the custody agreement of a purchase for someone else to pay (a lender's loan purchase)."""
    h = _holder(keystore, api)
    signed = _run(lambda: client.custody_signature(h, plan, quantity, loan=_loan(lender, interest_per_case, term_days)))
    _show_terms(signed)
    typer.echo(f"signature {signed['signature']}\ndeadline {signed['deadline']}\nbuyer {h.address}")


def _show_terms(signed: dict) -> None:
    terms = signed.get("terms")
    typer.echo(f"custody terms {signed['terms_hash']}:")
    typer.echo("  " + (terms["text"] if terms else "(no listing carries these terms: you sign only their hash)"))
    typer.echo(f"price {signed['amount']} of token {signed['token']}")


def buy(
    plan: int = typer.Option(..., "--plan", help="The sale plan's id."),
    quantity: int = typer.Option(1, help="Number of cases."),
    buyer: str | None = typer.Option(None, help="Buy for another buyer, who signed (with --buyer-signature)."),
    buyer_signature: str | None = typer.Option(None, help="The buyer's custody agreement signature."),
    deadline: int | None = typer.Option(None, help="The deadline the buyer signed."),
    lender: str | None = typer.Option(None, help="A loan purchase: the lender (this wallet) pays."),
    interest_per_case: str = typer.Option("0", help="The loan's interest per case, base units."),
    term_days: int | None = typer.Option(None, help="The loan's term: days from each case's outbound until it is due."),
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Buy cases of a plan: sign the custody agreement (unless another buyer signed it), approve
    the price and pay it into the contract, where it waits for each case's outbound."""
    h = _holder(keystore, api)
    loan = _loan(lender, interest_per_case, term_days)

    def go():
        if buyer_signature is None:
            signed = client.custody_signature(h, plan, quantity, loan=loan)
            _show_terms(signed)
        else:
            if buyer is None or deadline is None:
                raise ValueError("with --buyer-signature give --buyer and --deadline too")
            signed = {"signature": buyer_signature, "deadline": deadline, **_price(h, plan, quantity, buyer, loan)}
        if not yes and not typer.confirm(f"pay {signed['amount']} for {quantity} case(s)?", default=True):
            raise typer.Exit(1)
        result = client.buy(h, plan, quantity, signed, buyer=buyer, loan=loan)
        _report(result)

    _run(go)


def _price(h, plan: int, quantity: int, buyer: str, loan: dict | None) -> dict:
    """The token and price of a purchase, as the custody agreement states them."""
    body = {"plan_id": str(plan), "quantity": quantity, "buyer": buyer}
    if loan:
        body["loan"] = loan
    built = h.build("/liquor/custody-agreement", body)
    return {"token": built["token"], "amount": int(built["amount"])}


def cancel_purchase(
    purchase: int = typer.Option(..., "--purchase", help="The purchase's id."),
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """After the fulfilment window, cancel the cases not yet assigned (the refund is credited:
    `claim-credit --contract liquor`)."""
    h = _holder(keystore, api)
    wallet._send(h, "/liquor/cancel-unassigned", {"sender": h.address, "purchase_id": str(purchase)}, yes)


# -- holder


def cases(keystore: Path | None = KEYSTORE, api: str = API):
    """The cases this wallet holds, with their state."""
    h = _holder(keystore, api)
    held = _run(lambda: answer(h.http.get(f"/liquor/holdings/{h.address}")))
    if not held:
        typer.echo(f"no cases held by {h.address}")
    for case in held:
        loan = case.get("loan")
        typer.echo(
            f"case {case['token_id']}  {case.get('case_code_text') or case['case_code']}  plan "
            f"{case['plan_id']}  {case['state']}"
            + (f"  pledged to {loan['lender']} until {loan['due_at']}" if loan else "")
        )


def gift(
    token_id: int = TOKEN_ID,
    to: str = typer.Option(..., "--to", help="The recipient's address."),
    message: str = typer.Option("A gift", help="A message (its hash goes on chain)."),
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Give a case away."""
    _case_action("gift", token_id, keystore, api, yes, to=to, message=message)


def pledge(
    offer: str = typer.Option(..., "--offer", help="The lender's offer, as `offer-loan` printed it (JSON)."),
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Accept a lender's signed loan offer: the principal comes to you, the case is locked to the lender."""
    h = _holder(keystore, api)
    try:
        body = json.loads(offer)
    except ValueError:
        _fail("--offer must be the JSON `offer-loan` printed")
    typer.echo(
        f"loan of {body.get('principal')} + interest {body.get('interest')} from {body.get('lender')}, "
        f"due {body.get('due_at')}: case {body.get('token_id')} stays locked until repaid"
    )
    wallet._send(h, "/liquor/pledge", {"sender": h.address, **body}, yes)


def repay(token_id: int = TOKEN_ID, keystore: Path | None = KEYSTORE, api: str = API, yes: bool = YES):
    """Repay a pledged case's loan (anyone may, for the holder): approves, then repays."""
    h = _holder(keystore, api)
    _report(_run(lambda: client.repay(h, token_id)))


def pickup(token_id: int = TOKEN_ID, keystore: Path | None = KEYSTORE, api: str = API, yes: bool = YES):
    """Ask for delivery: the address is typed here and encrypted here to the warehouse's key; a
    pickup code is made here for the recipient to give at the door."""
    h = _holder(keystore, api)
    address = typer.prompt("delivery address (encrypted on this machine for the warehouse)")
    if not address.strip():
        _fail("a delivery address is needed")
    result = _run(lambda: client.request_pickup(h, token_id, address.strip()))
    _report(result)
    typer.secho(
        f"pickup code {result['pickup_code']}: give it to the recipient; the warehouse asks for it at the door",
        fg="green",
    )


def cancel_pickup(token_id: int = TOKEN_ID, keystore: Path | None = KEYSTORE, api: str = API, yes: bool = YES):
    """Cancel a pickup the warehouse has not dispatched yet."""
    _case_action("cancel-pickup", token_id, keystore, api, yes)


def void_signature(keystore: Path | None = KEYSTORE, api: str = API, yes: bool = YES):
    """Void the pickup request, custody agreement or loan offer you signed and no longer want
    (the one with your current nonce): nobody can relay it any more."""
    h = _holder(keystore, api)
    wallet._send(h, "/liquor/invalidate-nonce", {"sender": h.address}, yes)


# -- lender


def offer_loan(
    token_id: int = TOKEN_ID,
    principal: str = typer.Option(..., help="Base units paid to the holder."),
    interest: str = typer.Option("0", help="Base units due on top of the principal."),
    due_in_days: int = typer.Option(30, help="Days until the loan is due."),
    keystore: Path | None = KEYSTORE,
    api: str = API,
):
    """Offer a loan against a case: signs the offer here and approves the principal; prints the
    offer for the holder (`pledge --offer`)."""
    h = _holder(keystore, api)

    def go():
        now = answer(h.http.get("/status"))["chain_time"]
        return client.loan_offer(h, token_id, int(principal), int(interest), int(now) + due_in_days * DAY)

    offer = _run(go)
    typer.echo(json.dumps(offer, separators=(",", ":")))


def seize(token_id: int = TOKEN_ID, keystore: Path | None = KEYSTORE, api: str = API, yes: bool = YES):
    """Take a pledged case whose loan is overdue (you are its lender)."""
    _case_action("seize", token_id, keystore, api, yes)


def loans(keystore: Path | None = KEYSTORE, api: str = API):
    """The lender book: every case pledged to this wallet."""
    h = _holder(keystore, api)
    for loan in _run(lambda: answer(h.http.get(f"/liquor/lenders/{h.address}/loans"))):
        typer.echo(
            f"case {loan['token_id']}  {loan['status']}{' (overdue)' if loan['overdue'] else ''}  principal "
            f"{loan['principal']} interest {loan['interest']} due {loan['due_at']} holder {loan['holder']}"
        )


for _command in (
    create_plan,
    sign_custody,
    buy,
    cancel_purchase,
    cases,
    gift,
    pledge,
    repay,
    pickup,
    cancel_pickup,
    void_signature,
    offer_loan,
    seize,
    loans,
):
    wallet.app.command(_command.__name__.replace("_", "-"))(_command)


# -- orderchain warehouse

warehouse = typer.Typer(
    help="The custody warehouse: outbound, the redemption queue (decrypted here), delivery. "
    "Its key pair is its keystore's account key.",
    no_args_is_help=True,
)
WAREHOUSE_KEYSTORE = typer.Option(
    None,
    "--keystore",
    envvar="ORDERCHAIN_WAREHOUSE_KEYSTORE",
    help="The warehouse's keystore [default: ~/.orderchain/warehouse.json].",
)
DEFAULT_WAREHOUSE_KEYSTORE = Path("~/.orderchain/warehouse.json")


def _ks(keystore: Path | None) -> Path:
    return keystore or DEFAULT_WAREHOUSE_KEYSTORE


@warehouse.command("new")
def warehouse_new(
    keystore: Path | None = WAREHOUSE_KEYSTORE, force: bool = typer.Option(False, help="Replace an existing file.")
):
    """Create the warehouse's key pair in an encrypted keystore."""
    wallet.new(_ks(keystore), force)


@warehouse.command("import")
def warehouse_import(
    keystore: Path | None = WAREHOUSE_KEYSTORE, force: bool = typer.Option(False, help="Replace an existing file.")
):
    """Import the warehouse's private key (asked for, not echoed) into an encrypted keystore."""
    wallet.import_(_ks(keystore), force)


@warehouse.command("publish-key")
def publish_key(keystore: Path | None = WAREHOUSE_KEYSTORE, api: str = API, yes: bool = YES):
    """Publish the warehouse's public key on chain, so holders can encrypt delivery addresses to it."""
    h = _holder(_ks(keystore), api)
    wallet._send(h, "/liquor/warehouse-key", {"sender": h.address, "public_key": client.public_key_of(h.account)}, yes)


@warehouse.command()
def outbound(
    purchase: int = typer.Option(..., "--purchase", help="The purchase's id."),
    case_code: str = typer.Option(..., "--case-code", help="The case (box) identification code."),
    keystore: Path | None = WAREHOUSE_KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Record a case's outbound for a purchase with its case code: the token is minted to the buyer."""
    h = _holder(_ks(keystore), api)
    wallet._send(
        h, "/liquor/outbound", {"sender": h.address, "purchase_id": str(purchase), "case_code": case_code}, yes
    )


@warehouse.command()
def queue(keystore: Path | None = WAREHOUSE_KEYSTORE, api: str = API):
    """The redemption queue with each delivery address decrypted here, with this warehouse's key."""
    h = _holder(_ks(keystore), api)
    entries = _run(lambda: client.redemption_queue(h))
    if not entries:
        typer.echo("no pickups waiting")
    for entry in entries:
        where = entry["delivery_address"] or entry.get("decrypt_error")
        typer.echo(
            f"case {entry['token_id']}  {entry['state']}  code {entry['case_code']}  holder "
            f"{entry['holder']}\n  deliver to: {where}"
        )


def _warehouse_case(path: str, token_id: int, keystore: Path | None, api: str, yes: bool, **extra) -> None:
    _case_action(path, token_id, _ks(keystore), api, yes, **extra)


@warehouse.command()
def dispatch(token_id: int = TOKEN_ID, keystore: Path | None = WAREHOUSE_KEYSTORE, api: str = API, yes: bool = YES):
    """Send a case on its way (the holder can no longer cancel the pickup)."""
    _warehouse_case("dispatch", token_id, keystore, api, yes)


@warehouse.command("return")
def return_(token_id: int = TOKEN_ID, keystore: Path | None = WAREHOUSE_KEYSTORE, api: str = API, yes: bool = YES):
    """A delivery that failed: the case is back in custody, unlocked."""
    _warehouse_case("return-to-custody", token_id, keystore, api, yes)


@warehouse.command()
def deliver(token_id: int = TOKEN_ID, keystore: Path | None = WAREHOUSE_KEYSTORE, api: str = API, yes: bool = YES):
    """Confirm delivery with the pickup code the recipient gives at the door (typed at a prompt):
    the token is burned."""
    code = typer.prompt("pickup code given at the door", hide_input=True)
    _warehouse_case("confirm-delivery", token_id, keystore, api, yes, pickup_code=code.strip())
