"""What the walks of `orderchain demo` share: the API, the dev accounts' holders, and one
printed line per mined step; waiting for the views and for the anchorer."""

from __future__ import annotations

import time
from collections.abc import Callable

from api.client import Holder, answer


class StepWalk:
    """A walk against an API reachable through ``http``: ``settle(block)`` returns once the engine
    has indexed the block, ``holder(i)`` is dev account ``i``'s holder, ``out`` prints a line."""

    hidden_events: tuple[str, ...] = ("Approval",)  # not worth a mention in the printed step

    def __init__(
        self,
        http,
        admin: dict,
        token: str,
        settle: Callable[[int], None],
        holder: Callable,
        accounts: tuple[int, ...],
        out: Callable[[str], None] = print,
    ):
        self.http = http
        self.admin = admin
        self.token = token
        self.settle = settle
        self.out = out
        self.h: dict[int, Holder] = {i: holder(i) for i in accounts}
        self.results: dict[str, object] = {}

    def _done(self, result: dict, what: str) -> dict:
        """A mined step: fails the walk unless it succeeded, waits for the engine, prints it."""
        if result.get("status") != "success":
            raise RuntimeError(f"{what}: transaction {result.get('tx_hash')} failed: {result.get('revert')}")
        self.settle(result["block_number"])
        events = ", ".join(e["event"] for e in result.get("events", []) if e["event"] not in self.hidden_events)
        self.out(f"  ✓ {what}  (block {result['block_number']}" + (f"; {events})" if events else ")"))
        return result


def anchored_by_polling(http, timeout: float = 60.0) -> Callable[[str], None]:
    """Waits until the engine's anchorer has anchored a bundle (it runs every few seconds)."""

    def anchored(bundle_hash: str) -> None:
        deadline = time.monotonic() + timeout
        while answer(http.get(f"/evidence/{bundle_hash}")).get("anchoring") is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"evidence {bundle_hash} was not anchored within {timeout}s")
            time.sleep(0.2)

    return anchored


def settle_by_polling(http, timeout: float = 15.0) -> Callable[[int], None]:
    """Waits until every view shows the block (``GET /views/wait``; the engine loop runs elsewhere)."""

    def settle(block: int) -> None:
        found = answer(http.get("/views/wait", params={"block": block, "timeout": timeout}, timeout=timeout + 10))
        if not found["reached"]:
            raise TimeoutError(f"the views did not show block {block} within {timeout}s: {found['views']}")

    return settle
