"""End-to-end fixtures: a real anvil, the ape deploy script, the engine and the API."""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import replace

import httpx
import psycopg
import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli.serve import deploy
from api.client import Holder
from api.service import Service
from engine.chain.node import DEV_MNEMONIC, AnvilNode
from engine.config import Settings

Account.enable_unaudited_hdwallet_features()
ADMIN = "test-admin-token"
API_PORT = 8765  # not the default: the deployment's case metadata must point where this API serves
POSTGRES = os.environ.get("ORDERCHAIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def dev_account(index: int):
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def _deployed(tmp_path_factory):
    node = AnvilNode()
    deployments = tmp_path_factory.mktemp("deployments")
    deploy(node.url, replace(Settings(), api_port=API_PORT, deployments_dir=str(deployments)))  # as `make run`
    return node, deployments


@pytest.fixture(scope="session")
def deployed_chain(tmp_path_factory):
    """A deployed anvil snapshot shared by the session; each test reverts to it."""
    node, deployments = _deployed(tmp_path_factory)
    yield node, deployments
    node.stop()


@pytest.fixture(scope="module")
def own_chain(tmp_path_factory):
    """A deployed anvil of the module's own: for tests that reorganise the chain many times
    (anvil keeps the states a reorg goes back to only for its recent history, and the
    session's node has a long one)."""
    node, deployments = _deployed(tmp_path_factory)
    yield node, deployments
    node.stop()


@pytest.fixture
def chain(deployed_chain):
    from engine.chain.rpc import Rpc

    node, deployments = deployed_chain
    rpc = Rpc(node.url)
    snapshot = rpc.call("evm_snapshot")
    yield node, deployments, rpc
    rpc.call("evm_revert", snapshot)
    rpc.close()


@pytest.fixture
def postgres_db():
    """A database of its own on the PostgreSQL server, dropped afterwards."""
    name = f"orderchain_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_settings(tmp_path, deployments, **overrides) -> Settings:
    return replace(
        Settings(admin_token=ADMIN, admin_token_generated=False),
        db=str(tmp_path / "events.sqlite"),
        deployments_dir=str(deployments),
        var_dir=str(tmp_path),
        api_port=API_PORT,
        **overrides,
    )


@pytest.fixture
def service(chain, tmp_path):
    node, deployments, _ = chain
    svc = Service(make_settings(tmp_path, deployments), node.url)
    yield svc
    svc.stop()


@pytest.fixture
def client(service):
    # A 500 is a bug the tests must see as a 500; ORDERCHAIN_TEST_RAISE=1 shows its traceback instead.
    raise_errors = bool(os.environ.get("ORDERCHAIN_TEST_RAISE"))
    with TestClient(create_app(service), raise_server_exceptions=raise_errors) as c:
        yield c


class Wallet(Holder):
    """A dev account signing locally and relaying through the API, failing the test on errors."""

    def __init__(self, client: TestClient, account):
        super().__init__(client, account)


ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}"}


def register(client, store_id: str, address: str) -> dict:
    r = client.post(
        "/stores", json={"store_id": store_id, "name": store_id.title(), "address": address}, headers=ADMIN_HEADERS
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


def create_order(client, store_id, headers, number, amount, token, **extra) -> dict:
    r = client.post(
        f"/stores/{store_id}/orders",
        json={"order_number": number, "amount": str(amount), "token": token, **extra},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def view(client, service, store_id, headers, number) -> dict:
    service.step()
    r = client.get(f"/stores/{store_id}/orders/{number}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def comparable(snapshot: dict) -> dict:
    """A view snapshot without what legitimately differs between two event stores."""
    return {
        key: (status, {k: v for k, v in data.items() if k not in ("created_at",)})
        for key, (status, data) in snapshot.items()
    }


def deploy_artifact(rpc, name: str, types: list[str], args: list) -> tuple[str, int, list]:
    """Deploys a compiled contract of the project from dev account 0: (address, block, ABI)."""
    import json

    from eth_abi import encode as abi_encode

    from engine.chain.node import PROJECT_ROOT

    artifact = json.loads((PROJECT_ROOT / ".build" / "__local__.json").read_text())["contractTypes"][name]
    tx_hash = rpc.call(
        "eth_sendTransaction",
        {
            "from": dev_account(0).address,
            "gas": hex(6_000_000),
            "data": artifact["deploymentBytecode"]["bytecode"] + abi_encode(types, args).hex(),
        },
    )
    receipt = mined(rpc, tx_hash)
    assert receipt["status"] == "0x1", receipt
    return receipt["contractAddress"].lower(), int(receipt["blockNumber"], 16), artifact["abi"]


def mined(rpc, tx_hash: str, timeout: float = 10.0) -> dict:
    """The transaction's receipt once anvil has mined it (its automine answers the send first
    and mines a moment later on a busy machine)."""
    deadline = time.monotonic() + timeout
    while (receipt := rpc.call("eth_getTransactionReceipt", tx_hash)) is None:
        assert time.monotonic() < deadline, f"{tx_hash} not mined within {timeout}s"
        time.sleep(0.02)
    return receipt


def landed(rpc, tx_hashes: list[str]) -> list[str]:
    """``tx_hashes`` (what a keeper or anchorer round sent) once each is mined."""
    for tx_hash in tx_hashes:
        mined(rpc, tx_hash)
    return tx_hashes


CLI_PASSWORD = "correct horse battery"


@pytest.fixture
def cli(client, monkeypatch):
    """Runs `orderchain ...` against the test API (keystore password from the environment);
    ``ok`` says whether it must succeed, ``input`` answers its prompts."""
    from typer.testing import CliRunner

    from api.cli import app, wallet

    monkeypatch.setattr(wallet, "http_client", lambda api: client)
    monkeypatch.setenv("ORDERCHAIN_WALLET_PASSWORD", CLI_PASSWORD)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True, env: dict | None = None, input: str | None = None) -> str:
        result = runner.invoke(app, list(args), env=env, input=input)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return invoke


@pytest.fixture
def served(service):
    """The service behind a real uvicorn server (for streams), and an HTTP client of it."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        yield http
    server.should_exit = True
    thread.join(5)
