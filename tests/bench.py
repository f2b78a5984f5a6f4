"""`make bench`: gas per contract action, ingestion throughput, API latency.

Runs on its own anvil with a fresh deployment and prints progress on stderr; the last
line on stdout is one JSON document:

    {"gas": {"open": .., "update": .., "ship": .., "confirm": .., "release": .., "reject": ..,
             "dispute": .., "resolve": .., "claim": .., "accept_claim": .., "contest_claim": ..,
             "execute_claim": .., "settle_signed": .., "open_with_permit": .., "end_lapsed_dispute": ..},
     "gas_without_base": {the same, less the 21,000 every transaction pays},
     "ingest": {"events": .., "events_per_s": .., "baseline_events_per_s": .., "speedup": ..},
     "latency_ms": {"p50": .., "p99": ..},
     "gas_liquor": {"create_plan": .., "buy": .., "outbound": .., "gift": .., "transfer": .., "pledge": ..,
                    "repay": .., "seize": .., "loan_purchase": .., "outbound_pledged": .., "request_pickup": ..,
                    "cancel_pickup": .., "dispatch": .., "confirm_delivery": .., "cancel_unassigned": ..,
                    "set_warehouse_key": .., "invalidate_nonce": ..},
     "ingest_mixed": {"events": .., "events_per_s": .., "settlement_events": .., "liquor_events": ..,
                      "group_buy_events": .., "cross_border_events": ..},
     "gas_group_buy": {"open_campaign": .., "pledge_first": .., "pledge": .., "pledge_triggering": ..,
                       "pledge_after_success": .., "lower_moq": .., "extend_target_date": .., "collect": ..,
                       "cancel": .., "refund": .., "anchor_batch": ..},
     "order_book_ms": {"schemes": .., "campaigns": .., "pledges": .., "p50": .., "p99": ..},
     "evidence_anchoring": {"bundles": .., "batches": .., "bundles_per_s": ..},
     "freight_quote_ms": {"orders": .., "p50": .., "p99": ..},
     "gas_cross_border": {"pay": .., "pay_leg": .., "final_bill_refund": .., "final_bill_top_up": .., "top_up": ..,
                          "release": .., "request_return": .., "answer_return_accept": .., "escalate": ..,
                          "resolve": .., "answer_return_refuse": .., "escalate_refused": .., "cancel": ..,
                          "end_lapsed": ..},
     "contract_size": {"<contract>": {"runtime_bytes": .., "margin_bytes": ..}, ...},
     "signin": {"clients": 16, "sign_ins": .., "per_s": .., "p50": .., "p99": ..},
     "reputation": {"orders": 100000, "own_orders": 10000, "view_ms": {"p50": .., "p99": ..},
                    "http_ms": {"p50": .., "p99": ..}, "p99": ..},
     "offline_payment_gas": {"verify": .., "collect": .., "verify_next_shipment": .., "collect_next_shipment": ..,
                             "checkout": 0, "verify_and_collect": .., "verify_and_collect_without_base": ..,
                             "commerce_payments_charge": 178936, "ratio": ..},
     "waybill_checks_per_s": ..,
     "courier_choice_ms": {"couriers": 1000, "p50": .., "p99": ..},
     "recommendations_ms": {"orders": 100000, "buyers": 20000, "habits_orders_per_s": .., "p50": .., "p99": ..},
     "page_ms": {"orders": 1000, "p50": .., "p99": ..},
     "live_ms": {"p50": .., "p99": ..},
     "sse_workers_ms": {"p50": .., "p99": ..},
     "ingest_postgres": {"events": .., "events_per_s": .., "runs_events_per_s": [..]},
     "poll_postgres": {"rps": .., "p50_ms": .., "p99_ms": .., "errors": .., ...},
     "ingest_two_processes": {"events": .., "events_per_s": .., "runs_events_per_s": [..]}}

Ingestion is measured from a chain holding ``--settlements`` opened and confirmed
settlements (two settlement events each) into the store-order view, against the plain
web3.py path: ``contract.events.X.get_logs`` for each event type and one commit per event.
Mixed ingestion adds ``--cases`` liquor cases to that chain (each bought, sent out, given
away; a fifth of them pledged and repaid), a group-buy campaign per ten settlements (pledged
by three backers, production triggered, deposits collected) and a cross-border order per five
(paid, a leg paid, billed below the freight held), and reads all four contracts into every view.
The two-process figure reads the same chain with the reader in one process and the views
kept by ``orderchain project`` in another (both cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.chain.node import DEV_MNEMONIC, AnvilNode, deploy
from engine.chain.rpc import Rpc
from engine.chain.transactions import SETTLEMENT, Transactions
from engine.config import Settings
from engine.settlement.escrow import (
    SETTLEMENT_EVENTS,
    SettlementKey,
)
from engine.settlement.store_order import order_number_bytes32
from tests.load import DEV_ADDRESSES, STORE, CrossBorderLoad, GroupBuyLoad, LiquorLoad, Load

ARBITER = DEV_ADDRESSES[0]
BASE_GAS = 21_000  # what every transaction pays before it runs any code
STORE_ID = "bench-shop"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _send(rpc: Rpc, tx: dict) -> dict:
    tx = {k: v for k, v in tx.items() if k in ("from", "to", "data", "gas", "nonce")}  # quantities already
    tx_hash = rpc.call("eth_sendTransaction", tx)
    deadline = time.monotonic() + 10
    while (receipt := rpc.call("eth_getTransactionReceipt", tx_hash)) is None and time.monotonic() < deadline:
        time.sleep(0.001)
    if receipt is None or receipt["status"] != "0x1":
        raise RuntimeError(f"benchmark transaction failed: {receipt}")
    return receipt


def _dev_key(index: int):
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def measure_gas(rpc: Rpc, transactions: Transactions, token: str) -> dict:
    """Gas used by each action, on settlements of a store that already holds a token balance."""
    from api.client import sign_typed_data, signature_of

    gas: dict[str, int] = {}
    buyers = DEV_ADDRESSES[5:9]
    for buyer in buyers:
        _send(rpc, transactions.approve(token, buyer, 2**255))
    snap = b"\x11" * 32
    reason = b"\x33" * 32

    def key(n: str, buyer: str) -> SettlementKey:
        return SettlementKey(STORE, order_number_bytes32(n), buyer, buyer, token)

    def act(action: str, k: SettlementKey, sender: str, *args) -> int:
        return int(_send(rpc, transactions.call(SETTLEMENT, action, (k.as_tuple(), *args), sender))["gasUsed"], 16)

    # As on a live contract: the escrow already holds other settlements' funds, the store has
    # been paid before and the payment-record counter is in use.
    done, held = key("G-0", buyers[0]), key("G-00", buyers[0])
    act("open", done, buyers[0], 1_000_000, snap, 0)
    act("confirm", done, buyers[0])
    act("open", held, buyers[0], 1_000_000, snap, 0)

    k1 = key("G-1", buyers[1])
    gas["open"] = act("open", k1, buyers[1], 5_000_000, snap, 0)
    gas["update"] = act("open", k1, buyers[1], 6_000_000, snap, 0)
    gas["ship"] = act("ship", k1, STORE, b"\x22" * 32, 6_000_000, snap)
    gas["confirm"] = act("confirm", k1, buyers[1])

    k2 = key("G-2", buyers[2])
    act("open", k2, buyers[2], 5_000_000, snap, 0)
    gas["reject"] = act("reject", k2, STORE)

    k3 = key("G-3", buyers[3])
    act("open", k3, buyers[3], 5_000_000, snap, 0)
    gas["dispute"] = act("dispute", k3, buyers[3], 1_000_000, reason)
    gas["resolve"] = act("resolve", k3, ARBITER, 3_000_000)

    # The claim path: claimed, then accepted; claimed, then contested; claimed, then executed.
    k5, k6, k7 = key("G-5", buyers[1]), key("G-6", buyers[2]), key("G-7", buyers[3])
    for k in (k5, k6, k7):
        act("open", k, k.buyer, 5_000_000, snap, 0)
    gas["claim"] = act("claim", k5, buyers[1], 4_000_000, reason)
    gas["accept_claim"] = act("acceptClaim", k5, STORE)
    act("claim", k6, buyers[2], 4_000_000, reason)
    gas["contest_claim"] = act("contestClaim", k6, STORE, reason)
    act("claim", k7, buyers[3], 4_000_000, reason)

    # The amicable path: the buyer brings the store's signed agreement to a lower amount.
    k8 = key("G-8", buyers[1])
    act("open", k8, buyers[1], 5_000_000, snap, 0)
    typed = transactions.agreement_typed_data(k8, 4_500_000, 2**40)
    store_signature = bytes.fromhex(signature_of(_dev_key(2), typed)[2:])
    gas["settle_signed"] = act("settle", k8, buyers[1], 4_500_000, 2**40, store_signature, b"")

    # Open with a permit instead of a prior approval (a buyer that never approved).
    payer = _dev_key(4)
    k9 = SettlementKey(STORE, order_number_bytes32("G-9"), payer.address.lower(), payer.address.lower(), token)
    permit = transactions.permit_typed_data(token, payer.address.lower(), 5_000_000, 2**40)
    sig = sign_typed_data(payer, permit)
    gas["open_with_permit"] = int(
        _send(
            rpc,
            transactions.call(
                SETTLEMENT,
                "openWithPermit",
                (
                    k9.as_tuple(),
                    5_000_000,
                    snap,
                    0,
                    5_000_000,
                    2**40,
                    sig["v"],
                    bytes.fromhex(sig["r"][2:]),
                    bytes.fromhex(sig["s"][2:]),
                ),
                payer.address.lower(),
            ),
        )["gasUsed"],
        16,
    )

    k4 = key("G-4", buyers[0])
    act("open", k4, buyers[0], 5_000_000, snap, 3600)
    rpc.call("evm_increaseTime", 3601)
    rpc.call("evm_mine")
    gas["release"] = act("release", k4, DEV_ADDRESSES[9])
    rpc.call("evm_increaseTime", 7 * 86_400)
    rpc.call("evm_mine")
    gas["execute_claim"] = act("executeClaim", k7, DEV_ADDRESSES[9])
    rpc.call("evm_increaseTime", 30 * 86_400)
    rpc.call("evm_mine")
    gas["end_lapsed_dispute"] = act("endLapsedDispute", k6, DEV_ADDRESSES[9])
    return gas


EIP170_LIMIT = 24_576  # bytes of runtime code a contract may deploy (EIP-170)


def measure_sizes(rpc: Rpc, manifest) -> dict:
    """Each deployed contract's runtime code size as the node holds it, and its margin under the limit."""
    sizes = {}
    for name, deployed in sorted(manifest.contracts.items()):
        code = rpc.call("eth_getCode", deployed.address, "latest")
        size = (len(code) - 2) // 2
        sizes[name] = {"runtime_bytes": size, "margin_bytes": EIP170_LIMIT - size}
    return sizes


