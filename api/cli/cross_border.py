"""Cross-border orders from the command line: ``orderchain wallet cross-border ...``.

The buyer asks a quote (the breakdown is shown: price, target freight, the rate and until
when it holds), pays it (approval of the hold, then ``pay``: the confirmation), tops up
when a final bill asks for it, and asks for returns. The seller (or the operator) pays
freight legs, issues the final bill and answers returns; anyone releases, escalates and
ends lapsed disputes; the arbiter resolves. One command per row of the escrow's action
table, all signed here from the local keystore.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import typer

from api.actions.cross_border import ACTIONS
from api.cli import wallet
from api.cli.wallet import API, KEYSTORE, TOKEN, YES, _fail, _holder, _token
from api.client import ApiError, answer

app = typer.Typer(
    help="Cross-border orders in the notary escrow: quote, pay, legs, final bill, top-up, returns.",
    no_args_is_help=True,
)
ORDER = typer.Option(..., "--order", help="The escrow's order id.")


def _get(h, path: str, **params):
    try:
        return answer(h.http.get(path, params=params or None))
    except ApiError as exc:
        _fail(str(exc))


def _show_quote(snapshot: dict, snapshot_hash: str) -> None:
    s, f, shipment = snapshot["settlement"], snapshot["freight"], snapshot["shipment"]
    typer.echo(f"quote {snapshot_hash}")
    typer.echo(
        f"  goods          {snapshot['goods']}  ({shipment['origin']} -> {shipment['destination']}, "
        f"{shipment['length_cm']}x{shipment['width_cm']}x{shipment['height_cm']} cm, "
        f"{shipment['weight_kg']} kg)"
    )
    typer.echo(f"  price          {shipment['price_minor']} {shipment['currency']} minor units -> {s['price']}")
    typer.echo(
        f"  target freight {f['target_freight_minor']} {shipment['currency']} minor units -> "
        f"{s['target_freight']} (estimate {f['estimate_minor']} x {f['factor']}, groups S/C/F {f['groups']})"
    )
    rate = snapshot.get("rate")
    if rate:
        typer.echo(
            f"  rate           1 {rate['base']} = {rate['rate']} {rate['quote']} ({rate['source']}, "
            f"{rate['at']}; signature {rate['signature_hash'][:18]}...)"
        )
    typer.echo(f"  to pay         {s['hold']} base units of {s['token']} ({s['currency']}, {s['decimals']} decimals)")
    typer.echo(f"  return policy  {snapshot['return_policy'].replace('_', ' ')}")
    typer.echo(f"  rate holds until chain time {snapshot['rate_valid_until']}")


@app.command()
def quote(
    seller: str = typer.Option(..., "--seller", help="The seller's address."),
    shipment: str = typer.Option(
        ...,
        "--shipment",
        help="The shipment as JSON: origin, destination, "
        "length_cm, width_cm, height_cm, weight_kg, "
        "price_minor, currency, quoted_at.",
    ),
    goods: str = typer.Option(..., "--goods", help="What is bought."),
    settlement_currency: str = typer.Option("USD", "--settlement-currency", help="The currency the token stands for."),
    policy: str = typer.Option("seller_pays_return", "--policy", help="seller_pays_return or buyer_pays_return."),
    token: str | None = TOKEN,
    keystore: Path | None = KEYSTORE,
    api: str = API,
):
    """Ask a quote for an order (you are the buyer): price + target freight at the operator's rate."""
    h = _holder(keystore, api)
    try:
        data = json.loads(shipment)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        _fail(f"--shipment is not a JSON object: {exc}")
    body = {
        **data,
        "buyer": h.address,
        "seller": seller,
        "token": _token(h, token),
        "settlement_currency": settlement_currency,
        "goods": goods,
        "return_policy": policy,
    }
    try:
        quoted = answer(h.http.post("/cross-border/quotes", json=body))
    except ApiError as exc:
        _fail(str(exc))
    _show_quote(quoted["snapshot"], quoted["snapshot_hash"])
    typer.echo(f"pay it with: orderchain wallet cross-border pay --quote {quoted['snapshot_hash']}")


@app.command()
def pay(
    snapshot_hash: str = typer.Option(..., "--quote", help="The quote's snapshot hash."),
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Pay a quote into the escrow: approve the hold, then `pay` (the confirmation of what is shown)."""
    h = _holder(keystore, api)
    snapshot = _get(h, f"/cross-border/quotes/{snapshot_hash}")
    _show_quote(snapshot, snapshot_hash)
    s = snapshot["settlement"]
    if not yes and not typer.confirm(f"pay {s['hold']} into the escrow?", default=True):
        raise typer.Exit(1)
    wallet._send(h, "/cross-border/approve", {"owner": h.address, "token": s["token"], "amount": s["hold"]}, True)
    wallet._send(h, "/cross-border/pay", {"sender": h.address, "snapshot_hash": snapshot_hash}, True)


@app.command("top-up")
def top_up(order_id: int = ORDER, keystore: Path | None = KEYSTORE, api: str = API, yes: bool = YES):
    """Pay the top-up a final bill asked for (approves the amount first)."""
    h = _holder(keystore, api)
    order = _get(h, f"/cross-border/orders/{order_id}")
    due = order.get("top_up")
    if not due:
        _fail(f"order {order_id} is {order['status']}: no top-up is asked for")
    if not yes and not typer.confirm(f"top up {due['amount']} (due by chain time {due['deadline']})?", default=True):
        raise typer.Exit(1)
    wallet._send(
        h, "/cross-border/approve", {"owner": h.address, "token": order["token"], "amount": due["amount"]}, True
    )
    wallet._send(h, "/cross-border/top-up", {"sender": h.address, "order_id": order_id}, True)


@app.command()
def orders(keystore: Path | None = KEYSTORE, api: str = API):
    """Your cross-border orders (as buyer or seller), with what is due."""
    h = _holder(keystore, api)
    listed = _get(h, "/cross-border/orders", party=h.address)
    if not listed:
        typer.echo(f"no cross-border orders of {h.address}")
    for o in listed:
        role = "buyer" if o["buyer"] == h.address.lower() else "seller"
        line = (
            f"order {o['order_id']}  {o['status']}  ({role})  price {o['price']}  freight held "
            f"{o['freight_held']} paid {o['freight_paid']}"
        )
        if o.get("top_up"):
            line += f"  TOP-UP {o['top_up']['amount']} due by {o['top_up']['deadline']}"
        if o["status"] in ("paid", "in_transit"):
            line += f"  to be billed by {o['bill_by']} (then the buyer may cancel)"
        if o["status"] == "return_refused":
            line += f"  return refused: the buyer may escalate until {o['return']['answer']['contest_by']}"
        if o.get("quote_problems"):
            line += "  differs from its quote: " + "; ".join(o["quote_problems"])
        typer.echo(line)


def _option_of(name: str, field):
    """The order id and the accept/refuse switch get options of their own."""
    P = inspect.Parameter
    if field.annotation is bool:
        return P(
            name,
            P.KEYWORD_ONLY,
            annotation=bool,
            default=typer.Option(..., f"--{name}/--refuse", help="Accept or refuse."),
        )
    if name == "order_id":
        return P(name, P.KEYWORD_ONLY, annotation=int, default=ORDER)
    return None


for _action in ACTIONS:
    if _action.name != "top-up":
        app.command(_action.name)(wallet.action_command(_action, f"/cross-border/{_action.name}", _option_of))
wallet.app.add_typer(app, name="cross-border")
