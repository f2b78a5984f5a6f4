"""The pay-after-delivery part of `orderchain demo`: Bob (attested, with a credit limit from
the orders the other walks settled) buys from the corner shop without paying at checkout.

The shop saves its warehouse and items, the operator a courier; Bob checks out (the order
checked against the shop's stock, the price broken down: items and freight by the chosen
courier), signs the shop's mandate in his wallet and approves the contract: no money moves.
The shop declares its parcel with a mistyped waybill: the check digit is wrong, an alarm is
raised and recorded on chain, and nothing can be collected. The operator acknowledges it and,
the courier having confirmed the parcel, resolves it: the payment goes ahead, cleared on chain
with the operator's own key. The keeper then records the verification and collects Bob's
payment for the shop; Bob is told each step by SMS, sees his purchase records, rates the
order (anchored with the next evidence batch) and gets recommendations.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from eth_account.messages import encode_typed_data

from api.client import answer, sign_transaction
from api.demo.steps import StepWalk

BOB, OPERATOR = 3, 0
CHECKOUT = "P-1"
UPS = {
    "name": "UPS",
    "waybill_scheme": "ups",
    "hubs": [[55.95, -3.19], [51.5, -0.12]],
    "radius_km": "60",
    "base": "2000000",
    "per_km": "10000",
    "per_kg": "500000",
}
ITEMS = {
    "tea": {"name": "Green tea", "category": "food", "unit_price": "1250000", "weight_kg": "0.25"},
    "cake": {"name": "Oat cake", "category": "food", "unit_price": "3000000", "weight_kg": "0.5"},
}
RIGHT_WAYBILL = "1Z5R89390357567127"
MISTYPED = "1Z5R89390357567128"  # one digit off: its check digit does not hold


def polled(http, timeout: float = 30.0) -> Callable[[Callable[[], bool], str], None]:
    """Waits until ``check()`` holds (the engine's keeper runs every fraction of a second)."""

    def until(check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not within {timeout}s")
            time.sleep(0.2)

    return until


class DeliveryWalk(StepWalk):
    """The walk (see the module docstring); ``until(check, what)`` waits for the keeper."""

    def __init__(
        self,
        http,
        admin: dict,
        token: str,
        settle,
        holder: Callable,
        store_id: str,
        store_headers: dict,
        bob_session: dict,
        until: Callable[[Callable[[], bool], str], None],
        out=print,
    ):
        super().__init__(http, admin, token, settle, holder, (BOB, OPERATOR), out)
        self.store_id = store_id
        self.store_headers = store_headers
        self.bob = bob_session
        self.until = until

    def payment(self) -> dict:
        order = answer(self.http.get(f"/checkout/{CHECKOUT}", headers=self.bob))
        return order["shipments"][0]["payment"] or {}

    def run(self) -> dict[str, object]:
        self.out("\n== pay after verified delivery: a mandate signed at checkout, paid once the parcel checks out")
        shop = f"/stores/{self.store_id}"
        answer(
            self.http.put(
                f"{shop}/warehouses/leith", json={"latitude": 55.976, "longitude": -3.17}, headers=self.store_headers
            )
        )
        for sku, item in ITEMS.items():
            answer(self.http.put(f"{shop}/items/{sku}", json=item, headers=self.store_headers))
            answer(self.http.put(f"{shop}/items/{sku}/stock/leith", json={"units": 20}, headers=self.store_headers))
        answer(self.http.put("/operator/couriers/ups", json=UPS, headers=self.admin))
        self.out("  the shop's warehouse and items saved; the operator's courier UPS (two hubs, 60 km)")
        line = {"store_id": self.store_id, "sku": "tea", "quantity": 2, "unit_price": "1250000", "category": "food"}
        order = answer(
            self.http.post(
                "/checkout", json={"checkout_id": CHECKOUT, "lines": [line], "token": self.token}, headers=self.bob
            )
        )
        [shipment] = order["shipments"]
        freight = shipment["freight"]
        self.out(
            f"  Bob checks out {CHECKOUT}: goods {shipment['goods']} + freight {freight['total']} by "
            f"{shipment['courier_id']} ({freight['distance_km']} km: base {freight['base']}, distance "
            f"{freight['distance_part']}, weight {freight['weight_part']}) = {shipment['amount']} base units, "
            f"within his credit limit of {order['credit_limit']}"
        )
        bob = self.h[BOB]
        signature = bob.account.sign_message(encode_typed_data(full_message=shipment["typed_data"])).signature
        answer(
            self.http.post(
                f"/checkout/{CHECKOUT}/mandates",
                json={"store_id": self.store_id, "signature": "0x" + bytes(signature).hex()},
                headers=self.bob,
            )
        )
        approve = {"owner": bob.address, "token": self.token, "amount": shipment["amount"]}
        self._done(bob.send("/checkout/approve", approve), "Bob signs the mandate in his wallet and approves it")
        declaration = {"courier_id": "ups", "waybill": MISTYPED, "category": "food", "items": {"tea": 2}}
        shipped = answer(
            self.http.post(f"{shop}/checkouts/{CHECKOUT}/ship", json=declaration, headers=self.store_headers)
        )
        reasons = ", ".join(e["reason"] for e in shipped["errors"])
        self.out(f"  the shop ships with waybill {MISTYPED}: {shipped['status']} ({reasons}), an alarm raised")
        self.until(lambda: self.payment().get("alarm_on_chain") is True, "the alarm recorded on chain")
        self.out("  the keeper records the alarm on chain: nothing can be collected under the mandate")
        alarm = shipped["alarm_id"]
        answer(self.http.post(f"/operator/alarms/{alarm}/acknowledge", headers=self.admin))
        resolved = answer(
            self.http.post(
                f"/operator/alarms/{alarm}/resolve",
                json={"proceed": True, "reason": f"UPS confirmed parcel {RIGHT_WAYBILL}: a typing error"},
                headers=self.admin,
            )
        )
        operator = self.h[OPERATOR]
        self._done(
            operator.relay(sign_transaction(operator.account, resolved["transaction"])),
            "the operator resolves it (proceed) and clears it on chain with its own key",
        )
        self.until(lambda: self.payment().get("status") == "collected", "the payment collected")
        paid = self.payment()
        self.out(
            f"  the keeper verifies the shipment on chain ({paid['verified_tx'][:12]}…) and collects "
            f"{paid['amount']} from Bob for the shop ({paid['collected_tx'][:12]}…)"
        )
        self.until(lambda: len(answer(self.http.get("/accounts/me/notices", headers=self.bob))) >= 4, "Bob's notices")
        for notice in reversed(answer(self.http.get("/accounts/me/notices", headers=self.bob))):
            self.out(f"  SMS to Bob: {notice['text']}")
        purchases = answer(self.http.get("/accounts/me/purchases", headers=self.bob))
        self.out(f"  Bob's purchase records: {len(purchases)} across the capabilities, the newest:")
        for p in purchases[-2:]:
            self.out(
                f"    {p['capability']:<18} {p['store_id'] or p['seller'][:10]} {p['item']} {p['quantity']} x "
                f"{p['unit_price']} ({p['status']})"
            )
        rated = answer(
            self.http.post(
                f"/checkout/{CHECKOUT}/feedback",
                json={"store_id": self.store_id, "rating": "positive", "comment": "well packed"},
                headers=self.bob,
            )
        )
        self.out(
            f"  Bob rates the order: positive (anchored with the next evidence batch: {rated['document_hash'][:18]}…)"
        )
        found = answer(self.http.get("/accounts/me/recommendations", headers=self.bob))
        for r in found:
            self.out(f"  recommended: {r['item']} ({r['reason']})")
        if not found:
            self.out("  no recommendations for Bob yet: nobody else has bought from the shop after delivery")
        self.results.update(collected=paid["status"], alarm=alarm, purchases=len(purchases))
        return self.results