def measure_liquor_gas(rpc: Rpc, transactions: Transactions, token: str) -> dict:
    """Gas used by each liquor action, on a contract that already holds cases and payments."""
    from eth_keys import keys
    from eth_utils import keccak

    from api.client import signature_of
    from engine.liquor import SIGNED_TYPES

    gas: dict[str, int] = {}
    producer, buyer, friend, warehouse, lender = (_dev_key(i) for i in (5, 1, 8, 6, 7))
    P, B, F, W, L = (a.address.lower() for a in (producer, buyer, friend, warehouse, lender))
    price = 2_000_000

    def act(name: str | None, sender: str, function: str, *args) -> dict:
        receipt = _send(rpc, transactions.call("LiquorCases", function, args, sender))
        if name:
            gas[name] = int(receipt["gasUsed"], 16)
        return receipt

    def signed(account, primary: str, message: dict) -> bytes:
        typed = transactions.contract_typed_data("LiquorCases", primary, SIGNED_TYPES[primary], message)
        return bytes.fromhex(signature_of(account, typed)[2:])

    def nonce(account: str) -> int:
        return transactions.view("LiquorCases", "nonces", account)[0]

    def buy(name: str | None, payer: str, quantity: int, loan: tuple = ("0x" + "00" * 20, 0, 0)) -> int:
        sig = signed(
            buyer,
            "CustodyAgreement",
            {
                "planId": plan,
                "quantity": quantity,
                "termsHash": terms,
                "lender": loan[0],
                "interestPerCase": loan[1],
                "loanTerm": loan[2],
                "nonce": nonce(B),
                "deadline": 2**40,
            },
        )
        act(name, payer, "buy", (plan, quantity, B, *loan, 2**40), sig)
        return transactions.view("LiquorCases", "purchaseCount")[0]

    def outbound(name: str | None, purchase: int, code: str) -> int:
        act(name, W, "outbound", purchase, keccak(text=code))
        return transactions.view("LiquorCases", "caseCount")[0]

    def offer(token_id: int, due: int) -> tuple:
        sig = signed(
            lender,
            "LoanOffer",
            {
                "tokenId": token_id,
                "principal": price // 2,
                "interest": 10_000,
                "dueAt": due,
                "lender": L,
                "nonce": nonce(L),
                "deadline": 2**40,
            },
        )
        return token_id, price // 2, 10_000, due, L, 2**40, sig

    for account in (B, F, L):
        _send(rpc, transactions.approve(token, account, 2**255, spender="LiquorCases"))
    terms = keccak(text="custody terms")
    act("set_warehouse_key", W, "setWarehouseKey", keys.PrivateKey(bytes(warehouse.key)).public_key.to_bytes())
    act(None, P, "createPlan", keccak(text="facts 0"), 100, price, token, W, terms, 86_400)  # the contract in use
    act("create_plan", P, "createPlan", keccak(text="facts 1"), 100, price, token, W, terms, 86_400)
    plan = transactions.view("LiquorCases", "planCount")[0]
    buy(None, B, 2)
    purchase = buy("buy", B, 6)
    first = outbound(None, purchase, "G-1")
    second = outbound("outbound", purchase, "G-2")
    act("gift", B, "gift", first, F, b"\x01" * 32)
    act("transfer", F, "transferFrom", F, B, first)
    now = rpc.chain_time()
    act("pledge", B, "pledge", *offer(first, now + 30 * 86_400))
    act("repay", F, "repay", first)
    act(None, B, "pledge", *offer(first, now + 86_400))
    rpc.call("evm_increaseTime", 2 * 86_400)
    rpc.call("evm_mine")
    act("seize", L, "seize", first)
    loaned = buy("loan_purchase", L, 1, (L, 10_000, 30 * 86_400))
    outbound("outbound_pledged", loaned, "G-3")
    code = b"door-code"

    def pickup(token_id: int) -> tuple:
        ciphertext = b"\x04" + b"\x55" * 96
        sig = signed(
            buyer,
            "PickupRequest",
            {
                "tokenId": token_id,
                "ciphertextHash": keccak(ciphertext),
                "codeHash": keccak(code),
                "nonce": nonce(B),
                "deadline": 2**40,
            },
        )
        return token_id, ciphertext, keccak(code), 2**40, sig

    act("request_pickup", B, "requestPickup", *pickup(second))
    act("cancel_pickup", B, "cancelPickup", second)
    act(None, B, "requestPickup", *pickup(second))
    act("invalidate_nonce", B, "invalidateNonce")
    act("dispatch", W, "dispatch", second)
    act("confirm_delivery", W, "confirmDelivery", second, code)
    unassigned = buy(None, B, 2)
    rpc.call("evm_increaseTime", 86_401)
    rpc.call("evm_mine")
    act("cancel_unassigned", B, "cancelUnassigned", unassigned)
    return gas


def _read_and_project(service) -> int:
    """Reads the chain to the head as the engine loop does: bounded steps
    (``ORDERCHAIN_EVENTS_PER_STEP``), the views taking each step's events; returns the events."""
    written = 0
    while True:
        written += service.reader.sync_once()
        service.project(service.reader.take_recorded())
        if not service.reader.behind:
            return written


