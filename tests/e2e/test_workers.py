"""`orderchain api --workers N`: the engine in one process, N API processes serving the same
views, and /metrics of any worker answering for all of them (multiprocess mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from engine.chain.node import free_port
from tests.load import DEV_ADDRESSES, STORE, Load

from .conftest import ADMIN
from .test_stream import events


def writers(tmp_path) -> set[str]:
    """The processes that have written metric samples (one file of them per process id)."""
    return {p.name.rsplit("_", 1)[-1] for p in (tmp_path / "metrics").glob("*.db")}


def until_ready(process, base: str, timeout: float) -> None:
    """Waits for ``/ready`` of the API ``process`` started (failing with its output if it ends)."""
    with httpx.Client(base_url=base, timeout=10) as http:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, process.stderr.read()
            try:
                if http.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{process.args[1:]} did not get ready"
            time.sleep(0.2)


# A worker's own looks at the views every 12 s (every 60 s once woken): a change it streams
# within seconds came by a wake-up.
SLOW_LOOKS = {"ORDERCHAIN_POLL_INTERVAL": "12", "ORDERCHAIN_SSE_HEARTBEAT": "60"}


def store_key(http, store_id: str) -> dict:
    """Registers the load's store (as the operator) through ``http``; its API key header."""
    r = http.post(
        "/stores",
        json={"store_id": store_id, "name": store_id, "address": STORE},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["api_key"]}


@contextmanager
def workers(chain, tmp_path, **env_more):
    """`orderchain api --workers 2` on the test chain: (its base URL, the process) once ready."""
    node, deployments, _ = chain
    port = free_port()
    env = {
        **os.environ,
        "ORDERCHAIN_RPC_URL": node.url,
        "ORDERCHAIN_DEPLOYMENTS": str(deployments),
        "ORDERCHAIN_DB": str(tmp_path / "events.sqlite"),
        "ORDERCHAIN_VAR": str(tmp_path),
        "ORDERCHAIN_ADMIN_TOKEN": ADMIN,
        "ORDERCHAIN_API_PORT": str(port),
        **env_more,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cli = Path(sys.executable).parent / "orderchain"
    process = subprocess.Popen(
        [str(cli), "api", "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        until_ready(process, base, 90)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_api_workers_serve_the_same_views_and_count_requests_together(chain, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    _, _, rpc = chain
    with workers(chain, tmp_path) as (base, _), httpx.Client(base_url=base, timeout=10) as http:
        # A store registered through one worker is seen by every worker (one set of views).
        r = http.post(
            "/stores",
            json={"store_id": "w-shop", "name": "W", "address": "0x" + "77" * 20},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert r.status_code == 201, r.text
        key = {"X-API-Key": r.json()["api_key"]}
        # New connections: the kernel spreads them over the workers, not evenly on a busy
        # machine, so they go on (in twenties) until both workers have served some.
        made, deadline = 0, time.monotonic() + 60
        while made < 40 or (len(writers(tmp_path)) < 3 and time.monotonic() < deadline):
            for _ in range(20):
                with httpx.Client(base_url=base, timeout=10) as one:
                    assert one.get("/stores/w-shop", headers=key).status_code == 200
                made += 1
        rpc.call("evm_mine")
        head = rpc.block_number()
        deadline = time.monotonic() + 10
        while http.get("/status").json()["indexed_block"] < head:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        text = http.get("/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    count = samples[
        (
            "orderchain_http_request_duration_seconds_count",
            (("method", "GET"), ("route", "/stores/{store_id}"), ("status", "200")),
        )
    ]
    assert count == made  # every worker's requests, counted together
    indexed = next(v for (name, _), v in samples.items() if name == "orderchain_indexed_block")
    assert indexed >= head  # written by the engine's process, read by a worker
    pids = writers(tmp_path)
    assert len(pids) >= 3, pids  # the engine's process and both workers wrote samples


def test_the_engine_process_wakes_the_streams_of_every_worker(chain, tmp_path):
    """The engine's process projects a settlement; a worker's stream has it at once, woken
    (here a stream that nothing wakes looks at the views every 12 s, a woken one every 60 s)."""
    from engine.chain.manifest import Manifest

    _, deployments, rpc = chain
    with workers(chain, tmp_path, **SLOW_LOOKS) as (base, _), httpx.Client(base_url=base, timeout=30) as http:
        key = store_key(http, "wake-shop")
        manifest = Manifest.load(str(deployments), rpc.chain_id())
        token = manifest.contract("TestStablecoin").address
        placed = http.post(
            "/stores/wake-shop/orders", json={"order_number": "O-0", "amount": "1000000", "token": token}, headers=key
        )
        assert placed.status_code == 201, placed.text
        cursor = http.get("/stores/wake-shop/orders", headers=key).json()["next_cursor"]
        paid_at: list[float] = []

        def pay():
            paid_at.append(time.monotonic())
            Load(rpc, manifest).settlements(
                1,
                [DEV_ADDRESSES[3]],
                confirm=False,
                prefix="O",
                snapshot_hashes={"O-0": placed.json()["snapshot_hash"]},
            )

        got = events(http, "/stores/wake-shop/orders/stream", key | {"Last-Event-ID": cursor}, 1, then=pay, timeout=30)
        arrived = time.monotonic()
    [change] = [e for e in got if "id" in e]
    assert change["data"]["order_number"] == "O-0" and change["data"]["status"] == "paid"
    assert arrived - paid_at[0] < 6, "the stream was not woken: it waited for its own look"


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def test_make_runs_shape_starts_node_engine_and_workers_and_one_ctrl_c_stops_them_all(tmp_path):
    """`make run` is `orderchain run --workers 2`: its own anvil, the engine's process, two API
    workers. A Ctrl-C in the terminal (SIGINT to the foreground process group) stops every one."""
    import signal

    port = free_port()
    env = {
        **os.environ,
        "ORDERCHAIN_VAR": str(tmp_path / "var"),
        "ORDERCHAIN_DB": str(tmp_path / "var" / "events.sqlite"),
        "ORDERCHAIN_DEPLOYMENTS": str(tmp_path / "deployments"),
        "ORDERCHAIN_API_PORT": str(port),
        "ORDERCHAIN_ANVIL_PORT": str(free_port()),
        "ORDERCHAIN_ADMIN_TOKEN": ADMIN,
    }
    for name in ("ORDERCHAIN_RPC_URL", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    cli = Path(sys.executable).parent / "orderchain"
    process = subprocess.Popen(
        [str(cli), "run", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a terminal's foreground process group of its own
    )
    try:
        until_ready(process, f"http://127.0.0.1:{port}", 120)
        tree = descendants(process.pid)
        commands = [Path(f"/proc/{p}/cmdline").read_bytes() for p in tree]
        assert any(b"anvil" in c for c in commands)
        assert sum(b"multiprocessing.spawn" in c for c in commands) == 2  # the two API workers
        deadline = time.monotonic() + 30  # /ready answers once one worker serves; the other may still start
        while len(list((tmp_path / "var").glob("*-wake/*.pipe"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list((tmp_path / "var").glob("*-wake/*.pipe"))) == 2  # each worker listens for wake-ups
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends
        process.wait(30)
        deadline = time.monotonic() + 10
        while (alive := {p for p in tree if Path(f"/proc/{p}").exists()}) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive, [Path(f"/proc/{p}/cmdline").read_bytes() for p in alive]
        assert list((tmp_path / "var").glob("*-wake/*.pipe")) == []
        assert "Traceback" not in process.stderr.read()  # the engine stopped before its node
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
