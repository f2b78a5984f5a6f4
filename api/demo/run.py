"""`orderchain demo`: every capability walked through the API with the dev accounts, one walk
per capability (:mod:`.settlement`, :mod:`.accounts`, :mod:`.liquor`, :mod:`.group_buy`,
:mod:`.cross_border`, :mod:`.delivery`),
on a chain and an event store of its own, while the engine and the API serve as `run` does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from api.client import Holder, answer
from api.demo.accounts import BOB, AccountWalk
from api.demo.cross_border import CrossBorderWalk
from api.demo.delivery import DeliveryWalk, polled
from api.demo.group_buy import GroupBuyWalk
from api.demo.liquor import CaseWalk
from api.demo.settlement import LENDER, STORE, STORE_ID, UNIT, SettlementWalk, dev_account
from api.demo.steps import settle_by_polling
from engine.account_desk import outbox_path
from engine.accounts.sms import Outbox

__all__ = ["LENDER", "STORE_ID", "UNIT", "Walk", "dev_account", "run_demo"]


class Walk(SettlementWalk):
    """The whole demo: the settlement walk, then the other capabilities' walks; ``codes(phone)``
    reads the newest SMS code sent to a phone (the local outbox in a development setup)."""

    def __init__(self, *args, codes: Callable[[str], str | None], until=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.codes = codes
        self.until = until or polled(self.http)

    def run(self) -> dict[str, str]:
        """Every settlement flow, then a liquor case's life, a group-buy campaign and the
        cross-border orders (their results in ``self.liquor``, ``self.group_buy``,
        ``self.cross_border``), and how one order came to its state."""
        self.run_settlements()
        self.out("\n== the store's orders, polled by change with the opaque cursor")
        page = answer(self.http.get(f"/stores/{STORE_ID}/orders", params={"limit": 100}, headers=self.store_headers))
        for o in page["orders"]:
            self.out(f"  {o['order_number']:<6} {o['status']:<17} settlement {o.get('settlement_status') or '-'}")
        self.accounts = AccountWalk(
            self.http,
            self.admin,
            self.token,
            self.settle,
            lambda i: Holder(self.http, dev_account(i)),
            self._code,
            out=self.out,
        )
        self.accounts.run()
        self.liquor = CaseWalk(
            self.http,
            self.rpc,
            self.admin,
            self.token,
            self.settle,
            lambda i: Holder(self.http, dev_account(i)),
            out=self.out,
        ).run()
        self.group_buy = GroupBuyWalk(
            self.http,
            self.admin,
            self.token,
            self.settle,
            lambda i: Holder(self.http, dev_account(i)),
            self.anchor,
            out=self.out,
        ).run()
        self.cross_border = CrossBorderWalk(
            self.http,
            self.rpc,
            self.admin,
            self.token,
            self.settle,
            lambda i: Holder(self.http, dev_account(i)),
            out=self.out,
        ).run()
        self.accounts.show_reputation(dev_account(STORE).address)
        self.delivery = DeliveryWalk(
            self.http,
            self.admin,
            self.token,
            self.settle,
            lambda i: Holder(self.http, dev_account(i)),
            STORE_ID,
            self.store_headers,
            self.accounts.sessions[BOB],
            self.until,
            out=self.out,
        ).run()
        self.out(f"  next_cursor {page['next_cursor']} (poll with ?after=<cursor> for newer changes)")
        self.out("\n== how D-8 came to its state: GET /stores/{id}/orders/D-8/history")
        history = answer(self.http.get(f"/stores/{STORE_ID}/orders/D-8/history", headers=self.store_headers))
        for h in history["history"]:
            where = f"block {h['block_number']}, tx {h['tx_hash'][:12]}…" if h.get("block_number") else h["created_at"]
            verdict = (
                ""
                if h.get("mismatch") is None
                else ("  matches the order" if not h["mismatch"] else f"  mismatch: {'; '.join(h['mismatch'])}")
            )
            self.out(f"  {h['step']:<18} {where}{verdict}")
        return self.results

    def _code(self, phone: str) -> str:
        code = self.codes(phone)
        if code is None:
            raise RuntimeError(f"no code was sent to {phone}")
        return code


def run_demo(service, settings) -> None:
    """Serves the engine and the API as `run` does, walks the flows, then keeps serving."""
    import httpx
    import uvicorn

    from api.app import create_app

    service.start()
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host=settings.api_host, port=settings.api_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="orderchain-api", daemon=True)
    thread.start()
    base = f"http://{settings.api_host}:{settings.api_port}"
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start on {base}")
            time.sleep(0.05)
        print(f"API on {base} (docs at /docs); walking the settlement flows and a liquor case\n", flush=True)
        with httpx.Client(base_url=base, timeout=30) as http:
            walk = Walk(
                http,
                service.rpc,
                settings.admin_token,
                settle_by_polling(http),
                out=lambda line: print(line, flush=True),
                codes=Outbox(outbox_path(settings)).latest_code,
            )
            results = walk.run()
        print(
            f"\ndemo finished: {len(results)} orders, a liquor case, a group-buy campaign, three cross-border "
            "orders and an order paid after verified delivery walked. "
            f"The API keeps serving on {base}; "
            f"admin token {settings.admin_token}. Ctrl-C to stop.",
            flush=True,
        )
        thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        thread.join(5)
        service.stop()
