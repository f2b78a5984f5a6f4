"""A load generator for `make bench`: a fixed request rate against the API for a bounded time,
in a process of its own so it does not share the server's interpreter.

    python tests/loadgen.py --url http://127.0.0.1:8000 --rate 500 --seconds 10 \\
        --header "X-API-Key: ..." /stores/s/orders?limit=50 [more paths, taken in turn]

Requests are started on a fixed schedule (open loop: a slow answer does not slow the
schedule) over ``--connections`` keep-alive connections; the latency of each is from its
start to its last byte. Prints one JSON document: rps, p50_ms, p99_ms, errors, sent, late.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time


async def run(url: str, paths: list[str], headers: dict, rate: float, seconds: float, connections: int) -> dict:
    import httpx
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    errors = late = 0
    slots = asyncio.Semaphore(connections)

    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=10) as client:
        async def one(path: str) -> None:
            nonlocal errors
            async with slots:
                started = time.perf_counter()
                try:
                    r = await client.get(path)
                    await r.aread()
                    if r.status_code != 200:
                        errors += 1
                        return
                except httpx.HTTPError:
                    errors += 1
                    return
                latencies.append((time.perf_counter() - started) * 1000)

        for path in paths[:connections]:    # open the connections before the clock starts
            await one(path)
        latencies.clear()
        total = int(rate * seconds)
        begin = time.perf_counter()
        tasks = []
        for i in range(total):
            due = begin + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.005:
                late += 1
            tasks.append(asyncio.ensure_future(one(paths[i % len(paths)])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, max(0, int(round(0.99 * len(latencies))) - 1))] if latencies else None
    return {"rps": round(len(latencies) / elapsed, 1), "p50_ms": round(statistics.median(latencies), 2)
            if latencies else None, "p99_ms": None if p99 is None else round(p99, 2), "errors": errors,
            "sent": total, "late": late}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run(args.url, args.paths, headers, args.rate, args.seconds, args.connections))))


if __name__ == "__main__":
    main()