def measure_mixed_ingestion(
    node: AnvilNode, deployments: Path, work: Path, settlements: int, cases: int, settlement_events: int, runs: int = 3
) -> dict:
    """Adds liquor cases to the ingestion chain and reads both contracts into every view."""
    from engine.chain.manifest import Manifest

    rpc = Rpc(node.url)
    manifest = Manifest.load(str(deployments), rpc.chain_id())
    say(f"putting {cases} liquor cases on the chain (bought, sent out, given away; a fifth pledged and repaid) ...")
    started = time.perf_counter()
    buyers = [_dev_key(i) for i in (1, 3, 4, 8)]
    made = LiquorLoad(Load(rpc, manifest), manifest).cases(cases, buyers, pledges=cases // 5)
    say(f"  {made['events']} liquor events in {made['blocks']} blocks, {time.perf_counter() - started:.1f}s")
    started = time.perf_counter()
    campaigns = GroupBuyLoad(Load(rpc, manifest), manifest).campaigns(settlements // 10, DEV_ADDRESSES[4:7])
    orders = CrossBorderLoad(Load(rpc, manifest), manifest).orders(settlements // 5, DEV_ADDRESSES[3:6])
    say(
        f"  {campaigns['events']} group-buy events ({settlements // 10} campaigns, each pledged by three "
        f"backers and collected) and {orders['events']} cross-border events ({settlements // 5} orders "
        f"paid, a leg paid, billed), {time.perf_counter() - started:.1f}s"
    )
    others = campaigns["events"] + orders["events"]
    rates, written = [], 0
    for run in range(1, runs + 1):
        say(f"mixed run {run}/{runs}: a fresh event store with {settlements} store orders ...")
        service, _ = _engine_with_orders(node, deployments, work, f"mixed{run}", settlements)
        _ = service.reader
        started = time.perf_counter()
        written = _read_and_project(service)
        elapsed = time.perf_counter() - started
        held = service.db.fetchone("SELECT count(*) FROM view_liquor_cases")[0]
        if written < settlement_events + made["events"] + others or held < cases:
            raise RuntimeError(f"mixed ingestion is wrong: {written} events, {held} cases in the view")
        rates.append(_rate(written, elapsed))
        service.stop()
    figure = _rates(written, rates)
    return {
        "events": written,
        "events_per_s": figure["events_per_s"],
        "settlement_events": settlement_events,
        "liquor_events": made["events"],
        "group_buy_events": campaigns["events"],
        "cross_border_events": orders["events"],
        "runs_events_per_s": figure["runs_events_per_s"],
    }


def _rate(written: int, elapsed: float, into: str = "every view") -> float:
    say(f"  ingested {written} events into {into} in {elapsed:.2f}s -> {written / elapsed:,.0f} events/s")
    return written / elapsed


def _rates(written: int, rates: list[float]) -> dict:
    """An ingestion figure: the median of the runs' events/s, and every run's."""
    rate = statistics.median(rates)
    say(f"  median of {len(rates)} runs: {rate:,.0f} events/s")
    return {"events": written, "events_per_s": round(rate, 1), "runs_events_per_s": [round(r, 1) for r in rates]}


def measure_two_process_ingestion(
    node: AnvilNode, deployments: Path, work: Path, settlements: int, runs: int = 3
) -> dict:
    """The mixed chain read by a reader (this process, no views) while a projector process of
    its own (``orderchain project``) keeps every view, on the SQLite default: the scale-out
    shape on one host, using both cores. Timed from the first read to every view at the last
    event."""
    import subprocess

    rates, written = [], 0
    cli = Path(sys.executable).parent / "orderchain"
    for run in range(1, runs + 1):
        say(f"two-process run {run}/{runs}: a fresh event store with {settlements} store orders ...")
        service, _ = _engine_with_orders(node, deployments, work, f"split{run}", settlements)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERCHAIN_", "PROMETHEUS_"))}
        env.update(
            ORDERCHAIN_DB=service.settings.db,
            ORDERCHAIN_VAR=str(work / f"split{run}-projector"),
            ORDERCHAIN_POLL_INTERVAL="0.01",
        )
        projector = subprocess.Popen([str(cli), "project"], env=env, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while projector.poll() is None and not service.db.scalar(
                "SELECT count(*) FROM view_positions WHERE name = 'store_orders'"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("the projector process did not start")
                time.sleep(0.05)
            time.sleep(1.0)  # its views are made and idle before the clock starts
            _ = service.reader
            started = time.perf_counter()
            written = 0
            while True:
                written += service.reader.sync_once()
                service.reader.take_recorded()  # the views are the other process's
                if not service.reader.behind:
                    break
            last = service.app.recorder.max_notification_id()
            while service.projector.position() < last:
                if projector.poll() is not None:
                    raise RuntimeError(f"the projector process ended ({projector.returncode})")
                time.sleep(0.005)
            elapsed = time.perf_counter() - started
        finally:
            projector.terminate()
            projector.wait(20)
        completed = service.db.scalar("SELECT count(*) FROM view_orders WHERE status = 'completed'")
        service.stop()
        if completed != settlements:
            raise RuntimeError(f"two-process ingestion is wrong: {completed} completed orders of {settlements}")
        rates.append(_rate(written, elapsed))
    return _rates(written, rates)


POSTGRES = os.environ.get("ORDERCHAIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def postgres_database(name: str):
    """A database of its own on the PostgreSQL server (``ORDERCHAIN_TEST_POSTGRES``), dropped after."""
    import uuid

    import psycopg

    database = f"orderchain_bench_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        yield f"{POSTGRES.rsplit('/', 1)[0]}/{database}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def measure_postgres_ingestion(node: AnvilNode, deployments: Path, work: Path, settlements: int, runs: int = 3) -> dict:
    """Everything on the chain so far (settlements, liquor cases, campaigns, cross-border orders)
    read into every view with the event store and the views on PostgreSQL."""
    rates, written = [], 0
    for run in range(1, runs + 1):
        with postgres_database(f"ingest{run}") as url:
            say(f"PostgreSQL run {run}/{runs}: a fresh database with {settlements} store orders ...")
            service, _ = _engine_with_orders(node, deployments, work, f"pg-ingest{run}", settlements, db=url)
            _ = service.reader
            started = time.perf_counter()
            written = _read_and_project(service)
            elapsed = time.perf_counter() - started
            completed = service.db.scalar("SELECT count(*) FROM view_orders WHERE status = 'completed'")
            service.stop()
            service.db.close()
            if completed != settlements:
                raise RuntimeError(f"PostgreSQL ingestion is wrong: {completed} completed orders of {settlements}")
            rates.append(_rate(written, elapsed))
    return _rates(written, rates)


def make_settings(work: Path, deployments: Path, name: str, db: str | None = None) -> Settings:
    return replace(
        Settings(admin_token="bench", admin_token_generated=False),
        db=db or str(work / f"{name}.sqlite"),
        deployments_dir=str(deployments),
        var_dir=str(work),
    )


def _engine_with_orders(
    node: AnvilNode,
    deployments: Path,
    work: Path,
    name: str,
    settlements: int,
    prefix: str = "L-",
    db: str | None = None,
):
    """A fresh event store holding the bench store and its orders (numbered ``prefix`` 0, 1 ...;
    another prefix than the ingestion chain's keeps its settlements off them), their view caught
    up; ``db``: a PostgreSQL URL instead of a SQLite file."""
    from api.service import Service

    service = Service(make_settings(work, deployments, name, db), node.url)
    store, service.bench_key = service.app.register_store(STORE_ID, "Bench Shop", STORE)
    token = service.manifest.contract("TestStablecoin").address
    rules = service.transactions.settlement_rules()
    hashes = {}
    for i in range(settlements):
        order = service.app.create_store_order(store, f"{prefix}{i}", 1_000_000, token, None, [], None, rules)
        hashes[order.order_number] = order.snapshot_hash
    service.project()
    return service, hashes


def measure_ingestion(node: AnvilNode, deployments: Path, work: Path, settlements: int, runs: int = 3) -> dict:
    from engine.chain.manifest import Manifest

    rpc = Rpc(node.url)
    manifest = Manifest.load(str(deployments), rpc.chain_id())
    rates, made, written = [], None, 0
    for run in range(1, runs + 1):
        say(f"run {run}/{runs}: a fresh event store with {settlements} store orders ...")
        service, hashes = _engine_with_orders(node, deployments, work, f"ingest{run}", settlements)
        if made is None:
            say(f"putting {settlements} settlements (open + confirm) on the chain ...")
            started = time.perf_counter()
            made = Load(rpc, manifest).settlements(
                settlements, DEV_ADDRESSES[3:9], snapshot_hashes=hashes, per_block=500
            )
            say(
                f"  {made['events']} settlement events in {made['blocks']} blocks, {time.perf_counter() - started:.1f}s"
            )
        _ = service.reader  # connect and load the checkpoint before the clock starts
        started = time.perf_counter()
        written = _read_and_project(service)
        elapsed = time.perf_counter() - started
        completed = service.db.fetchone("SELECT count(*) FROM view_orders WHERE status = 'completed'")[0]
        if written < made["events"] or completed != settlements:  # (plus the gas measurement's few)
            raise RuntimeError(f"ingestion is wrong: {written} events, {completed} completed orders")
        rates.append(_rate(written, elapsed, "the store-order view"))
        service.stop()
    figure = _rates(written, rates)
    rate = statistics.median(rates)

    say("baseline: web3.py contract.events.X.get_logs + one commit per event ...")
    baseline_s, baseline_n = baseline(node.url, manifest, work / "baseline.sqlite")
    if baseline_n != written:
        raise RuntimeError(f"baseline saw {baseline_n} events, the engine {written}")
    say(f"  {baseline_n} events in {baseline_s:.2f}s -> {baseline_n / baseline_s:,.0f} events/s")
    return {
        "events": written,
        "events_per_s": round(rate, 1),
        "baseline_events_per_s": round(baseline_n / baseline_s, 1),
        "speedup": round(rate / (baseline_n / baseline_s), 2),
        "runs_events_per_s": figure["runs_events_per_s"],
    }


def baseline(url: str, manifest, path: Path) -> tuple[float, int]:
    from web3 import Web3

    settlement = manifest.contract("C2CSettlement")
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 300}))
    contract = w3.eth.contract(address=Web3.to_checksum_address(settlement.address), abi=settlement.abi)
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE events (block_number INTEGER, log_index INTEGER, tx_hash TEXT, name TEXT, "
        "settlement_id TEXT, args TEXT, PRIMARY KEY (block_number, log_index))"
    )
    db.commit()
    head = w3.eth.block_number
    count = 0
    started = time.perf_counter()
    for name in sorted(SETTLEMENT_EVENTS):
        for log in getattr(contract.events, name).get_logs(from_block=settlement.block, to_block=head):
            args = {k: (v.hex() if isinstance(v, bytes) else str(v)) for k, v in log["args"].items()}
            db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                (log["blockNumber"], log["logIndex"], log["transactionHash"].hex(), name, args["id"], json.dumps(args)),
            )
            db.commit()
            count += 1
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed, count


def measure_latency(node: AnvilNode, deployments: Path, work: Path, samples: int) -> dict:
    """Mined transaction -> its change visible through the HTTP API (engine loop at default settings)."""
    import httpx

    from api.client import answer
    from api.service import Service

    settings = replace(make_settings(work, deployments, "latency"), api_port=_free_port())
    service = Service(settings, node.url)
    rpc = Rpc(node.url)
    token = service.manifest.contract("TestStablecoin").address
    service.start()
    server, thread = _serve(service, settings.api_port)
    base = f"http://127.0.0.1:{settings.api_port}"
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as http:
        _caught_up(http)
        r = answer(
            http.post(
                "/stores",
                json={"store_id": "latency-shop", "name": "Latency Shop", "address": "0x" + "ab" * 20},
                headers={"Authorization": "Bearer bench"},
            )
        )
        headers = {"Authorization": f"Bearer {r['api_key']}"}
        buyer = DEV_ADDRESSES[9]
        _send(rpc, service.transactions.approve(token, buyer, 2**255))
        say(f"measuring latency over {samples} settlements ...")
        for i in range(samples):
            number = f"T-{i}"
            order = answer(
                http.post(
                    "/stores/latency-shop/orders",
                    headers=headers,
                    json={"order_number": number, "amount": "1000", "token": token},
                )
            )
            key = SettlementKey("0x" + "ab" * 20, order_number_bytes32(number), buyer, buyer, token)
            tx = service.transactions.call(
                SETTLEMENT, "open", (key.as_tuple(), 1000, bytes.fromhex(order["snapshot_hash"][2:]), 0), buyer
            )
            _send(rpc, tx)  # automine: mined when this returns
            mined = time.perf_counter()
            while answer(http.get(f"/stores/latency-shop/orders/{number}", headers=headers))["status"] != "paid":
                time.sleep(0.002)
            latencies.append((time.perf_counter() - mined) * 1000)
    server.should_exit = True
    thread.join(5)
    service.stop()
    return _p50_p99(latencies)


def measure_group_buy_gas(rpc: Rpc, transactions: Transactions, token: str) -> dict:
    """Gas used by each GroupBuy action and by anchoring a batch, on contracts already in use."""
    from eth_utils import keccak

    from engine.evidence import merkle

    gas: dict[str, int] = {}
    enterprise, backers = DEV_ADDRESSES[2], DEV_ADDRESSES[5:8]

    def act(name: str | None, sender: str, function: str, *args, contract: str = "GroupBuy") -> dict:
        receipt = _send(rpc, transactions.call(contract, function, args, sender))
        if name:
            gas[name] = int(receipt["gasUsed"], 16)
        return receipt

    def campaign(moq: int, days: int = 30) -> int:
        act(
            None,
            enterprise,
            "openCampaign",
            keccak(text="scheme"),
            1,
            token,
            10_000,
            2_000,
            moq,
            100,
            rpc.chain_time() + days * 86_400,
        )
        return transactions.view("GroupBuy", "campaignCount")[0]

    for backer in backers:
        _send(rpc, transactions.approve(token, backer, 2**255, spender="GroupBuy"))
    first = campaign(2)  # the contract in use: a campaign succeeded and collected
    act(None, backers[0], "pledge", first, 2, b"\xc0" * 32)
    act(None, enterprise, "collect", first)
    act(
        "open_campaign",
        enterprise,
        "openCampaign",
        keccak(text="scheme 2"),
        1,
        token,
        10_000,
        2_000,
        10,
        100,
        rpc.chain_time() + 30 * 86_400,
    )
    c = transactions.view("GroupBuy", "campaignCount")[0]
    act("pledge_first", backers[0], "pledge", c, 3, b"\xc1" * 32)
    act("pledge", backers[1], "pledge", c, 3, b"\xc2" * 32)
    act("lower_moq", enterprise, "lowerMoq", c, 9)
    act("extend_target_date", enterprise, "extendTargetDate", c, rpc.chain_time() + 40 * 86_400)
    act("pledge_triggering", backers[2], "pledge", c, 3, b"\xc3" * 32)
    act("pledge_after_success", backers[0], "pledge", c, 1, b"\xc4" * 32)
    act("collect", enterprise, "collect", c)
    cancelled = campaign(10)
    act(None, backers[0], "pledge", cancelled, 2, b"\xc5" * 32)
    act("cancel", enterprise, "cancel", cancelled)
    act("refund", backers[0], "refund", cancelled)
    hashes = ["0x" + keccak(text=f"bundle {i}").hex() for i in range(1000)]
    act(
        "anchor_batch",
        DEV_ADDRESSES[8],
        "anchor",
        bytes.fromhex(merkle.root(hashes)[2:]),
        1000,
        contract="EvidenceAnchor",
    )
    return gas


def measure_order_book(node: AnvilNode, deployments: Path, work: Path, samples: int) -> dict:
    """Latency of the retail order book over a catalogue of 1,024 schemes with live pledges:
    GET over HTTP from a client on loopback to the API served by uvicorn."""
    import random

    import httpx

    from api.client import answer
    from api.service import Service

    settings = replace(make_settings(work, deployments, "book"), api_port=_free_port())
    service = Service(settings, node.url)
    rpc = Rpc(node.url)
    token = service.manifest.contract("TestStablecoin").address
    enterprise = DEV_ADDRESSES[2]
    server, thread = _serve(service, settings.api_port)
    client = httpx.Client(base_url=f"http://127.0.0.1:{settings.api_port}", timeout=30)
    admin = {"Authorization": "Bearer bench"}
    key = answer(
        client.post("/stores", headers=admin, json={"store_id": "bench-maker", "name": "Maker", "address": enterprise})
    )["api_key"]
    headers = {"Authorization": f"Bearer {key}"}
    parameters = [
        {
            "id": f"p{p}",
            "kind": "design" if p < 3 else "perception",
            "options": [{"id": f"o{o}", "surcharge": 100 * o + 10 * p} for o in range(4)],
        }
        for p in range(5)
    ]
    answer(
        client.put(
            "/stores/bench-maker/catalogue/schemes",
            headers=headers,
            json={
                "parameters": parameters,
                "ladder": [
                    {"minimum_quantity": 1, "unit_price": "10000"},
                    {"minimum_quantity": 10, "unit_price": "9000"},
                    {"minimum_quantity": 100, "unit_price": "8000"},
                ],
                "terms": [1, 2, 3],
                "term_discounts": [{"term": 2, "basis_points": 300}, {"term": 3, "basis_points": 600}],
            },
        )
    )
    listed = answer(client.get("/catalogues/bench-maker/schemes", params={"limit": 1000}))
    total, schemes = listed["total"], [s["id"] for s in listed["schemes"]]
    say(f"  a catalogue of {total} schemes; opening campaigns with pledges ...")
    rng = random.Random(7)
    live = rng.sample(schemes, 60)
    for scheme in live:
        answer(
            client.post(
                "/stores/bench-maker/catalogue/costs",
                headers=headers,
                json={"scheme": scheme, "term": 1, "department": "production", "fixed": "500000", "variable": "3000"},
            )
        )
    load = Load(rpc, service.manifest)
    rpc.call("evm_setAutomine", False)
    try:
        txs = []
        for scheme in live:
            opened = service.transactions.call(
                "GroupBuy",
                "openCampaign",
                (
                    bytes.fromhex(_scheme_hash(scheme)[2:]),
                    1,
                    token,
                    10_000,
                    1_000,
                    1_000,
                    5_000,
                    rpc.chain_time() + 30 * 86_400,
                ),
                enterprise,
            )
            txs.append(load._tx(enterprise, opened["to"], opened["data"]))
        load._mine(txs, 200)
        first = service.transactions.view("GroupBuy", "campaignCount")[0] - len(live) + 1
        backers = DEV_ADDRESSES[3:8]
        load._mine(
            [
                load._tx(b, token, load.erc20.encode("approve", service.manifest.contract("GroupBuy").address, 2**255))
                for b in backers
            ],
            200,
        )
        pledges = [
            load._tx(
                backers[i % len(backers)],
                service.manifest.contract("GroupBuy").address,
                service.manifest.contract("GroupBuy").functions.encode(
                    "pledge", first + i % len(live), 1 + i % 7, b"\xc0" * 32
                ),
            )
            for i in range(600)
        ]
        load._mine(pledges, 300)
    finally:
        rpc.call("evm_setAutomine", True)
    service.step()
    latencies = []
    for i in range(samples):
        scheme = rng.choice(live if i % 2 else schemes)
        started = time.perf_counter()
        book = answer(
            client.get(
                "/catalogues/bench-maker/book",
                params={"scheme": scheme, "term": rng.choice([1, 2, 3]), "quantity": rng.choice([1, 5, 12, 40, 150])},
            )
        )
        latencies.append((time.perf_counter() - started) * 1000)
    assert book["seq"] > 0
    client.close()
    server.should_exit = True
    thread.join(5)
    service.stop()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * len(latencies)) - 1)]
    say(
        f"  order book over {total} schemes, {len(live)} live campaigns, 600 pledges: "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms"
    )
    return {
        "schemes": total,
        "campaigns": len(live),
        "pledges": 600,
        "p50": round(statistics.median(latencies), 1),
        "p99": round(p99, 1),
    }


