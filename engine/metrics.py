"""Prometheus metrics of a process: the chain it follows, what it ingests, its views, its
keeper and webhooks, and (in the API) its requests.

With ``PROMETHEUS_MULTIPROC_DIR`` set before the process starts (``orderchain api
--workers N`` sets it for its workers), every process writes its samples there and
``GET /metrics`` of any worker answers for all of them: counters and histograms are
summed, the chain's gauges are the latest value written by any process, the connection
gauges are summed over the live processes.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CHAIN_HEAD = Gauge(
    "orderchain_chain_head_block", "The node's latest block.", ["chain_id"], multiprocess_mode="mostrecent"
)
INDEXED = Gauge(
    "orderchain_indexed_block", "The last block the engine has read.", ["chain_id"], multiprocess_mode="mostrecent"
)
LAG = Gauge(
    "orderchain_lag_blocks",
    "Blocks between the node's head and the engine's position.",
    ["chain_id"],
    multiprocess_mode="mostrecent",
)
EVENTS = Counter("orderchain_events_ingested", "Chain events saved to the event store.", ["chain_id"])
REORGS = Counter("orderchain_reorgs", "Reorganisations the reader rolled back.", ["chain_id"])
RETRACTED = Counter("orderchain_retracted_logs", "Logs retracted by reorganisations.", ["chain_id"])
NEW_HEADS = Counter("orderchain_new_heads", "New-head notifications from the node.", ["chain_id"])
HEADS_PUSHED = Gauge(
    "orderchain_new_heads_subscribed",
    "1 while the node pushes new heads, 0 while polling.",
    ["chain_id"],
    multiprocess_mode="mostrecent",
)
VIEW_POSITION = Gauge(
    "orderchain_view_position",
    "The event-log position each view has applied.",
    ["view"],
    multiprocess_mode="mostrecent",
)
VIEW_BLOCK = Gauge(
    "orderchain_view_block", "The block each view shows (-1: none yet).", ["view"], multiprocess_mode="mostrecent"
)
VIEW_FAILED = Gauge(
    "orderchain_view_failed",
    "1 while a view's last catch-up failed (it is retried), else 0.",
    ["view"],
    multiprocess_mode="mostrecent",
)
KEEPER_RELEASES = Counter("orderchain_keeper_releases", "Settlement endings the keeper sent.")
WEBHOOKS = Counter("orderchain_webhook_deliveries", "Production instructions and notices delivered.")
SSE_CLIENTS = Gauge("orderchain_sse_clients", "Clients connected to an SSE stream.", multiprocess_mode="livesum")
SSE_DROPPED = Counter("orderchain_sse_dropped", "SSE clients dropped for falling behind.")
REQUESTS = Histogram(
    "orderchain_http_request_duration_seconds",
    "HTTP requests by route, method and status.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


class Deltas:
    """Turns a process's running totals (reader, keeper, dispatcher) into counter increments."""

    def __init__(self):
        self._last: dict[str, float] = {}

    def add(self, name: str, total: float, counter) -> None:
        before = self._last.get(name, 0)
        if total > before:
            counter.inc(total - before)
        self._last[name] = total


def exposition() -> tuple[bytes, str]:
    """The metrics text of this process, or of every process writing to the multiprocess directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
