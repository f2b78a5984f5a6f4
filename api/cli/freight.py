"""`orderchain freight`: import the history of completed cross-border orders, and quote freight.

Both work on this machine's event store and views (``ORDERCHAIN_DB``), like ``rebuild``:
the operator's commands, no node needed.
"""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import typer

from api.cli import serve as s

app = typer.Typer(
    help="Freight history and quotes (the operator's, on this machine's event store).", no_args_is_help=True
)


def _open():
    from engine.application import OrderEngine
    from engine.db import Database
    from projections.freight import FreightView
    from projections.runner import Projector

    settings = s.settings()
    projector = Projector(OrderEngine(settings), Database(settings.view_db))
    return settings, projector.app, projector.view(FreightView), projector


@app.command("import")
def import_(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="A CSV with exactly the columns order_id,origin,destination,length_cm,"
        "width_cm,height_cm,weight_kg,price_minor,currency,freight_minor,"
        "completed_at.",
    ),
):
    """Import completed orders: the whole file, or nothing (bad rows are named by line)."""
    from engine.application import Conflict
    from engine.cross_border.freight import FreightError, parse_csv

    try:
        orders = parse_csv(file.read_text(encoding="utf-8-sig"))
    except FreightError as exc:
        s.fail(str(exc), 1)
    except UnicodeDecodeError:
        s.fail(f"{file} is not UTF-8 text", 1)
    _settings, app_, view, projector = _open()
    projector.catch_up()
    try:
        app_.import_freight(orders, file.name, view.known([o.order_id for o in orders]))
    except Conflict as exc:
        s.fail(str(exc), 1)
    projector.catch_up()
    s.say(f"imported {len(orders)} orders from {file.name}; the history holds {view.count()}")


@app.command()
def quote(
    request: str = typer.Option(
        ...,
        "--json",
        help="The quote request as JSON: origin, destination, "
        "length_cm, width_cm, height_cm, weight_kg, price_minor, "
        "currency, quoted_at.",
    ),
):
    """Quote the target freight of a shipment; prints the answer as JSON."""
    from engine.cross_border.freight import FreightError, estimate, request_of

    try:
        data = json.loads(request)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        s.fail(f"--json is not a JSON object: {exc}", 2)
    settings, _, view, projector = _open()
    projector.catch_up()
    try:
        shipment, quoted_at = request_of(data)
        answer = estimate(shipment, quoted_at, view.history(), factor=Decimal(settings.freight_factor))
    except FreightError as exc:
        s.fail(str(exc), 1)
    typer.echo(json.dumps({k: (str(v) if k.endswith("_minor") else v) for k, v in answer.items()}, indent=2))


@app.command("sign-rate")
def sign_rate(
    base: str = typer.Option(..., help="The base currency (three letters): 1 base = RATE quote."),
    quote: str = typer.Option(..., help="The quote currency (three letters)."),
    rate: str = typer.Option(..., help="A positive decimal, e.g. 1.08."),
    source: str = typer.Option(..., help="Where the rate comes from, e.g. 'ECB reference'."),
    at: str | None = typer.Option(None, help="When it was taken, ISO-8601 with its zone [default: now]."),
    keystore: Path | None = typer.Option(
        None,
        "--keystore",
        envvar="ORDERCHAIN_KEYSTORE",
        help="The operator's keystore [default: ~/.orderchain/keystore.json].",
    ),
    api: str | None = typer.Option(
        None, "--post", help="Also post it to this API base URL (e.g. http://127.0.0.1:8000)."
    ),
):
    """Sign an exchange rate with the escrow operator's key, on this machine; prints the body of
    `POST /rates` (or posts it with --post)."""
    from datetime import datetime

    from api.cli import wallet
    from engine.cross_border.orders import RateError, rate_document
    from engine.cross_border.orders import sign_rate as sign
    from engine.ids import canonical_json

    when = at or datetime.now(UTC).replace(microsecond=0).isoformat()
    try:
        document = rate_document(base, quote, rate, source, when)
    except RateError as exc:
        s.fail(str(exc), 2)
    operator = wallet._load(keystore)
    body = {
        "base": document["base"],
        "quote": document["quote"],
        "rate": document["rate"],
        "source": document["source"],
        "at": document["at"],
        "signature": sign(document, operator),
    }
    typer.echo(f"signed by {operator.address}: {canonical_json(document).decode()}", err=True)
    if api is None:
        typer.echo(json.dumps(body))
        return
    http = wallet.http_client(api)
    r = http.post("/rates", json=body)
    if r.status_code != 201:
        s.fail(f"{r.status_code}: {r.json().get('detail', r.text) if r.content else ''}", 1)
    typer.echo(json.dumps(r.json(), indent=2))