def _scheme_hash(scheme: str) -> str:
    from engine.group_buy.catalogue import scheme_hash

    return scheme_hash(scheme)


def measure_anchoring(node: AnvilNode, deployments: Path, work: Path, bundles: int) -> dict:
    """Evidence throughput: bundles checked, sealed, recorded, batched and anchored on chain, until
    the views show every bundle anchored (the bundles' signatures are made beforehand)."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    from api.service import Service
    from engine.chain.typed_data import signable
    from engine.evidence import bundles as evidence

    service = Service(make_settings(work, deployments, "anchoring"), node.url)
    buyer = _dev_key(3)
    dom = evidence.domain(service.chain_id, service.manifest.contract("GroupBuy").address)
    say(f"signing {bundles} evidence bundles ...")
    made = []
    for i in range(bundles):
        text = f"{service.settings.domain} wants you to sign in with your Ethereum account: order {i}"
        login = {
            "message": text,
            "signature": "0x" + bytes(buyer.sign_message(encode_defunct(text=text)).signature).hex(),
        }
        order = {
            "campaign_id": 1 + i % 50,
            "scheme": "s",
            "scheme_hash": "0x" + "5c" * 32,
            "term": 1,
            "quantity": 1 + i,
            "unit_price": "10000",
            "deposit": str(1000 * (1 + i)),
            "buyer": buyer.address.lower(),
        }
        notice = evidence.risk_notice(order)
        ack_t = evidence.acknowledgement_typed_data(dom, notice, order["campaign_id"], buyer.address)
        conf_t = evidence.confirmation_typed_data(dom, order, notice, text)

        def sign(typed):
            return "0x" + bytes(Account.sign_message(signable(typed), buyer.key).signature).hex()

        made.append(
            evidence.bundle(
                login,
                order,
                notice,
                {"typed_data": ack_t, "signature": sign(ack_t)},
                {"typed_data": conf_t, "signature": sign(conf_t)},
                {
                    "campaign_id": order["campaign_id"],
                    "backer": buyer.address.lower(),
                    "confirmation_hash": evidence.digest(conf_t),
                },
            )
        )
    started = time.perf_counter()
    for b in made:
        report = evidence.check(b)
        assert report["ok"], report["problems"]
        service.app.record_evidence(
            report["hash"],
            b,
            evidence.seal(report["hash"], service.witness),
            service.witness.address.lower(),
            b["order"]["campaign_id"],
            buyer.address.lower(),
        )
    service.project()
    batches = 0
    while service.evidence.unbatched(1) or service._unanchored():
        batches += len(service.anchorer.run_once())
        service.step()
    elapsed = time.perf_counter() - started
    anchored = service.db.fetchone(
        "SELECT count(*) FROM view_evidence e JOIN view_anchor_batches b ON b.root = e.root"
    )[0]
    if anchored != bundles:
        raise RuntimeError(f"{anchored} of {bundles} bundles anchored")
    service.stop()
    say(
        f"  {bundles} bundles checked, sealed, recorded and anchored in {batches} batches in {elapsed:.2f}s -> "
        f"{bundles / elapsed:,.0f} bundles/s"
    )
    return {"bundles": bundles, "batches": batches, "bundles_per_s": round(bundles / elapsed, 1)}


def measure_escrow_gas(rpc: Rpc, transactions: Transactions, token: str) -> dict:
    """Gas used by each CrossBorderEscrow action, on an escrow already in use."""
    gas: dict[str, int] = {}
    buyer, seller, carrier = DEV_ADDRESSES[3], DEV_ADDRESSES[2], DEV_ADDRESSES[6]
    arbiter = DEV_ADDRESSES[0]  # the deployer, the escrow's arbiter on a development chain
    waybill, billing = b"\xb1" * 32, 30 * 86_400
    quotes = iter(range(1, 1000))

    def snap() -> bytes:
        """A fresh snapshot hash: one quote pays one order."""
        return next(quotes).to_bytes(32, "big")

    def act(name: str | None, sender: str, function: str, *args) -> dict:
        receipt = _send(rpc, transactions.call("CrossBorderEscrow", function, args, sender))
        if name:
            gas[name] = int(receipt["gasUsed"], 16)
        return receipt

    def order(policy: int = 0) -> int:
        act(None, buyer, "pay", seller, token, 100_000_000, 30_000_000, snap(), policy, billing)
        return transactions.view("CrossBorderEscrow", "orderCount")[0]

    def later(days: int) -> None:
        rpc.call("evm_increaseTime", days * 86_400)
        rpc.call("evm_mine")

    _send(rpc, transactions.approve(token, buyer, 2**255, spender="CrossBorderEscrow"))
    order()  # the escrow in use
    act("pay", buyer, "pay", seller, token, 100_000_000, 30_000_000, snap(), 0, billing)
    first = transactions.view("CrossBorderEscrow", "orderCount")[0]
    act("pay_leg", seller, "payLeg", first, carrier, 12_000_000, waybill)
    act("final_bill_refund", seller, "finalBill", first, carrier, 8_000_000, waybill)
    act("request_return", buyer, "requestReturn", first, b"\x01" * 32)
    act("answer_return_accept", seller, "answerReturn", first, True, 0, b"")
    second = order()
    act("final_bill_top_up", seller, "finalBill", second, carrier, 34_000_000, waybill)
    act("top_up", buyer, "topUp", second)
    later(15)
    act("release", carrier, "release", second)
    third = order()
    act(None, seller, "finalBill", third, carrier, 40_000_000, waybill)
    later(8)
    act("escalate", carrier, "escalate", third)
    act("resolve", arbiter, "resolve", third, 90_000_000)
    refused = order()
    act(None, seller, "finalBill", refused, carrier, 20_000_000, waybill)
    act(None, buyer, "requestReturn", refused, b"\x01" * 32)
    act("answer_return_refuse", seller, "answerReturn", refused, False, 0, b"\x02" * 32)
    act("escalate_refused", buyer, "escalate", refused)
    unbilled = order()
    act(None, seller, "payLeg", unbilled, carrier, 12_000_000, waybill)
    later(31)
    act("cancel", buyer, "cancel", unbilled)
    later(31)
    act("end_lapsed", carrier, "endLapsed", refused)
    return gas


COMMERCE_PAYMENTS_CHARGE = 178_936  # AuthCaptureEscrow.charge as commerce-payments publishes it


def measure_offline_payment_gas(rpc: Rpc, transactions: Transactions, token: str) -> dict:
    """Gas of paying after verified delivery: the checkout costs the buyer a signature and no
    gas; the verifier's verify and the keeper's collect per shipment, beside commerce-payments'
    ``charge`` (its published figures leave out the 21,000 every transaction pays, so
    ``ratio`` compares without it)."""
    buyer, store, verifier, keeper = DEV_ADDRESSES[3], DEV_ADDRESSES[2], DEV_ADDRESSES[8], DEV_ADDRESSES[9]
    signer = _dev_key(3)
    gas: dict[str, int] = {}
    nonces = iter(range(1, 1000))
    valid_until = rpc.chain_time() + 30 * 86_400

    def act(name: str | None, sender: str, function: str, *args) -> dict:
        receipt = _send(rpc, transactions.call("OfflinePayment", function, args, sender))
        if name:
            gas[name] = int(receipt["gasUsed"], 16)
        return receipt

    def mandate() -> tuple[tuple, bytes]:
        m = (buyer, store, token, 100_000_000, b"\x0d" * 32, valid_until, next(nonces))
        digest = transactions.view("OfflinePayment", "mandateId", m)[0]
        signed = signer.unsafe_sign_hash(bytes.fromhex(digest[2:]) if isinstance(digest, str) else digest)
        return m, signed.signature

    _send(rpc, transactions.approve(token, buyer, 2**255, spender="OfflinePayment"))
    warm, sig = mandate()  # the contract in use, the store holding the token already
    act(None, verifier, "verify", warm, sig, b"\x01" * 32, 1_000_000, b"\x57" * 32, b"\xca" * 32)
    act(None, keeper, "collect", warm, 1)
    m, sig = mandate()
    act("verify", verifier, "verify", m, sig, b"\x02" * 32, 25_000_000, b"\x57" * 32, b"\xca" * 32)
    act("collect", keeper, "collect", m, 1)
    act("verify_next_shipment", verifier, "verify", m, b"", b"\x03" * 32, 25_000_000, b"\x57" * 32, b"\xca" * 32)
    act("collect_next_shipment", keeper, "collect", m, 2)
    total = gas["verify"] + gas["collect"]
    without = total - 2 * BASE_GAS
    say(
        f"  checkout: a signature, 0 gas; verify {gas['verify']:,} + collect {gas['collect']:,} = {total:,} "
        f"({without:,} without the base: {without / COMMERCE_PAYMENTS_CHARGE:.2f}x commerce-payments' charge "
        f"{COMMERCE_PAYMENTS_CHARGE:,}); a further shipment {gas['verify_next_shipment']:,} + "
        f"{gas['collect_next_shipment']:,}"
    )
    return {
        **gas,
        "checkout": 0,
        "verify_and_collect": total,
        "verify_and_collect_without_base": without,
        "commerce_payments_charge": COMMERCE_PAYMENTS_CHARGE,
        "ratio": round(without / COMMERCE_PAYMENTS_CHARGE, 3),
    }


def measure_waybill_checks(numbers: int) -> int:
    """Waybill checks per second over the couriers' published numbers, valid and mistyped."""
    from engine.delivery.waybill import WaybillRefused, check

    published = [
        ("s10", "RB123456785GB"),
        ("ups", "1Z5R89390357567127"),
        ("fedex_express", "986578788855"),
        ("dhl_express", "3318810025"),
        ("s10", "RB123456786US"),
        ("dhl_express", "3318810010"),
    ]
    work = [published[i % len(published)] for i in range(numbers)]
    started = time.perf_counter()
    refused = 0
    for scheme, number in work:
        try:
            check(scheme, number)
        except WaybillRefused:
            refused += 1
    elapsed = time.perf_counter() - started
    say(f"  {numbers:,} waybill checks in {elapsed:.2f}s: {numbers / elapsed:,.0f}/s ({refused:,} refused)")
    return round(numbers / elapsed)


