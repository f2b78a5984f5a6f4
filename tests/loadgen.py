"""A load generator for `make bench`: a fixed request rate against the API for a bounded time,
in a process of its own so it does not share the server's interpreter.

    python tests/loadgen.py --url http://127.0.0.1:8000 --rate 500 --seconds 10 \\
        --header "X-API-Key: ..." /stores/s/orders?limit=50 [more paths, taken in turn]

Requests are started on a fixed schedule (open loop: a slow answer does not slow the
schedule) over ``--connections`` keep-alive connections, HTTP/1.1 written by hand so the
generator costs little next to the server; the latency of each is from its start to its
last byte, waiting for a free connection included. Prints one JSON document: rps, p50_ms, p99_ms, errors, sent, late.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit


class Connection:
    """One keep-alive HTTP/1.1 connection, spoken by hand: the generator should cost little
    next to the server it measures."""

    def __init__(self, host: str, port: int, headers: dict):
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def get(self, path: str) -> int:
        if self.writer is None:
            await self.open()
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def run(url: str, paths: list[str], headers: dict, rate: float, seconds: float, connections: int) -> dict:
    parts = urlsplit(url)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    pool = [Connection(parts.hostname, parts.port or 80, headers) for _ in range(connections)]
    for conn in pool:
        await conn.open()
        idle.put_nowait(conn)
    latencies: list[float] = []
    errors = late = 0

    async def one(path: str) -> None:
        nonlocal errors
        started = time.perf_counter()
        conn = await idle.get()
        try:
            status = await conn.get(path)
            if status != 200:
                errors += 1
            else:
                latencies.append((time.perf_counter() - started) * 1000)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            conn.close()
        finally:
            idle.put_nowait(conn)

    for path in paths[:connections]:  # warm the connections before the clock starts
        await one(path)
    latencies.clear()
    total = int(rate * seconds)
    begin = time.perf_counter()
    tasks = []
    for i in range(total):
        wait = begin + i / rate - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -0.005:
            late += 1
        tasks.append(asyncio.ensure_future(one(paths[i % len(paths)])))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - begin
    for conn in pool:
        conn.close()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, max(0, round(0.99 * len(latencies)) - 1))] if latencies else None
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": None if p99 is None else round(p99, 2),
        "errors": errors,
        "sent": total,
        "late": late,
    }


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
