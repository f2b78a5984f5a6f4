"""The ``orderchain`` command line."""

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

from engine.config import ConfigError, Settings
from engine.manifest import Manifest, ManifestError
from engine.node import AnvilNode, deploy as ape_deploy
from engine.rpc import Rpc, RpcUnavailable

app = typer.Typer(help="orderchain: escrowed C2C settlement of store orders, event-sourced.",
                  no_args_is_help=True, add_completion=False)


def _wallet() -> typer.Typer:
    from api.wallet import app as wallet_app
    return wallet_app


app.add_typer(_wallet(), name="wallet")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        typer.secho(f"configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


def _say(message: str) -> None:
    typer.secho(message, fg="cyan", err=True)


def _deployed(rpc_url: str, settings: Settings) -> bool:
    rpc = Rpc(rpc_url)
    try:
        manifest = Manifest.load(settings.deployments_dir, rpc.chain_id())
        code = rpc.call("eth_getCode", manifest.contract("C2CSettlement").address, "latest")
        return code not in ("0x", "0x0", None)
    except ManifestError:
        return False
    finally:
        rpc.close()


def _node(stack: ExitStack, settings: Settings) -> str:
    """The node URL: ORDERCHAIN_RPC_URL, or a local anvil started for this run."""
    if settings.rpc_url:
        try:
            Rpc(settings.rpc_url, timeout=5).chain_id()
        except RpcUnavailable as exc:
            typer.secho(f"cannot reach ORDERCHAIN_RPC_URL: {exc}", fg="red", err=True)
            raise typer.Exit(1) from None
        return settings.rpc_url
    settings.ensure_dirs()
    var = Path(settings.var_dir)
    node = stack.enter_context(AnvilNode(settings.anvil_port, log_path=str(var / "anvil.log"),
                                         state_path=str(var / "anvil-state.json")))
    _say(f"anvil running at {node.url} (chain 31337, dev accounts of the test mnemonic; "
         f"chain kept in {var / 'anvil-state.json'})")
    return node.url


def _ensure_deployed(rpc_url: str, settings: Settings) -> None:
    if _deployed(rpc_url, settings):
        return
    _say("deploying contracts with `ape run deploy` ...")
    path = ape_deploy(rpc_url, settings.deployments_dir)
    _say(f"deployment written to {path}")


def _service(rpc_url: str, settings: Settings, views: bool = True):
    from api.service import Service
    from engine.reader import OtherChain
    try:
        service = Service(settings, rpc_url, views=views)
        service.reader   # checks that the event store follows this chain
        return service
    except (ManifestError, OtherChain) as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from None


def _serve(service, settings: Settings) -> None:
    import uvicorn

    from api.app import create_app
    service.start()
    if settings.admin_token_generated:
        _say(f"admin token for this run: {settings.admin_token}  (set ORDERCHAIN_ADMIN_TOKEN to choose one)")
    _say(f"API on http://{settings.api_host}:{settings.api_port}  (docs at /docs)")
    try:
        uvicorn.run(create_app(service), host=settings.api_host, port=settings.api_port, log_level="warning")
    finally:
        service.stop()


@app.command()
def node() -> None:
    """Start a local anvil node and keep it running."""
    settings = _settings()
    with AnvilNode(settings.anvil_port) as n:
        _say(f"anvil running at {n.url}; Ctrl-C to stop")
        _wait_forever()


@app.command()
def deploy() -> None:
    """Deploy the contracts to ORDERCHAIN_RPC_URL with the ape script."""
    settings = _settings()
    if not settings.rpc_url:
        typer.secho("set ORDERCHAIN_RPC_URL to the node to deploy to", fg="red", err=True)
        raise typer.Exit(2)
    typer.echo(ape_deploy(settings.rpc_url, settings.deployments_dir))


@app.command()
def engine(views: bool = typer.Option(True, help="Also keep the views (off: run `orderchain project` beside it).")
           ) -> None:
    """Run the chain reader and the views only (no API)."""
    settings = _settings()
    with ExitStack() as stack:
        url = _node(stack, settings)
        _ensure_deployed(url, settings)
        service = _service(url, settings, views=views)
        service.start()
        _say("engine running; Ctrl-C to stop")
        try:
            _wait_forever()
        finally:
            service.stop()


@app.command()
def project() -> None:
    """Keep the views up to date from the event store, in a process of its own."""
    from api.service import run_projector
    settings = _settings()
    if not settings.rpc_url:
        typer.secho("set ORDERCHAIN_RPC_URL (the projector follows that chain's event store)", fg="red", err=True)
        raise typer.Exit(2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    _say(f"projecting {settings.db} into {settings.view_db}; Ctrl-C to stop")
    try:
        run_projector(settings, settings.rpc_url, stop)
    except KeyboardInterrupt:
        pass


@app.command()
def api() -> None:
    """Serve the API (and the engine) against ORDERCHAIN_RPC_URL."""
    settings = _settings()
    if not settings.rpc_url:
        typer.secho("set ORDERCHAIN_RPC_URL (or use `orderchain run`)", fg="red", err=True)
        raise typer.Exit(2)
    _serve(_service(settings.rpc_url, settings), settings)


@app.command()
def run() -> None:
    """Start anvil (unless ORDERCHAIN_RPC_URL is set), deploy if needed, serve engine and API."""
    settings = _settings()
    with ExitStack() as stack:
        url = _node(stack, settings)
        _ensure_deployed(url, settings)
        _serve(_service(url, settings), settings)


@app.command()
def demo() -> None:
    """`run`, then walk every settlement flow with the dev accounts, printing the store-order view."""
    from api.demo import run_demo
    settings = _settings()
    if not settings.rpc_url:
        # The demo's own chain, deployment and event store, fresh each time, apart from `run`'s.
        demo_dir = Path(settings.var_dir) / "demo"
        shutil.rmtree(demo_dir, ignore_errors=True)
        db = settings.db if "ORDERCHAIN_DB" in os.environ else str(demo_dir / "orderchain.sqlite")
        settings = replace(settings, var_dir=str(demo_dir), db=db, deployments_dir=str(demo_dir / "deployments"))
        _say(f"demo state in {demo_dir} (fresh chain and event store)")
    with ExitStack() as stack:
        url = _node(stack, settings)
        _ensure_deployed(url, settings)
        run_demo(_service(url, settings), settings)


def _wait_forever() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


def _terminate(*_) -> None:
    raise SystemExit(143)   # unwinds: the engine stops and a started anvil saves its state


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    logging.basicConfig(level=os.environ.get("ORDERCHAIN_LOG", "WARNING").upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