def measure_courier_choice(couriers: int, samples: int) -> dict:
    """The courier chosen for a parcel among ``couriers`` (three hubs each, across Europe)."""
    import random

    from engine.delivery.couriers import Courier, choose

    rng = random.Random(3)

    def place() -> tuple[float, float]:
        return (rng.uniform(36, 60), rng.uniform(-10, 30))

    book = [
        Courier(
            f"c{i}",
            f"Courier {i}",
            "s10",
            tuple(place() for _ in range(3)),
            Decimal(rng.randint(100, 900)),
            rng.randint(1, 5) * 1_000_000,
            Decimal(rng.randint(1, 50)) * 100,
            Decimal(rng.randint(1, 9)) * 100_000,
        )
        for i in range(couriers)
    ]
    latencies, chosen = [], 0
    for _ in range(samples):
        origin, destination = place(), place()
        started = time.perf_counter()
        chosen += choose(book, origin, destination, Decimal("2.5")) is not None
        latencies.append((time.perf_counter() - started) * 1000)
    say(f"  courier choice among {couriers:,} couriers ({chosen} of {samples} parcels served):")
    return {"couriers": couriers, **_p50_p99(latencies)}


def measure_recommendations(work: Path, orders: int, buyers: int, samples: int) -> dict:
    """Recommendations for one buyer among ``orders`` collected orders of ``buyers`` buyers over
    500 items of 10 stores (popular items likelier): the habits written through the payments
    view's own incremental step (a collected shipment's lines), then read through the view."""
    import random

    from engine.application import OrderEngine
    from engine.config import Settings
    from engine.db import Database
    from projections.payments import PaymentsView

    app = OrderEngine(Settings(db=str(work / "recommend-events.sqlite"), var_dir=str(work)))
    view = PaymentsView(app, Database(str(work / "recommend-views.sqlite")))
    rng = random.Random(11)
    items = [(f"store-{i % 10}", f"sku-{i}") for i in range(500)]
    weights = [1 / (rank + 1) for rank in range(len(items))]
    say(f"writing the purchase habits of {orders:,} collected orders of {buyers:,} buyers ...")
    started = time.perf_counter()
    with view.db.transaction():
        for _ in range(orders):
            login = f"buyer-{rng.randrange(buyers)}"
            for store_id, sku in set(rng.choices(items, weights, k=rng.randint(1, 4))):
                view.hold(login, store_id, sku, rng.randint(1, 3), 1)
    written = time.perf_counter() - started
    say(f"  written in {written:.1f}s ({orders / written:,.0f} orders/s)")
    latencies, found = [], 0
    for _ in range(samples):
        login = f"buyer-{rng.randrange(buyers)}"
        started = time.perf_counter()
        found += len(view.recommendations(login))
        latencies.append((time.perf_counter() - started) * 1000)
    say(f"  recommendations for {samples} buyers ({found} items in all):")
    return {"orders": orders, "buyers": buyers, "habits_orders_per_s": round(orders / written), **_p50_p99(latencies)}


def measure_page(node: AnvilNode, deployments: Path, work: Path, orders: int, samples: int) -> dict:
    """Server time of the dashboard's store orders page (``GET /app/stores/{id}``: the 100 latest
    changes) for a store with ``orders`` orders, signed in as its staff (the two factors done
    once, before the clock)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    service, _ = _engine_with_orders(node, deployments, work, "page", orders, prefix="G-")
    latencies = []
    with TestClient(create_app(service), cookies={"orderchain_session": _staff_session(service)}) as client:
        for i in range(samples + 20):
            started = time.perf_counter()
            r = client.get(f"/app/stores/{STORE_ID}")
            elapsed = (time.perf_counter() - started) * 1000
            assert r.status_code == 200 and r.text.count('<tr id="order-') == min(orders, 100), r.status_code
            if i >= 20:  # the first pages warm the caches (templates, the token's symbol)
                latencies.append(elapsed)
    service.stop()
    say(f"  the store orders page with {orders:,} orders, {samples} requests:")
    return {"orders": orders, **_p50_p99(latencies)}


def _staff_session(service) -> str:
    """A cookie session of the bench store's staff, signed in with both factors (SMS in the outbox)."""
    from engine.account_desk import outbox_path
    from engine.accounts.sms import Outbox

    # one login per event store: the outbox is shared by every measurement of a run
    login, password, phone = (
        f"staff-{Path(service.settings.db).stem}@bench.example",
        "correct horse battery",
        "+447911123499",
    )
    service.app.register_account(login, "store_staff", password, store_id=STORE_ID, phone=phone)
    codes = Outbox(outbox_path(service.settings))
    service.accounts.send_phone_code(login)
    service.app.verify_phone(login, codes.latest_code(phone) or "", time.time())
    service.accounts.send_sign_in_code(login)
    return service.accounts.sign_in(login, password, codes.latest_code(phone) or "", "cookie")["token"]


