"""The ``orderchain`` command line: run the engine and the API, deploy, walk the demo,
sign as a wallet holder (``orderchain wallet``) or serve as a custody warehouse
(``orderchain warehouse``)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import threading
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import typer

from api.cli import account as _account
from api.cli import cross_border as _cross_border  # noqa: F401  (adds `wallet cross-border`)
from api.cli import group_buy as _group_buy  # noqa: F401  (adds `wallet campaign`)
from api.cli import serve as s
from api.cli import settlement as _settlement  # noqa: F401  (adds the settlement commands)
from api.cli.evidence import app as evidence_app
from api.cli.freight import app as freight_app
from api.cli.liquor import warehouse as warehouse_app
from api.cli.wallet import app as wallet_app
from engine.chain.node import AnvilNode

app = typer.Typer(
    help="orderchain: escrowed C2C settlement of store orders and liquor cases in custody, event-sourced.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(wallet_app, name="wallet")
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(freight_app, name="freight")
app.add_typer(evidence_app, name="evidence")
app.add_typer(_account.app, name="account")
app.add_typer(_account.notices, name="notices")


@app.command()
def node() -> None:
    """Start a local anvil node and keep it running."""
    settings = s.settings()
    with AnvilNode(settings.anvil_port) as n:
        s.say(f"anvil running at {n.url}; Ctrl-C to stop")
        s.wait_forever()


@app.command()
def deploy() -> None:
    """Deploy the contracts to ORDERCHAIN_RPC_URL with the ape script."""
    settings = s.settings()
    typer.echo(s.deploy(s.require_rpc_url(settings, "the node to deploy to"), settings))


@app.command()
def engine(
    views: bool = typer.Option(True, help="Also keep the views (off: run `orderchain project` beside it)."),
) -> None:
    """Run the chain reader and the keeper (and the views), without the API."""
    settings = s.settings()
    with ExitStack() as stack:
        url = s.node(stack, settings)
        s.ensure_deployed(url, settings)
        if views:
            svc = s.service(url, settings)
            svc.start()
            s.say("engine running with its views; Ctrl-C to stop")
            try:
                s.wait_forever()
            finally:
                svc.stop()
            return
        _reader_only(url, settings)


def _reader_only(url: str, settings) -> None:
    """The scale-out shape's reader: the engine alone, no views, no HTTP."""
    from engine.application import OrderEngine
    from engine.chain.manifest import Manifest, ManifestError
    from engine.chain.reader import OtherChain
    from engine.chain.rpc import Rpc
    from engine.runner import EngineRunner

    try:
        app_ = OrderEngine(settings, Manifest.load(settings.deployments_dir, Rpc(url).chain_id()))
        runner = EngineRunner(app_, settings, url)
        _ = runner.reader  # checks that the event store follows this chain
    except (ManifestError, OtherChain) as exc:
        s.fail(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    s.say("reader running (no views: run `orderchain project` beside it); Ctrl-C to stop")
    try:
        runner.run(stop)
    except KeyboardInterrupt:
        pass
    if runner.halted:
        s.fail(runner.halted)


@app.command()
def project() -> None:
    """Keep the views up to date from the event store, in a process of its own; with
    ORDERCHAIN_RPC_URL, also the keeper and the chores that act on the views (webhooks,
    anchoring evidence, checking deliveries)."""
    from engine.db import shown
    from projections.runner import run_projector

    settings = s.settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    s.say(f"projecting {shown(settings.db)} into {shown(settings.view_db)}; Ctrl-C to stop")
    try:
        if not settings.rpc_url:
            s.say("no ORDERCHAIN_RPC_URL: the views only (the keeper and the chores run nowhere)")
            run_projector(settings, stop)
            return
        with ExitStack() as stack:
            svc = s.service(s.node(stack, settings), settings, views=True, engine=False, listen=False)
            keeping = svc.keeping()
            if keeping.keeper is None:
                s.say("no ORDERCHAIN_KEEPER_KEY: the keeper is off (the other chores run)")
            try:
                with keeping.chores_beside(stop):
                    try:
                        svc.projector.run(stop, settings.poll_interval, batch_size=settings.events_per_step)
                    finally:
                        stop.set()
            finally:
                svc.stop()
    except KeyboardInterrupt:
        pass


@app.command()
def rebuild(view: str = typer.Argument(None, help="The view to rebuild (default: every view).")) -> None:
    """Empty one view (or all) and build it again from the event log; the others stay as they are."""
    from engine.application import OrderEngine
    from engine.db import Database
    from projections.runner import Projector

    settings = s.settings()
    projector = Projector(OrderEngine(settings), Database(settings.view_db))
    try:
        applied = projector.rebuild(view)
    except KeyError as exc:
        s.fail(str(exc.args[0]), 2)
    s.say(f"rebuilt {view or 'every view'} from {applied} events")


WORKERS = typer.Option(
    1, "--workers", min=1, max=64, help="API processes (more than 1: this process keeps the engine, the workers serve)."
)


@app.command()
def api(
    engine_: bool = typer.Option(
        True, "--engine/--no-engine", help="Also run the engine (off: an API worker beside a reader and a projector)."
    ),
    workers: int = WORKERS,
) -> None:
    """Serve the API (and the engine) against ORDERCHAIN_RPC_URL."""
    settings = s.settings()
    url = s.require_rpc_url(settings, "or use `orderchain run`")
    if workers > 1:
        if not engine_:
            s.fail("--workers runs the engine in this process; without it run several `orderchain api --no-engine`", 2)
        s.multiprocess_metrics(settings)
    s.serve(s.service(url, settings, views=engine_, engine=engine_), settings, workers, url)


@app.command()
def run(workers: int = WORKERS) -> None:
    """Start anvil (unless ORDERCHAIN_RPC_URL is set), deploy if needed, serve engine and API."""
    settings = s.settings()
    if workers > 1:
        s.multiprocess_metrics(settings)
    with ExitStack() as stack:
        url = s.node(stack, settings)
        s.ensure_deployed(url, settings)
        s.serve(s.service(url, settings), settings, workers, url)


@app.command()
def demo() -> None:
    """`run`, then walk every settlement flow with the dev accounts, printing the store-order view."""
    from api.demo.run import run_demo

    settings = s.settings()
    if not settings.rpc_url:
        # The demo's own chain, deployment and event store, fresh each time, apart from `run`'s.
        demo_dir = Path(settings.var_dir) / "demo"
        shutil.rmtree(demo_dir, ignore_errors=True)
        db = settings.db if "ORDERCHAIN_DB" in os.environ else str(demo_dir / "orderchain.sqlite")
        settings = replace(settings, var_dir=str(demo_dir), db=db, deployments_dir=str(demo_dir / "deployments"))
        s.say(f"demo state in {demo_dir} (fresh chain and event store)")
    with ExitStack() as stack:
        url = s.node(stack, settings)
        s.ensure_deployed(url, settings)
        run_demo(s.service(url, settings), settings)


def _terminate(*_) -> None:
    raise SystemExit(143)  # unwinds: the engine stops and a started anvil saves its state


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    logging.basicConfig(
        level=os.environ.get("ORDERCHAIN_LOG", "WARNING").upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    app()


if __name__ == "__main__":
    main()
