"""End-to-end fixtures: a real anvil, the ape deploy script, the engine and the API."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import Service
from engine.config import Settings
from engine.node import DEV_MNEMONIC, AnvilNode, deploy

Account.enable_unaudited_hdwallet_features()
ADMIN = "test-admin-token"


def dev_account(index: int):
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@pytest.fixture(scope="session")
def deployed_chain(tmp_path_factory):
    """A deployed anvil snapshot shared by the session; each test reverts to it."""
    node = AnvilNode()
    deployments = tmp_path_factory.mktemp("deployments")
    deploy(node.url, str(deployments))
    yield node, deployments
    node.stop()


@pytest.fixture
def chain(deployed_chain):
    from engine.rpc import Rpc
    node, deployments = deployed_chain
    rpc = Rpc(node.url)
    snapshot = rpc.call("evm_snapshot")
    yield node, deployments, rpc
    rpc.call("evm_revert", snapshot)
    rpc.close()


def make_settings(tmp_path, deployments, **overrides) -> Settings:
    return replace(Settings(admin_token=ADMIN, admin_token_generated=False), db=str(tmp_path / "events.sqlite"),
                   deployments_dir=str(deployments), var_dir=str(tmp_path), **overrides)


@pytest.fixture
def service(chain, tmp_path):
    node, deployments, _ = chain
    svc = Service(make_settings(tmp_path, deployments), node.url)
    yield svc
    svc.stop()


@pytest.fixture
def client(service):
    with TestClient(create_app(service), raise_server_exceptions=False) as c:
        yield c


class Wallet:
    """A holder signing locally and relaying through the API."""

    def __init__(self, client: TestClient, account):
        self.client = client
        self.account = account
        self.address = account.address

    def send(self, path: str, body: dict) -> dict:
        built = self.client.post(path, json=body)
        assert built.status_code == 200, built.text
        return self.sign_and_relay(built.json()["transaction"])

    def sign_and_relay(self, tx: dict) -> dict:
        fields = {k: tx[k] for k in ("type", "chainId", "to", "data", "nonce")}
        for k in ("gas", "maxFeePerGas", "maxPriorityFeePerGas", "value"):
            fields[k] = int(tx[k])
        signed = self.account.sign_transaction(fields)
        relayed = self.client.post("/tx", json={"raw": "0x" + signed.raw_transaction.hex()})
        assert relayed.status_code == 200, relayed.text
        return relayed.json()