def measure_live(node: AnvilNode, deployments: Path, work: Path, samples: int) -> dict:
    """Mined transaction -> the order's row shown paid in the dashboard, in a real browser
    (Debian's chromium, headless): the page records when each row turns paid (a
    MutationObserver, the browser's clock) against when the transaction was mined."""
    import shutil

    from playwright.sync_api import sync_playwright

    service, hashes = _engine_with_orders(node, deployments, work, "live", samples, prefix="V-")
    token = _staff_session(service)
    port = _free_port()
    service.start()
    server, thread = _serve(service, port)
    rpc = Rpc(node.url)
    stable = service.manifest.contract("TestStablecoin").address
    buyer = DEV_ADDRESSES[7]
    base = f"http://127.0.0.1:{port}"
    watch = """() => { window.paidAt = {};
        new MutationObserver(() => { for (const row of document.querySelectorAll('#orders tbody tr')) {
            const n = row.dataset.number; if (!(n in window.paidAt) && row.textContent.includes('paid'))
                window.paidAt[n] = Date.now(); } })
        .observe(document.querySelector('#orders tbody'), {childList: true, subtree: true, characterData: true}); }"""
    latencies = []
    say(f"measuring mined -> shown in the browser over {samples} settlements ...")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium", headless=True, args=["--no-sandbox"]
            )
            context = browser.new_context(base_url=base)
            context.add_cookies([{"name": "orderchain_session", "value": token, "url": base}])
            page = context.new_page()
            page.goto(f"/app/stores/{STORE_ID}")
            page.wait_for_function("document.getElementById('live').textContent === 'live'")
            page.evaluate(watch)
            _send(rpc, service.transactions.approve(stable, buyer, 2**255))
            for number, snapshot_hash in hashes.items():
                key = SettlementKey(STORE, order_number_bytes32(number), buyer, buyer, stable)
                tx = service.transactions.call(
                    SETTLEMENT, "open", (key.as_tuple(), 1_000_000, bytes.fromhex(snapshot_hash[2:]), 0), buyer
                )
                _send(rpc, tx)
                mined = time.time() * 1000
                page.wait_for_function(f"'{number}' in window.paidAt", timeout=10_000, polling=5)
                latencies.append(page.evaluate(f"window.paidAt['{number}']") - mined)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(5)
        service.stop()
    return _p50_p99(latencies)


def measure_freight_quotes(node: AnvilNode, deployments: Path, work: Path, orders: int, samples: int) -> dict:
    """Freight quote latency over a history of ``orders`` completed orders on 40 paths, over HTTP."""
    import random
    from datetime import datetime, timedelta

    import httpx

    from api.client import answer
    from api.service import Service
    from engine.cross_border.freight import HistoryOrder

    settings = replace(make_settings(work, deployments, "freight"), api_port=_free_port())
    service = Service(settings, node.url)
    rng = random.Random(11)
    places = ["CN-SZX", "CN-SHA", "DE-HAM", "NL-RTM", "US-LAX", "FR-PAR", "GB-LON", "JP-TYO"]
    paths = [(a, b) for a in places[:4] for b in places[4:]] + [(b, a) for a in places[:4] for b in places[4:6]]
    end = datetime(2026, 6, 30, tzinfo=UTC)
    say(f"importing a history of {orders} completed orders on {len(paths)} paths ...")
    history = [
        HistoryOrder(
            origin=p[0],
            destination=p[1],
            length_cm=Decimal(rng.randint(20, 80)),
            width_cm=Decimal(rng.randint(20, 60)),
            height_cm=Decimal(rng.randint(10, 50)),
            weight_kg=Decimal(rng.randint(10, 400)) / 10,
            price_minor=rng.randint(5_000, 500_000),
            currency="EUR",
            order_id=f"h{i}",
            freight_minor=rng.randint(2_000, 90_000),
            completed_at=end - timedelta(seconds=rng.randint(0, 200 * 86_400)),
        )
        for i, p in enumerate(rng.choice(paths) for _ in range(orders))
    ]
    started = time.perf_counter()
    service.app.import_freight(history, "bench", set())
    service.project()
    service.freight.history()
    say(f"  imported and indexed in {time.perf_counter() - started:.1f}s")
    server, thread = _serve(service, settings.api_port)
    latencies = []
    with httpx.Client(base_url=f"http://127.0.0.1:{settings.api_port}", timeout=30) as http:
        for _ in range(samples):
            path = rng.choice(paths)
            body = {
                "origin": path[0],
                "destination": path[1],
                "length_cm": rng.randint(20, 80),
                "width_cm": rng.randint(20, 60),
                "height_cm": rng.randint(10, 50),
                "weight_kg": str(rng.randint(10, 400) / 10),
                "price_minor": rng.randint(5_000, 500_000),
                "currency": "EUR",
                "quoted_at": (end - timedelta(days=rng.randint(0, 100))).isoformat(),
            }
            started = time.perf_counter()
            quoted = answer(http.post("/freight/quotes", json=body))
            latencies.append((time.perf_counter() - started) * 1000)
    assert sum(quoted["groups"]) > 0
    server.should_exit = True
    thread.join(5)
    service.stop()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * len(latencies)) - 1)]
    say(f"  freight quotes over {orders} orders: p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms")
    return {"orders": orders, "p50": round(statistics.median(latencies), 1), "p99": round(p99, 1)}


class CapturedSms:
    """Stands in for the phones: keeps the newest message sent to each number (the gateway is
    the only part not exercised; signing, retries and delivery are measured elsewhere)."""

    def __init__(self):
        self.last: dict[str, str] = {}

    def send(self, message):
        from engine.accounts.sms import Sent

        self.last[message.to] = message.text
        return Sent(True, 1)

    def code(self, to: str) -> str:
        from engine.accounts.sms import code_in

        code = code_in(self.last[to])
        assert code is not None
        return code


def measure_signin(node: AnvilNode, deployments: Path, work: Path, clients: int, rounds: int) -> dict:
    """Two-factor sign-ins over HTTP by ``clients`` concurrent clients, each its own account:
    ask for an SMS code, then sign in with the password and it (argon2id at its full cost)."""
    import httpx

    from api.client import answer
    from api.service import Service

    settings = replace(make_settings(work, deployments, "signin"), api_port=_free_port())
    service = Service(settings, node.url)
    sms = CapturedSms()
    service.accounts.sms = sms
    password = "correct horse battery staple"
    phones = {f"user{i}@example.org": f"+4479111{i:05d}" for i in range(clients)}
    say(f"registering {clients} accounts with verified phones ...")
    for login, phone in phones.items():
        service.app.register_account(login, "buyer", password, phone=phone)
        service.accounts.send_phone_code(login)
        assert service.app.verify_phone(login, sms.code(phone), time.time())
    server, thread = _serve(service, settings.api_port)
    latencies: list[float] = []
    lock = threading.Lock()
    failures = []

    def client(login: str, phone: str) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.api_port}", timeout=60) as http:
            for _ in range(rounds):
                answer(http.post("/accounts/sign-in/code", json={"login": login}))
                body = {"login": login, "password": password, "code": sms.code(phone)}
                started = time.perf_counter()
                r = http.post("/accounts/sign-in", json=body)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    (latencies if r.status_code == 200 else failures).append(elapsed)

    say(f"signing in: {clients} clients x {rounds} two-factor sign-ins ...")
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=item) for item in phones.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    server.should_exit = True
    thread.join(5)
    service.stop()
    assert not failures, f"{len(failures)} sign-ins refused"
    per_s = len(latencies) / wall
    say(f"  {len(latencies)} sign-ins in {wall:.1f}s: {per_s:.1f}/s")
    return {"clients": clients, "sign_ins": len(latencies), "per_s": round(per_s, 1), **_p50_p99(latencies)}


