"""What the commands share: settings, the node (a local anvil or a URL), deployment, and
serving the API. Heavy parts (the views, the HTTP stack) are imported only by the
commands that run them."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import typer

from engine.chain.manifest import Manifest, ManifestError
from engine.chain.node import AnvilNode
from engine.chain.node import deploy as ape_deploy
from engine.chain.reader import OtherChain
from engine.chain.rpc import Rpc, RpcUnavailable
from engine.chain.transactions import NO_CODE, SETTLEMENT
from engine.config import ConfigError, Settings

LIQUOR = "LiquorCases"
DEV_CHAIN_IDS = (1337, 31337)  # chains whose owner is a dev account the node holds (as scripts/deploy.py)


def settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        typer.secho(f"configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


def say(message: str) -> None:
    typer.secho(message, fg="cyan", err=True)


def fail(message: str, code: int = 1) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(code)


def require_rpc_url(settings_: Settings, why: str) -> str:
    if not settings_.rpc_url:
        fail(f"set ORDERCHAIN_RPC_URL ({why})", 2)
    return settings_.rpc_url


def deployed(rpc_url: str, settings_: Settings) -> bool:
    rpc = Rpc(rpc_url)
    try:
        manifest = Manifest.load(settings_.deployments_dir, rpc.chain_id())
        return rpc.call("eth_getCode", manifest.contract(SETTLEMENT).address, "latest") not in NO_CODE
    except ManifestError:
        return False
    finally:
        rpc.close()


def node(stack: ExitStack, settings_: Settings) -> str:
    """The node URL: ORDERCHAIN_RPC_URL, or a local anvil started for this run."""
    if settings_.rpc_url:
        try:
            Rpc(settings_.rpc_url, timeout=5).chain_id()
        except RpcUnavailable as exc:
            fail(f"cannot reach ORDERCHAIN_RPC_URL: {exc}")
        return settings_.rpc_url
    settings_.ensure_dirs()
    var = Path(settings_.var_dir)
    anvil = stack.enter_context(
        AnvilNode(settings_.anvil_port, log_path=str(var / "anvil.log"), state_path=str(var / "anvil-state.json"))
    )
    say(
        f"anvil running at {anvil.url} (chain 31337, dev accounts of the test mnemonic; "
        f"chain kept in {var / 'anvil-state.json'})"
    )
    return anvil.url


def deploy(rpc_url: str, settings_: Settings) -> Path:
    """Deploys with the ape script; the cases' metadata point at this API (``Settings.metadata_base``)."""
    return ape_deploy(rpc_url, settings_.deployments_dir, ["--metadata-base", settings_.metadata_base])


def ensure_deployed(rpc_url: str, settings_: Settings) -> None:
    if deployed(rpc_url, settings_):
        align_metadata_base(rpc_url, settings_)
        return
    say("deploying contracts with `ape run deploy` ...")
    say(f"deployment written to {deploy(rpc_url, settings_)} (case metadata at {settings_.metadata_base})")


def align_metadata_base(rpc_url: str, settings_: Settings) -> None:
    """A deployment made for another address of the API (another port, say) points every
    case's ``tokenURI`` elsewhere. On a development chain the owner is a dev account the node
    holds, so the base is set again here; elsewhere the owner is told what to do."""
    rpc = Rpc(rpc_url)
    try:
        manifest = Manifest.load(settings_.deployments_dir, rpc.chain_id())
        raw = json.loads(manifest.path.read_text())
        liquor = raw["contracts"].get(LIQUOR)
        if liquor is None or liquor.get("metadata_base") == settings_.metadata_base:
            return
        if manifest.chain_id not in DEV_CHAIN_IDS:
            say(
                f"cases' tokenURI base is {liquor.get('metadata_base')!r} but this API serves "
                f"{settings_.metadata_base!r}: the owner calls LiquorCases.setBaseURI({settings_.metadata_base!r})"
            )
            return
        data = manifest.contract(LIQUOR).functions.encode("setBaseURI", settings_.metadata_base)
        tx = rpc.call("eth_sendTransaction", {"from": raw["deployer"], "to": liquor["address"], "data": data})
        for _ in range(100):
            if rpc.call("eth_getTransactionReceipt", tx):
                break
            time.sleep(0.05)
        liquor["metadata_base"] = settings_.metadata_base
        manifest.path.write_text(json.dumps(raw, indent=2) + "\n")
        say(f"cases' tokenURI base set to {settings_.metadata_base}")
    finally:
        rpc.close()


def service(rpc_url: str, settings_: Settings, views: bool = True, engine: bool = True, listen: bool = True):
    """The composed service; a clear message instead of a traceback when it cannot start."""
    from api.service import Service

    try:
        svc = Service(settings_, rpc_url, views=views, engine=engine, listen=listen)
        if engine:
            _ = svc.reader  # checks that the event store follows this chain
        return svc
    except (ManifestError, OtherChain) as exc:
        fail(str(exc))


def serve(svc, settings_: Settings, workers: int = 1, rpc_url: str | None = None) -> None:
    """Serves the API. With ``workers`` > 1 this process keeps the engine and its views and
    uvicorn runs that many API processes beside it (:func:`worker_app`), which read the same
    views and answer ``/metrics`` for all of them."""
    import uvicorn

    from api.app import create_app

    svc.start()
    if settings_.admin_token_generated:
        say(f"operator token for this run: {settings_.admin_token}  (set ORDERCHAIN_ADMIN_TOKEN to choose one)")
    say(
        f"API on http://{settings_.api_host}:{settings_.api_port}  (docs at /docs; the dashboard at "
        f"http://{settings_.api_host}:{settings_.api_port}/app)"
        + (f" in {workers} worker processes" if workers > 1 else "")
    )
    try:
        if workers > 1:
            os.environ.update(
                {
                    "ORDERCHAIN_ADMIN_TOKEN": settings_.admin_token,
                    "ORDERCHAIN_RPC_URL": rpc_url or "",
                    "ORDERCHAIN_DB": settings_.db,
                    "ORDERCHAIN_DEPLOYMENTS": settings_.deployments_dir,
                    "ORDERCHAIN_VAR": settings_.var_dir,
                }
            )
            uvicorn.run(
                "api.cli.serve:worker_app",
                factory=True,
                workers=workers,
                host=settings_.api_host,
                port=settings_.api_port,
                log_level="warning",
            )
        else:
            uvicorn.run(create_app(svc), host=settings_.api_host, port=settings_.api_port, log_level="warning")
    finally:
        svc.stop()


def multiprocess_metrics(settings_: Settings) -> None:
    """Before anything imports the metrics: every process of this run writes its samples to
    one directory (emptied now), so any worker's ``/metrics`` answers for all of them."""
    import shutil
    import sys

    if "prometheus_client" in sys.modules:
        raise RuntimeError("the metrics were set up before the multiprocess directory")
    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or Path(settings_.var_dir) / "metrics")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def worker_app():
    """An API worker process of ``serve(workers=N)``: the views kept by the engine's process
    (caught up here too after this worker's own writes), no engine of its own."""
    from api.app import create_app
    from api.service import Service

    settings_ = settings()
    svc = Service(settings_, settings_.rpc_url, views=True, engine=False)
    app_ = create_app(svc)
    app_.router.on_shutdown.append(svc.stop)  # stops listening for wake-ups (its pipe goes)
    return app_


def wait_forever(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
