"""Schemathesis over the OpenAPI document against the app on a real anvil: no 5xx, and no
response outside its declared schema, status codes or content type. At least 500
generated requests, sent with a registered store's key (the operator's for the
operator's routes, a signed-in account's session for the account's own)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.service import Service
from engine.chain.rpc import Rpc

from .accounts import PASSWORD, bearer, last_code, new_account, sign_in
from .conftest import ADMIN_HEADERS, create_order, dev_account, make_settings, register

EXAMPLES = 20  # per operation (the document has about 175): thousands of requests in all
MIN_REQUESTS = 500
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
STORE_ID = "fuzz-shop"
ACCOUNT = "fuzz@example.org"
SIGNING_OUT = "fuzz-out@example.org"  # its own account: the fuzzed codes of the other may lock that one out
sent: list[int] = []


@pytest.fixture(scope="module")
def fuzzed(deployed_chain, tmp_path_factory):
    """The app over its own event store, a registered store with one order, and the store's key."""
    node, deployments = deployed_chain
    rpc = Rpc(node.url)
    snapshot = rpc.call("evm_snapshot")
    service = Service(make_settings(tmp_path_factory.mktemp("fuzz"), deployments), node.url)
    app = create_app(service)
    with TestClient(app) as client:
        headers = register(client, STORE_ID, dev_account(2).address)
        create_order(client, STORE_ID, headers, "F-1", 1_000_000, service.manifest.contract("TestStablecoin").address)
        service.step()
        var = Path(service.settings.var_dir)
        account = bearer(sign_in(client, var, ACCOUNT, new_account(client, var, ACCOUNT)))
        new_account(client, var, SIGNING_OUT, "+44 7911 123458")
    yield {"app": app, "headers": headers, "account": account, "service": service}
    service.stop()
    rpc.call("evm_revert", snapshot)
    rpc.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed["app"])


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_response_as_declared(case, fuzzed):
    if "store_id" in (case.path_parameters or {}):
        case.path_parameters["store_id"] = STORE_ID  # the registered store: its handlers, not only the 404
    path = case.operation.path
    headers = ADMIN_HEADERS if path == "/stores" or path.startswith("/operator/") else fuzzed["headers"]
    if path.startswith("/accounts/me") or path.endswith("/feedback"):
        headers = fuzzed["account"]  # a signed-in account: its handlers, not only the 401
    if path == "/accounts/sign-out":  # ends the session it is sent with: a fresh one each time
        svc = fuzzed["service"]
        headers = bearer(svc.accounts.sign_in(SIGNING_OUT, PASSWORD, _fresh_code(svc), "bearer"))
    if case.operation.path.endswith("/stream"):
        # An accepted stream never ends (test_stream.py reads it from a real server): here only
        # what refuses it, so another key.
        headers = {"X-API-Key": "not-the-stores-key"}
    case.call_and_validate(headers=headers, checks=CHECKS)
    sent.append(1)


def _fresh_code(svc) -> str:
    """A sign-in code for the signing-out account, as its phone would get it."""
    import time

    svc.accounts.send_sign_in_code(SIGNING_OUT, time.time())
    return last_code(Path(svc.settings.var_dir), "+447911123458")


def test_enough_requests_were_generated():
    assert len(sent) >= MIN_REQUESTS, f"only {len(sent)} generated requests"