def measure_reputation(node: AnvilNode, deployments: Path, work: Path, orders: int, own: int, samples: int) -> dict:
    """Reads of one buyer's reputation when ``own`` of ``orders`` settled orders are its own: the
    view's rows written as the projection writes them (each settlement's logs folded, its signals
    asked of the domain), then read through the view and over HTTP."""
    import random

    import httpx

    from api.client import answer
    from api.service import Service
    from engine.settlement import escrow
    from projections.chain_rows import ChainBatch

    settings = replace(make_settings(work, deployments, "reputation"), api_port=_free_port())
    service = Service(settings, node.url)
    view = service.reputation
    rng = random.Random(5)
    buyer = "0x" + "b0" * 20
    stores = ["0x" + f"{i:040x}" for i in range(1, 21)]
    now = service.rpc.chain_time()
    say(f"writing the signals of {orders} settled orders ({own} of them one buyer's) ...")
    started = time.perf_counter()
    zero = "0x" + "00" * 32
    changed: list[tuple] = []
    with view.db.transaction():
        for n in range(orders):
            who = buyer if n < own else "0x" + f"{rng.randrange(1, 50_000):040x}"
            paid = now - rng.randrange(0, 400 * 86_400)
            opened = {
                "store": rng.choice(stores),
                "orderNumber": zero,
                "buyer": who,
                "payer": who,
                "token": zero[:42],
                "amount": 1,
                "snapshotHash": zero,
                "paidAt": paid,
                "deadline": paid + 86_400,
            }
            shipped = {"waybillHash": zero}
            done = {"paymentRecord": n, "toStore": 1, "toPayer": 0, "ending": 0}
            logs = [
                {
                    "event": name,
                    "args": args,
                    "coords": {
                        "block_number": n,
                        "block_hash": zero,
                        "tx_hash": zero,
                        "log_index": i,
                        "block_timestamp": paid + i * 3600,
                    },
                }
                for i, (name, args) in enumerate(
                    (("SettlementOpened", opened), ("SettlementShipped", shipped), ("SettlementCompleted", done))
                )
            ]
            changed.append((escrow.Settlement.kind, f"0x{n:064x}", logs, n))
        view.write(ChainBatch(), changed)  # as a catch-up writes a batch's changed settlements
    say(f"  written in {time.perf_counter() - started:.1f}s")
    direct = []
    for _ in range(samples):
        started = time.perf_counter()
        found = view.reputation([buyer], now)
        direct.append((time.perf_counter() - started) * 1000)
    assert sum(c["total"] for c in found["counters"]) == own
    say("  read through the view:")
    view_ms = _p50_p99(direct)
    server, thread = _serve(service, settings.api_port)
    over_http = []
    with httpx.Client(base_url=f"http://127.0.0.1:{settings.api_port}", timeout=30) as http:
        for _ in range(samples):
            started = time.perf_counter()
            answer(http.get(f"/reputation/{buyer}"))
            over_http.append((time.perf_counter() - started) * 1000)
    server.should_exit = True
    thread.join(5)
    service.stop()
    say("  read over HTTP (GET /reputation/{address}):")
    http_ms = _p50_p99(over_http)
    return {"orders": orders, "own_orders": own, "view_ms": view_ms, "http_ms": http_ms, "p99": http_ms["p99"]}


class Traffic:
    """Settlement traffic while something else is measured: a buyer opens a settlement for one
    of the store's orders every ``interval`` seconds (each mined at once)."""

    def __init__(
        self, transactions: Transactions, rpc: Rpc, store: str, orders: list[tuple[str, str]], interval: float = 0.05
    ):
        self.transactions, self.rpc, self.store, self.orders, self.interval = transactions, rpc, store, orders, interval
        self.token = transactions.manifest.contract("TestStablecoin").address
        self.buyer = DEV_ADDRESSES[8]
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        _send(self.rpc, self.transactions.approve(self.token, self.buyer, 2**255))
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        for number, snapshot_hash in self.orders:
            if self._stop.wait(self.interval):
                return
            key = SettlementKey(self.store, order_number_bytes32(number), self.buyer, self.buyer, self.token)
            _send(
                self.rpc,
                self.transactions.call(
                    SETTLEMENT, "open", (key.as_tuple(), 1_000_000, bytes.fromhex(snapshot_hash[2:]), 0), self.buyer
                ),
            )
            self.sent += 1


def _workers(node: AnvilNode, deployments: Path, work: Path, name: str, port: int, workers: int, db: str | None = None):
    """`orderchain api --workers N` on the event store ``name`` (or the PostgreSQL URL ``db``):
    the engine's process and N API processes, as `make run` starts them beside its node."""
    import os
    import subprocess

    env = {
        **os.environ,
        "ORDERCHAIN_RPC_URL": node.url,
        "ORDERCHAIN_DEPLOYMENTS": str(deployments),
        "ORDERCHAIN_DB": db or str(work / f"{name}.sqlite"),
        "ORDERCHAIN_VAR": str(work / name),
        "ORDERCHAIN_ADMIN_TOKEN": "bench",
        "ORDERCHAIN_API_PORT": str(port),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "orderchain"), "api", "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _shut(process, server, thread, service) -> None:
    """Stops what a measurement served from: the workers' process, or the in-process server and its engine."""
    if process is not None:
        process.terminate()
        process.wait(30)
    if server is not None:
        server.should_exit = True
        thread.join(5)
        service.stop()


def _until_ready(http, timeout: float = 120) -> None:
    """Waits for ``/ready`` (the engine of a new process reads the chain first)."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if http.get("/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not get ready")
        time.sleep(0.2)


def _caught_up(http, timeout: float = 300) -> None:
    """Waits until the engine has read the chain to its head and every view has followed:
    a new event store reads the whole bench chain first, which is ingestion, not the
    delivery of one change that the latency figures measure."""
    deadline = time.monotonic() + timeout
    while True:
        status = http.get("/status").json()
        if status["lag"] == 0 and status["views_block"] == status["indexed_block"] is not None:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the engine did not catch up with the chain: {status}")
        time.sleep(0.1)


def measure_poll(
    node: AnvilNode,
    deployments: Path,
    work: Path,
    orders: int,
    rate: float,
    seconds: float,
    workers: int = 0,
    db: str | None = None,
) -> dict:
    """Pages of 50 orders of a store with ``orders`` orders, polled at a fixed rate by a load
    generator in its own process while settlement traffic flows. ``workers`` 0: the engine and
    the API in one process, as one `orderchain run`; N: `orderchain api --workers N`, the engine
    in one process and N API processes beside it."""
    import subprocess

    import httpx

    from api.client import answer

    name = f"poll-{workers}" + ("-pg" if db else "")
    service, hashes = _engine_with_orders(
        node, deployments, work, name, orders, prefix=f"P{workers}{'G' if db else ''}-", db=db
    )
    api_key, port = service.bench_key, _free_port()
    base = f"http://127.0.0.1:{port}"
    rpc = Rpc(node.url)
    transactions = Transactions(rpc, service.manifest)
    process = server = thread = None
    if workers:
        service.stop()
        process = _workers(node, deployments, work, name, port, workers, db)
    else:
        service.start()
        server, thread = _serve(service, port)
    try:
        headers = {"X-API-Key": api_key}
        paths, cursor = [], None
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            _until_ready(http)
            _caught_up(http)  # polls while traffic flows, not while a new event store reads the whole chain
            for _ in range(20):  # the first 20 pages, taken in turn
                path = "/stores/bench-shop/orders?limit=50" + (f"&after={cursor}" if cursor else "")
                paths.append(path)
                cursor = answer(http.get(path))["next_cursor"]
        shape = f"orderchain api --workers {workers}" if workers else "one process (orderchain run)"
        shape += " on PostgreSQL" if db else ""
        say(
            f"polling pages of 50 of {orders:,} orders at {rate:.0f} requests/s for {seconds:.0f} s while "
            f"settlements are opened; {shape} ..."
        )
        with Traffic(transactions, rpc, STORE, list(hashes.items())) as traffic:
            done = subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "tests" / "loadgen.py"),
                    "--url",
                    base,
                    "--rate",
                    str(rate),
                    "--seconds",
                    str(seconds),
                    "--header",
                    f"X-API-Key: {api_key}",
                    *paths,
                ],
                capture_output=True,
                text=True,
                timeout=seconds + 120,
                check=True,
            )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result.update(settlements_during=traffic.sent, shape=shape)
        say(
            f"  {result['rps']} requests/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
            f"{result['errors']} errors ({traffic.sent} settlements opened meanwhile)"
        )
        return result
    finally:
        _shut(process, server, thread, service)


def measure_postgres_poll(node: AnvilNode, deployments: Path, work: Path, args) -> dict:
    """The poll measurement with the event store and views on PostgreSQL (``--poll-workers`` workers)."""
    with postgres_database("poll") as url:
        return measure_poll(
            node, deployments, work, args.poll_orders, args.poll_rate, args.poll_seconds, args.poll_workers, db=url
        )


def measure_sse(node: AnvilNode, deployments: Path, work: Path, samples: int, workers: int = 0) -> dict:
    """Mined transaction -> the change received by a client of the store's SSE stream. ``workers``
    0: one process; N: the engine's process and N API workers (the stream is a worker's, woken
    by the engine's process when it has projected)."""
    import httpx

    from api.client import answer

    name = f"sse-{workers}" if workers else "sse"
    service, hashes = _engine_with_orders(node, deployments, work, name, samples, prefix=f"S{workers or ''}-")
    port = _free_port()
    process = server = thread = None
    if workers:
        service.stop()
        process = _workers(node, deployments, work, name, port, workers)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            _until_ready(http)
    else:
        service.start()
        server, thread = _serve(service, port)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        _caught_up(http)
    rpc = Rpc(node.url)
    token = service.manifest.contract("TestStablecoin").address
    buyer = DEV_ADDRESSES[7]
    arrived: dict[str, float] = {}
    ready = threading.Event()
    api_key = service.bench_key

    def listen():
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            start = answer(http.get("/stores/bench-shop/orders?limit=1000", headers={"X-API-Key": api_key}))[
                "next_cursor"
            ]
            with http.stream(
                "GET", "/stores/bench-shop/orders/stream", headers={"X-API-Key": api_key, "Last-Event-ID": start}
            ) as r:
                ready.set()
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        row = json.loads(line[6:])
                        if row["status"] == "paid":
                            arrived[row["order_number"]] = time.perf_counter()
                            if len(arrived) == samples:
                                return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    ready.wait(30)
    _send(rpc, service.transactions.approve(token, buyer, 2**255))
    say(f"measuring SSE delivery over {samples} settlements ...")
    latencies = []
    try:
        for number, snapshot_hash in hashes.items():
            key = SettlementKey(STORE, order_number_bytes32(number), buyer, buyer, token)
            tx = service.transactions.call(
                SETTLEMENT, "open", (key.as_tuple(), 1_000_000, bytes.fromhex(snapshot_hash[2:]), 0), buyer
            )
            _send(rpc, tx)
            mined = time.perf_counter()
            deadline = mined + 10
            while number not in arrived and time.perf_counter() < deadline:
                time.sleep(0.0005)
            if number not in arrived:
                raise RuntimeError(f"the stream did not deliver {number}")
            latencies.append((arrived[number] - mined) * 1000)
    finally:
        _shut(process, server, thread, service)
    return _p50_p99(latencies)


