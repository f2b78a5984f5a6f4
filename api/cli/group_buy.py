"""Group buying from the command line: ``orderchain wallet campaign ...``.

A buyer orders into a campaign with signed evidence (``order``: signs in, is shown the order
and its risk notice, signs the acknowledgement and the confirmation here, approves and pledges
the deposit with the confirmation's hash and hands the evidence in), lists the campaigns it
backs (``mine``) and takes its deposit back from a failed or cancelled campaign (``refund``).
The enterprise opens a campaign for a scheme of its catalogue (``open``), lowers its MOQ,
extends its target date, cancels it, or collects the deposits after success. One command per
row of the group-buy action table besides; every signature is made here, from the local
keystore.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from api.actions.common import ContractAction
from api.actions.group_buy import ACTIONS
from api.cli import wallet
from api.cli.wallet import API, KEYSTORE, YES, _holder, _run
from api.client import answer
from api.client import group_buy as client
from api.models.group_buy import OpenCampaignIn

app = typer.Typer(
    help="Group buying: order into a campaign with signed evidence, refunds, and the enterprise's campaign actions.",
    no_args_is_help=True,
)
CAMPAIGN = typer.Option(..., "--campaign", help="The campaign's id.")


@app.command()
def order(
    campaign_id: int = CAMPAIGN,
    quantity: int = typer.Option(..., "--quantity", min=1, help="Units to order."),
    keystore: Path | None = KEYSTORE,
    api: str = API,
    yes: bool = YES,
):
    """Order units of a campaign with signed evidence: shows the order and its risk notice, then
    signs the acknowledgement and the confirmation, approves and pledges the deposit, and hands
    the evidence in (kept and anchored on chain by the operator)."""
    h = _holder(keystore, api)
    session = _run(lambda: client.sign_in(h))
    fresh, prepared = _run(lambda: client.prepare_order(h, session, campaign_id, quantity))
    o = prepared["order"]
    typer.echo(
        f"order: {o['quantity']} unit(s) of scheme {o['scheme']} (campaign {o['campaign_id']}, "
        f"{o['term']} production cycle(s)) at {o['unit_price']} each; deposit {o['deposit']} of token "
        f"{o['token']}, paid into contract {o['contract']} on chain {o['chain_id']}"
    )
    typer.echo("risk notice:\n  " + prepared["risk_notice"].replace("\n", "\n  "))
    if not yes and not typer.confirm("sign the acknowledgement and the confirmation, and pledge?", default=True):
        raise typer.Exit(1)
    recorded = _run(lambda: client.complete_order(h, fresh, prepared))
    wallet._report(recorded["pledge"])
    typer.echo(
        f"evidence {recorded['bundle_hash']} recorded (confirmation {prepared['confirmation_hash']}); "
        f"`orderchain evidence verify` checks it once anchored"
    )


@app.command()
def mine(keystore: Path | None = KEYSTORE, api: str = API):
    """The campaigns this wallet backs: its units, its deposit, and whether it may refund."""
    h = _holder(keystore, api)
    listed = _run(lambda: answer(h.http.get("/campaigns", params={"backer": h.address})))
    if not listed:
        typer.echo(f"no campaigns backed by {h.address}")
    for c in listed:
        mine_ = c["backers"].get(h.address.lower(), {})
        line = (
            f"campaign {c['campaign_id']}  {c['status']}  {mine_.get('quantity', 0)} unit(s), deposit "
            f"{mine_.get('deposit', 0)}  ({c['pledged']}/{c['moq']} pledged of the MOQ)"
        )
        if mine_.get("refunded"):
            line += "  refunded"
        elif c["status"] in ("failed", "cancelled"):
            line += "  REFUNDABLE: `orderchain wallet campaign refund --campaign " + str(c["campaign_id"]) + "`"
        typer.echo(line)


def _option_of(name: str, field):
    if name == "campaign_id":
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=int, default=CAMPAIGN)
    return None


OPEN = ContractAction(
    "open",
    "openCampaign",
    "enterprise",
    OpenCampaignIn,
    lambda b: (),
    "Open a campaign for a scheme of the store's catalogue (its MOQ and price come from the catalogue)",
)
app.command("open")(wallet.action_command(OPEN, "/group-buy/open-campaign", _option_of))
for _action in ACTIONS:
    app.command(_action.name)(wallet.action_command(_action, f"/group-buy/{_action.name}", _option_of))
wallet.app.add_typer(app, name="campaign")
