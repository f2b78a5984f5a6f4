"""Settlements from the command line: ``orderchain wallet approve``, ``agree`` and one command
per row of the settlement's action table (``open``, ``ship``, ``confirm``, ``claim`` ...),
signed here from the local keystore."""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from api.actions.settlement import ACTIONS, Action
from api.cli.wallet import API, KEYSTORE, TOKEN, YES, _fail, _holder, _option, _send, _token, app, holder_parameters
from api.client import ApiError, Holder, agreement


def _key(holder: Holder, store: str, order: str, buyer: str | None, payer: str | None, token: str | None) -> dict:
    key = {"store": store, "order_number": order, "buyer": buyer or holder.address, "token": _token(holder, token)}
    if payer:
        key["payer"] = payer
    return key


@app.command()
def approve(
    amount: str = typer.Option(..., help="Amount in base units."),
    token: str | None = TOKEN,
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Approve the settlement contract to take AMOUNT of the token (before `open`)."""
    h = _holder(keystore, api)
    _send(h, "/settlements/approve", {"owner": h.address, "token": _token(h, token), "amount": amount}, yes)


@app.command()
def agree(
    store: str = typer.Option(..., "--store", help="The store's address."),
    order: str = typer.Option(..., "--order", help="The store order number."),
    to_store: str = typer.Option(..., "--to-store", help="What the store gets; the payer gets the rest."),
    buyer: str | None = typer.Option(None, "--buyer", help="The buyer's address [default: this wallet]."),
    payer: str | None = typer.Option(None, "--payer", help="The payer [default: the buyer]."),
    deadline: str | None = typer.Option(None, "--deadline", help="Unix time [default: a week from now]."),
    token: str | None = TOKEN,
    keystore: Path | None = KEYSTORE,
    api: str = API,
):
    """Sign an agreed split of a settlement (EIP-712, locally): give the signature to the
    other party, who sends `settle` with it."""
    h = _holder(keystore, api)
    try:
        signed = agreement(
            h, _key(h, store, order, buyer, payer, token), int(to_store), int(deadline) if deadline else None
        )
    except (ApiError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(
        f"signature {signed['signature']}\ndeadline {signed['deadline']}\n"
        f"settlement {signed['settlement_id']}\nsigned by {h.address}"
    )


# -- the settlement actions, one command per row of the action table

KEY_FIELDS = ("key", "sender", "permit")  # filled in by the wallet, not asked for


def _command(action: Action):
    """A wallet command for ``action``: builds it through the API, signs here, relays it."""
    buyer_is_wallet = action.signer in ("payer", "buyer")
    fields = {n: f for n, f in action.model.model_fields.items() if n not in KEY_FIELDS}

    def command(
        store: str,
        order: str,
        buyer: str | None,
        payer: str | None,
        token: str | None,
        keystore: Path | None,
        api: str,
        yes: bool,
        **extra,
    ) -> None:
        h = _holder(keystore, api)
        if action.signer == "payer" and buyer and not payer:
            payer = h.address  # paying for another buyer
        body = {"key": _key(h, store, order, buyer, payer, token), **extra}
        if action.signer == "sender":
            body["sender"] = h.address
        if "permit" in action.model.model_fields:
            try:
                body["permit"] = h.permit(body["key"]["token"], int(extra["amount"]))
            except (ApiError, ValueError) as exc:
                _fail(str(exc))
        _send(h, f"/settlements/{action.name}", body, yes)

    P = inspect.Parameter
    buyer_help = "The buyer's address" + (" [default: this wallet]." if buyer_is_wallet else ".")
    command.__signature__ = inspect.Signature(
        [
            P(
                "store",
                P.KEYWORD_ONLY,
                annotation=str,
                default=typer.Option(..., "--store", help="The store's address."),
            ),
            P(
                "order",
                P.KEYWORD_ONLY,
                annotation=str,
                default=typer.Option(..., "--order", help="The store order number."),
            ),
            P(
                "buyer",
                P.KEYWORD_ONLY,
                annotation=str | None,
                default=typer.Option(None if buyer_is_wallet else ..., "--buyer", help=buyer_help),
            ),
            P(
                "payer",
                P.KEYWORD_ONLY,
                annotation=str | None,
                default=typer.Option(None, "--payer", help="Who pays and receives refunds [default: the buyer]."),
            ),
            P("token", P.KEYWORD_ONLY, annotation=str | None, default=TOKEN),
            *(_option(n, f) for n, f in fields.items()),
            *holder_parameters(),
        ]
    )
    command.__name__ = action.name.replace("-", "_")
    command.__doc__ = f"{action.summary} (signed by the {action.signer})."
    return command


for _action in ACTIONS:
    app.command(_action.name)(_command(_action))