def _p50_p99(latencies: list[float]) -> dict:
    """The median and 99th percentile of latencies in ms (printed with the maximum)."""
    latencies = sorted(latencies)
    p99 = latencies[min(len(latencies) - 1, round(0.99 * len(latencies)) - 1)]
    say(f"  p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")
    return {"p50": round(statistics.median(latencies), 1), "p99": round(p99, 1)}


def _serve(service, port: int):
    """The API of ``service`` served by uvicorn on loopback in a thread, once it accepts requests."""
    import uvicorn

    from api.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread


def _free_port() -> int:
    from engine.chain.node import free_port

    return free_port()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--settlements",
        type=int,
        default=10_000,
        help="settlements on the ingestion chain (2 events each; default 10000)",
    )
    parser.add_argument(
        "--cases",
        type=int,
        default=2500,
        help="liquor cases added for mixed ingestion (about 4.4 events each; default 2500)",
    )
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--bundles", type=int, default=2000, help="evidence bundles anchored (default 2000)")
    parser.add_argument(
        "--freight-orders",
        type=int,
        default=100_000,
        help="completed orders in the freight history quoted over (default 100000)",
    )
    parser.add_argument("--poll-orders", type=int, default=1000, help="orders of the polled store (default 1000)")
    parser.add_argument("--poll-rate", type=float, default=500.0, help="requests/s of the poll load (default 500)")
    parser.add_argument("--poll-seconds", type=float, default=10.0, help="how long the poll load runs (default 10)")
    parser.add_argument(
        "--poll-workers",
        type=int,
        default=2,
        help="API worker processes polled (`orderchain api --workers N`; default 2)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated measurements to run alone: ingest, ingest_mixed, latency_ms, poll, poll_one_process, "
        "sse_ms, sse_workers_ms, ingest_postgres, poll_postgres, "
        "gas, gas_liquor, gas_group_buy, gas_cross_border, contract_size, signin, reputation, offline_payment_gas, "
        "waybill_checks_per_s, courier_choice_ms, recommendations_ms, page_ms, live_ms",
    )
    parser.add_argument(
        "--signin-rounds", type=int, default=8, help="two-factor sign-ins per client of the 16 (default 8)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="orderchain-bench-") as tmp, AnvilNode() as node:
        work = Path(tmp)
        deployments = work / "deployments"
        say(f"anvil at {node.url}; deploying ...")
        deploy(node.url, str(deployments))
        from engine.chain.manifest import Manifest

        rpc = Rpc(node.url)
        manifest = Manifest.load(str(deployments), rpc.chain_id())
        stable = manifest.contract("TestStablecoin").address
        if args.only:  # a few measurements alone, for working on them (not the full document)

            def mixed_chain(runs: int) -> dict:
                """The settlement chain, the other contracts' events added, read ``runs`` times."""
                settled = measure_ingestion(node, deployments, work, args.settlements, runs=1)["events"]
                return measure_mixed_ingestion(
                    node, deployments, work, args.settlements, args.cases, settled, runs=runs
                )

            chosen = {
                "latency_ms": lambda: measure_latency(node, deployments, work, args.latency_samples),
                "ingest": lambda: measure_ingestion(node, deployments, work, args.settlements),
                "poll": lambda: measure_poll(
                    node, deployments, work, args.poll_orders, args.poll_rate, args.poll_seconds, args.poll_workers
                ),
                "ingest_postgres": lambda: (
                    measure_ingestion(node, deployments, work, args.settlements, runs=1),  # the chain to read
                    measure_postgres_ingestion(node, deployments, work, args.settlements),
                )[1],
                "poll_postgres": lambda: measure_postgres_poll(node, deployments, work, args),
                "poll_one_process": lambda: measure_poll(
                    node, deployments, work, args.poll_orders, args.poll_rate, args.poll_seconds
                ),
                "sse_ms": lambda: measure_sse(node, deployments, work, args.latency_samples),
                "sse_workers_ms": lambda: measure_sse(
                    node, deployments, work, args.latency_samples, workers=args.poll_workers
                ),
                "ingest_mixed": lambda: mixed_chain(3),
                "ingest_two_processes": lambda: (
                    mixed_chain(1),  # the chain to read
                    measure_two_process_ingestion(node, deployments, work, args.settlements),
                )[1],
                "gas": lambda: measure_gas(rpc, Transactions(rpc, manifest), stable),
                "gas_liquor": lambda: measure_liquor_gas(rpc, Transactions(rpc, manifest), stable),
                "gas_group_buy": lambda: measure_group_buy_gas(rpc, Transactions(rpc, manifest), stable),
                "gas_cross_border": lambda: measure_escrow_gas(rpc, Transactions(rpc, manifest), stable),
                "contract_size": lambda: measure_sizes(rpc, manifest),
                "waybill_checks_per_s": lambda: measure_waybill_checks(200_000),
                "courier_choice_ms": lambda: measure_courier_choice(1000, args.latency_samples),
                "offline_payment_gas": lambda: measure_offline_payment_gas(rpc, Transactions(rpc, manifest), stable),
                "signin": lambda: measure_signin(node, deployments, work, 16, args.signin_rounds),
                "reputation": lambda: measure_reputation(
                    node, deployments, work, 100_000, 10_000, args.latency_samples
                ),
                "recommendations_ms": lambda: measure_recommendations(work, 100_000, 20_000, args.latency_samples),
                "page_ms": lambda: measure_page(node, deployments, work, 1000, args.latency_samples),
                "live_ms": lambda: measure_live(node, deployments, work, 50),
            }
            wanted = {name.strip() for name in args.only.split(",")}
            print(json.dumps({name: run() for name, run in chosen.items() if name in wanted}))
            return
        sizes = measure_sizes(rpc, manifest)
        say(
            "  runtime size (margin under EIP-170's 24,576): "
            + ", ".join(f"{name} {s['runtime_bytes']:,} ({s['margin_bytes']:,})" for name, s in sizes.items())
        )
        say("measuring gas per action ...")
        gas = measure_gas(rpc, Transactions(rpc, manifest), manifest.contract("TestStablecoin").address)
        say(
            "  "
            + ", ".join(f"{k} {v:,}" for k, v in gas.items())
            + f"; open + confirm {gas['open'] + gas['confirm']:,}"
        )
        ingest = measure_ingestion(node, deployments, work, args.settlements)
        say("measuring gas per liquor action ...")
        gas_liquor = measure_liquor_gas(rpc, Transactions(rpc, manifest), manifest.contract("TestStablecoin").address)
        say("  " + ", ".join(f"{k} {v:,}" for k, v in gas_liquor.items()))
        mixed = measure_mixed_ingestion(node, deployments, work, args.settlements, args.cases, ingest["events"])
        two_processes = measure_two_process_ingestion(node, deployments, work, args.settlements)
        latency = measure_latency(node, deployments, work, args.latency_samples)
        say("measuring gas per group-buy action ...")
        gas_group_buy = measure_group_buy_gas(
            rpc, Transactions(rpc, manifest), manifest.contract("TestStablecoin").address
        )
        say("  " + ", ".join(f"{k} {v:,}" for k, v in gas_group_buy.items()))
        say("measuring the order book ...")
        book = measure_order_book(node, deployments, work, args.latency_samples)
        anchoring = measure_anchoring(node, deployments, work, args.bundles)
        say("measuring gas per escrow action ...")
        gas_escrow = measure_escrow_gas(rpc, Transactions(rpc, manifest), manifest.contract("TestStablecoin").address)
        say("  " + ", ".join(f"{k} {v:,}" for k, v in gas_escrow.items()))
        say("measuring gas of paying after verified delivery ...")
        offline_gas = measure_offline_payment_gas(rpc, Transactions(rpc, manifest), stable)
        say("measuring waybill checks and courier choice ...")
        waybills = measure_waybill_checks(200_000)
        courier_choice = measure_courier_choice(1000, args.latency_samples)
        say("measuring freight quotes ...")
        freight = measure_freight_quotes(node, deployments, work, args.freight_orders, args.latency_samples)
        poll = measure_poll(
            node, deployments, work, args.poll_orders, args.poll_rate, args.poll_seconds, args.poll_workers
        )
        poll_one = measure_poll(node, deployments, work, args.poll_orders, args.poll_rate, args.poll_seconds)
        say("measuring ingestion and polls on PostgreSQL ...")
        ingest_postgres = measure_postgres_ingestion(node, deployments, work, args.settlements)
        poll_postgres = measure_postgres_poll(node, deployments, work, args)
        sse = measure_sse(node, deployments, work, args.latency_samples)
        say(f"measuring SSE delivery from an API worker ({args.poll_workers} workers beside the engine) ...")
        sse_workers = measure_sse(node, deployments, work, args.latency_samples, workers=args.poll_workers)
        signin = measure_signin(node, deployments, work, 16, args.signin_rounds)
        reputation = measure_reputation(node, deployments, work, 100_000, 10_000, args.latency_samples)
        recommendations = measure_recommendations(work, 100_000, 20_000, args.latency_samples)
        say("measuring the dashboard's store orders page ...")
        page = measure_page(node, deployments, work, 1000, args.latency_samples)
        live = measure_live(node, deployments, work, 50)
    print(
        json.dumps(
            {
                "gas": gas,
                "ingest": ingest,
                "latency_ms": latency,
                "gas_without_base": {k: v - BASE_GAS for k, v in gas.items()},
                "gas_liquor": gas_liquor,
                "ingest_mixed": mixed,
                "gas_group_buy": gas_group_buy,
                "order_book_ms": book,
                "evidence_anchoring": anchoring,
                "freight_quote_ms": freight,
                "gas_cross_border": gas_escrow,
                "poll": poll,
                "sse_ms": sse,
                "poll_one_process": poll_one,
                "contract_size": sizes,
                "signin": signin,
                "offline_payment_gas": offline_gas,
                "waybill_checks_per_s": waybills,
                "courier_choice_ms": courier_choice,
                "reputation": reputation,
                "recommendations_ms": recommendations,
                "page_ms": page,
                "live_ms": live,
                "sse_workers_ms": sse_workers,
                "ingest_postgres": ingest_postgres,
                "poll_postgres": poll_postgres,
                "ingest_two_processes": two_processes,
            }
        )
    )


if __name__ == "__main__":
    main()
