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
        with httpx.Client(base_url=base, timeout=10) as http:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, process.stderr.read()
                try:
                    if http.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the workers did not get ready"
                time.sleep(0.2)
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
    slow = {"ORDERCHAIN_POLL_INTERVAL": "12", "ORDERCHAIN_SSE_HEARTBEAT": "60"}
    with workers(chain, tmp_path, **slow) as (base, _), httpx.Client(base_url=base, timeout=30) as http:
        r = http.post(
            "/stores",
            json={"store_id": "wake-shop", "name": "Wake", "address": STORE},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert r.status_code == 201, r.text
        key = {"X-API-Key": r.json()["api_key"]}
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
