"""The multi-host shape on PostgreSQL: a reader (`orderchain engine --no-views`), a projector
(`orderchain project`) and two API workers (`orderchain api --no-engine`), each a process
of its own with its own folder and its own copy of the deployments, sharing nothing but the
PostgreSQL URL and the node URL (as on separate hosts).

Settlements are mined; a worker that does not project streams them, woken by the projector
through PostgreSQL; a worker killed and restarted loses nothing (its stream resumes where it
stopped); the projector killed in the middle of a backfill and started again applies every
event exactly once: each view equals a rebuild from the event store; the keeper, beside the
projector, ends what silent parties left."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg

from engine.application import OrderEngine
from engine.chain.manifest import Manifest
from engine.chain.node import free_port
from engine.chain.transactions import Transactions
from engine.db import Database
from projections.runner import Projector
from tests.load import DEV_ADDRESSES, Load

from .conftest import ADMIN, API_PORT, dev_account, make_settings
from .test_stream import events
from .test_workers import SLOW_LOOKS, store_key, until_ready

BUYERS = DEV_ADDRESSES[3:6]
KEEPER = dev_account(9)


class Host:
    """One process of the shape, started as on a host of its own: its own folder (var and a
    copy of the deployments); its output kept in a file there."""

    def __init__(self, name: str, args: list[str], root: Path, deployments: Path, env: dict):
        self.name, self.args, self.folder = name, args, root / name
        shutil.copytree(deployments, self.folder / "deployments", dirs_exist_ok=True)
        self.env = {
            **env,
            "ORDERCHAIN_VAR": str(self.folder / "var"),
            "ORDERCHAIN_DEPLOYMENTS": str(self.folder / "deployments"),
        }
        self.process: subprocess.Popen | None = None

    def start(self, **env_more) -> Host:
        self.env.update(env_more)
        cli = Path(sys.executable).parent / "orderchain"
        log = open(self.folder / "output.log", "a")  # noqa: SIM115 (the process keeps it)
        self.process = subprocess.Popen([str(cli), *self.args], env=self.env, stdout=log, stderr=log, text=True)
        return self

    @property
    def output(self) -> str:
        return (self.folder / "output.log").read_text()

    def alive(self) -> bool:
        assert self.process is not None and self.process.poll() is None, f"{self.name} ended:\n{self.output}"
        return True

    def kill(self) -> None:
        """As a host that loses power: no chance to finish anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _database(base: str) -> str:
    name = f"orderchain_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{base.rsplit('/', 1)[0]}/{name}"


def _wait(what: str, ok, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout} s"
        time.sleep(0.1)


