"""The cross-border part of `orderchain demo`: the freight history, the operator's signed rate,
a quote, the payment into the notary escrow, two freight legs, a refunding final bill, a
second order whose final bill asks for a top-up, the top-up, a return, and the first order
released after its return window joining the freight history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from api.client import answer
from api.client.holder import sign_transaction
from api.demo.steps import StepWalk
from engine.cross_border.orders import rate_document, sign_rate

BUYER, SELLER, OPERATOR = 7, 6, 0  # the deployer is the escrow's operator on the dev chain
DAY = 86_400
PATH = ("CN-SZX", "DE-HAM")
HEADER = (
    "order_id,origin,destination,length_cm,width_cm,height_cm,weight_kg,price_minor,currency,freight_minor,completed_at"
)
# (id, size, weight, price, freight, days before the quote): the comparable orders of the last three months.
HISTORY = [
    ("hx-1", "50,40,30", "10.2", 98_000, 21_000, 12),
    ("hx-2", "52,40,30", "9.6", 104_000, 23_500, 30),
    ("hx-3", "50,41,30", "12.5", 101_000, 26_000, 44),
    ("hx-4", "70,50,40", "10.4", 99_500, 31_000, 51),
    ("hx-5", "50,40,30", "18.0", 150_000, 38_000, 60),
    ("hx-6", "50,40,30", "10.0", 100_000, 90_000, 120),
]
SHIPMENT = {
    "origin": PATH[0],
    "destination": PATH[1],
    "length_cm": 50,
    "width_cm": 40,
    "height_cm": 30,
    "weight_kg": "10",
    "price_minor": 100_000,
    "currency": "EUR",
}


def tusd(amount) -> str:
    return f"{int(amount) / 1_000_000:,.2f} tUSD"


class CrossBorderWalk(StepWalk):
    """The walk against an API reachable through ``http``; ``settle`` and ``holder`` as for the other walks."""

    hidden_events = ("Transfer",)

    def __init__(
        self,
        http,
        rpc,
        admin: dict,
        token: str,
        settle: Callable[[int], None],
        holder: Callable,
        out: Callable[[str], None] = print,
    ):
        super().__init__(http, admin, token, settle, holder, (BUYER, SELLER, OPERATOR), out)
        self.rpc = rpc
        self.carriers = ("0x" + "ca" * 19 + "01", "0x" + "ca" * 19 + "02")

    def _order(self, order_id: int) -> dict:
        o = answer(self.http.get(f"/cross-border/orders/{order_id}"))
        self.out(
            f"    view: order {order_id} {o['status']}, freight held {tusd(o['freight_held'])} paid "
            f"{tusd(o['freight_paid'])} in {len(o['legs'])} leg(s), refunded {tusd(o['refunded_freight'])}"
            + ("; quote matches" if not o["quote_problems"] else f"; {o['quote_problems']}")
        )
        return o

    def _quote(self, now: int, goods: str, policy: str) -> dict:
        quoted_at = datetime.fromtimestamp(now, UTC).isoformat()
        quoted = answer(
            self.http.post(
                "/cross-border/quotes",
                json={
                    **SHIPMENT,
                    "quoted_at": quoted_at,
                    "buyer": self.h[BUYER].address,
                    "seller": self.h[SELLER].address,
                    "token": self.token,
                    "settlement_currency": "USD",
                    "goods": goods,
                    "return_policy": policy,
                },
            )
        )
        f, b = quoted["freight"], quoted["breakdown"]
        self.out(
            f"  quote for {goods}: price €{SHIPMENT['price_minor'] / 100:,.2f} + target freight "
            f"€{int(f['target_freight_minor']) / 100:,.2f} (estimate €{int(f['estimate_minor']) / 100:,.2f} x "
            f"{f['factor']} from S/C/F {f['groups']}: {f['orders']}) at 1 EUR = "
            f"{quoted['snapshot']['rate']['rate']} USD -> {tusd(b['hold'])}; the rate holds until chain time "
            f"{quoted['rate_valid_until']}"
        )
        return quoted

    def _pay(self, quoted: dict, what: str) -> int:
        buyer = self.h[BUYER]
        self._done(buyer.relay(sign_transaction(buyer.account, quoted["approve"])), "the buyer approved the hold")
        paid = self._done(
            buyer.send("/cross-border/pay", {"sender": buyer.address, "snapshot_hash": quoted["snapshot_hash"]}), what
        )
        return int(next(e for e in paid["events"] if e["event"] == "OrderPaid")["args"]["orderId"])

    def run(self) -> dict[str, object]:
        buyer, seller, operator = self.h[BUYER], self.h[SELLER], self.h[OPERATOR]
        self.out(
            "\n== X-1: a cross-border order: freight estimated, paid into a notary escrow, legs, final bills, a return"
        )
        now = int(answer(self.http.get("/status"))["chain_time"])
        rows = [
            f"{i},{PATH[0]},{PATH[1]},{size},{weight},{price},EUR,{freight},"
            f"{(datetime.fromtimestamp(now, UTC) - timedelta(days=days)).isoformat()}"
            for i, size, weight, price, freight, days in HISTORY
        ]
        imported = answer(
            self.http.post(
                "/freight/history",
                headers=self.admin,
                json={"source": "demo-history.csv", "csv": "\n".join([HEADER, *rows]) + "\n"},
            )
        )
        self.out(
            f"  the operator imported {imported['imported']} completed orders (one 120 days old, outside the window)"
        )
        rate = {
            "base": "EUR",
            "quote": "USD",
            "rate": "1.0825",
            "source": "ECB reference rate",
            "at": datetime.fromtimestamp(now, UTC).isoformat(),
        }
        recorded = answer(
            self.http.post("/rates", json={**rate, "signature": sign_rate(rate_document(**rate), operator.account)})
        )
        self.out(
            f"  the operator signed 1 EUR = {rate['rate']} USD on its machine; recorded as "
            f"{recorded['signature_hash'][:18]}…"
        )

        quoted = self._quote(now, "a hand-made ceramic tea set", "seller_pays_return")
        first = self._pay(quoted, "the buyer paid price + target freight into the escrow (the confirmation)")
        for who, carrier, amount, waybill in (
            (seller, 0, 150_000_000, "SZX-HAM-100231"),
            (operator, 1, 60_000_000, "HAM-DE-77810"),
        ):
            self._done(
                who.send(
                    "/cross-border/pay-leg",
                    {
                        "sender": who.address,
                        "order_id": first,
                        "carrier": self.carriers[carrier],
                        "amount": str(amount),
                        "waybill": waybill,
                    },
                ),
                f"{'the seller' if who is seller else 'the operator'} paid a freight leg of {tusd(amount)}",
            )
        self._order(first)
        billed = self._done(
            seller.send(
                "/cross-border/final-bill",
                {
                    "sender": seller.address,
                    "order_id": first,
                    "carrier": self.carriers[1],
                    "last_leg": "40000000",
                    "waybill": "DE-door-1",
                },
            ),
            "delivered: the final bill with the last leg, below the target",
        )
        bill = next(e for e in billed["events"] if e["event"] == "FinalBill")["args"]
        self.out(f"    actual freight {tusd(bill['freight'])}: {tusd(bill['refunded'])} refunded to the buyer now")
        self.results["refunded"] = int(bill["refunded"])

        quoted = self._quote(
            int(answer(self.http.get("/status"))["chain_time"]), "a lacquered screen", "buyer_pays_return"
        )
        second = self._pay(quoted, "the buyer paid a second order")
        billed = self._done(
            seller.send(
                "/cross-border/final-bill",
                {
                    "sender": seller.address,
                    "order_id": second,
                    "carrier": self.carriers[0],
                    "last_leg": "420000000",
                    "waybill": "SZX-HAM-100877",
                },
            ),
            "delivered: the final bill is above the target freight",
        )
        due = self._order(second)["top_up"]
        self.out(
            f"    the buyer is asked for a top-up of {tusd(due['amount'])} by chain time {due['deadline']} "
            "(a seller registered as a store is sent a signed notice on its webhook)"
        )
        self.results["top_up"] = int(due["amount"])
        self._done(
            buyer.send("/cross-border/approve", {"owner": buyer.address, "token": self.token, "amount": due["amount"]}),
            "the buyer approved the top-up",
        )
        self._done(
            buyer.send("/cross-border/top-up", {"sender": buyer.address, "order_id": second}),
            "the buyer topped up: the last leg is paid",
        )
        self._done(
            buyer.send(
                "/cross-border/request-return",
                {"sender": buyer.address, "order_id": second, "reason": "the screen arrived cracked"},
            ),
            "the buyer asked to return it",
        )
        self._done(
            seller.send(
                "/cross-border/answer-return",
                {"sender": seller.address, "order_id": second, "accept": True, "return_freight": "25000000"},
            ),
            "the seller accepted; the return freight is the buyer's (its policy)",
        )
        self.results["second"] = self._order(second)["status"]

        refused = self.http.post("/cross-border/release", json={"sender": buyer.address, "order_id": first})
        self.out(f"  release before the return window ends is refused: {refused.json().get('revert', {}).get('error')}")
        self.rpc.call("evm_increaseTime", 14 * DAY + 1)
        self.rpc.call("evm_mine")
        self._done(
            buyer.send("/cross-border/release", {"sender": buyer.address, "order_id": first}),
            "14 days later anyone releases the price to the seller",
        )
        self.results["first"] = self._order(first)["status"]
        quoted = self._quote(
            int(answer(self.http.get("/status"))["chain_time"]), "another tea set", "seller_pays_return"
        )
        self.results["joined_history"] = any(f"cb-{first}" in ids for ids in quoted["freight"]["orders"].values())
        self.out(f"  the completed orders joined the freight history: the new quote uses {quoted['freight']['orders']}")

        third = self._pay(quoted, "the buyer paid a third order")
        again = self.http.post(
            "/cross-border/pay", json={"sender": buyer.address, "snapshot_hash": quoted["snapshot_hash"]}
        )
        self.out(
            f"  paying the same quote again is refused before anything is signed ({again.status_code}): one "
            "quote, one order"
        )
        self.results["paid_twice"] = again.status_code
        window = int(quoted["snapshot"]["billing_window"])
        self.rpc.call("evm_increaseTime", window + 1)
        self.rpc.call("evm_mine")
        self._done(
            buyer.send("/cross-border/cancel", {"sender": buyer.address, "order_id": third}),
            f"the seller never billed: {window // DAY} days on, the buyer cancelled and took the hold back",
        )
        self.results["third"] = self._order(third)["status"]
        return self.results