def test_reader_projector_and_workers_on_separate_hosts_share_only_postgresql_and_the_node(
    chain, tmp_path, postgres_db
):
    node, deployments, rpc = chain
    manifest = Manifest.load(str(deployments), rpc.chain_id())
    token = manifest.contract("TestStablecoin").address
    common = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ORDERCHAIN_", "PROMETHEUS_"))},
        "ORDERCHAIN_RPC_URL": node.url,
        "ORDERCHAIN_DB": postgres_db,
        "ORDERCHAIN_ADMIN_TOKEN": ADMIN,
        # Behind one public address (what the deployment's case metadata name), whichever serves.
        "ORDERCHAIN_PUBLIC_URL": f"http://127.0.0.1:{API_PORT}",
        "ORDERCHAIN_POLL_INTERVAL": "0.1",
    }
    ports = [free_port(), free_port()]
    reader = Host("reader", ["engine", "--no-views"], tmp_path, deployments, common)
    keeper = {"ORDERCHAIN_KEEPER_KEY": KEEPER.key.hex(), "ORDERCHAIN_KEEPER_INTERVAL": "0.2"}
    projector = Host("projector", ["project"], tmp_path, deployments, common | keeper)
    apis = [
        Host(
            f"api-{i}",
            ["api", "--no-engine"],
            tmp_path,
            deployments,
            common | SLOW_LOOKS | {"ORDERCHAIN_API_PORT": str(p)},
        )
        for i, p in enumerate(ports)
    ]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    with ExitStack() as stack:
        for host in (reader, projector, *apis):  # all at once on a new database (no one made its tables)
            stack.callback(host.stop)
            host.start()
        for host, base in zip(apis, bases, strict=True):
            until_ready(host.process, base, 90)
        first, second = (stack.enter_context(httpx.Client(base_url=b, timeout=30)) for b in bases)

        # A store registered through one worker places orders through the other.
        key = store_key(first, "far-shop")
        hashes = {}
        for i in range(120):
            placed = second.post(
                "/stores/far-shop/orders",
                json={"order_number": f"F-{i}", "amount": "1000000", "token": token},
                headers=key,
            )
            assert placed.status_code == 201, placed.text
            hashes[f"F-{i}"] = placed.json()["snapshot_hash"]
        _wait(
            "the projector showing the orders",
            lambda: (
                first.get("/stores/far-shop/orders", headers=key, params={"limit": 200}).json()["orders"].__len__()
                == 120
            ),
        )
        cursor = second.get("/stores/far-shop/orders", headers=key, params={"limit": 200}).json()["next_cursor"]

        # 1. The second worker streams a settlement the projector saw: woken through PostgreSQL.
        load = Load(rpc, manifest)
        paid_at: list[float] = []

        def pay_one():
            paid_at.append(time.monotonic())
            load.settlements(1, BUYERS[:1], confirm=False, prefix="F", snapshot_hashes=hashes)

        got = events(second, "/stores/far-shop/orders/stream", key | {"Last-Event-ID": cursor}, 1, pay_one, 30)
        arrived = time.monotonic()
        [change] = [e for e in got if "id" in e]
        assert change["data"]["order_number"] == "F-0" and change["data"]["status"] == "paid"
        assert arrived - paid_at[0] < 6, "the worker was not woken: it waited for its own look"
        seen = change["id"]

        # 2. That worker dies; settlements go on; started again, its stream resumes from
        #    where the client stopped, with nothing lost or repeated.
        apis[1].kill()
        load.settlements(9, BUYERS, confirm=False, prefix="F", snapshot_hashes=hashes, start=1)
        apis[1].start()
        until_ready(apis[1].process, bases[1], 90)
        resumed = events(second, "/stores/far-shop/orders/stream", key | {"Last-Event-ID": seen}, 9, timeout=30)
        numbers = [e["data"]["order_number"] for e in resumed if "id" in e]
        assert sorted(numbers) == sorted(f"F-{i}" for i in range(1, 10)), numbers

        # 3. The projector dies in the middle of a backfill and is started again: every
        #    event applied exactly once.
        projector.kill()
        load.settlements(110, BUYERS, prefix="F", snapshot_hashes=hashes, start=10, per_block=20)
        engine_db = Database(postgres_db)
        stack.callback(engine_db.close)

        settings = replace(make_settings(tmp_path, deployments), db=postgres_db)
        app = OrderEngine(settings, manifest)

        def stored() -> int:
            return app.recorder.max_notification_id() or 0

        def position() -> int:
            return int(engine_db.scalar("SELECT MIN(position) FROM view_positions"))

        def furthest() -> int:
            return int(engine_db.scalar("SELECT MAX(position) FROM view_positions"))

        before = furthest()

        _wait("the reader saving the backfill", lambda: reader.alive() and stored() >= before + 220)
        projector.start(ORDERCHAIN_EVENTS_PER_STEP="5")  # many small commits per view
        _wait("the projector moving", lambda: projector.alive() and furthest() > before, timeout=90)
        assert position() < stored()
        projector.kill()  # in the middle of its round: some views further on than others
        projector.env["ORDERCHAIN_EVENTS_PER_STEP"] = "20000"
        projector.start()
        head = rpc.block_number()
        _wait(
            "every worker ready at the head",
            lambda: all(
                http.get("/status").json()["views_block"] == head and http.get("/ready").status_code == 200
                for http in (first, second)
            ),
        )
        assert position() == stored()

        # 4. The keeper runs beside the projector: once the silent parties' window has passed,
        #    it ends the ten settlements nobody confirmed.
        limit = int(Transactions(rpc, manifest).settlement_rules().default_time_limit)
        rpc.call("evm_increaseTime", limit + 1)
        rpc.call("evm_mine")

        def released() -> bool:
            page = first.get("/stores/far-shop/orders", headers=key, params={"status": "released"}).json()
            return len(page["orders"]) == 10

        _wait("the keeper releasing what nobody confirmed", released)
        head = rpc.block_number()
        _wait(
            "every worker at the head",
            lambda: all(h.get("/status").json()["views_block"] == head for h in (first, second)),
        )
        for host in (reader, projector, *apis):
            host.alive()
            assert "Traceback" not in host.output, host.output

        # Both workers show the same, and each view equals one rebuilt from the event store.
        pages = [
            http.get("/stores/far-shop/orders", headers=key, params={"limit": 200}).json()["orders"]
            for http in (first, second)
        ]
        assert pages[0] == pages[1]
        statuses = {o["order_number"]: o["status"] for o in pages[0]}
        assert statuses == {f"F-{i}": "released" if i < 10 else "completed" for i in range(120)}
        rebuilt_db = _database(postgres_db)
        try:
            live = Projector(app, Database(postgres_db))
            fresh = Projector(app, Database(rebuilt_db))
            while fresh.catch_up():
                pass
            assert fresh.position() == stored()
            for shown, built in zip(live.views, fresh.views, strict=True):
                assert shown.snapshot() == built.snapshot(), shown.name
            fresh.db.close()
        finally:
            with psycopg.connect(postgres_db, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{rebuilt_db.rsplit("/", 1)[1]}" WITH (FORCE)')
