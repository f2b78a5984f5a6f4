"""The settlement part of `orderchain demo`: every settlement flow of a store's orders, walked
through the API with the dev accounts.

Pay / ship / confirm; reject before shipping; a dispute the arbiter splits; release after
the time limit; open with a permit; a payer for another buyer; a mismatch, then topped up;
claims accepted, left unanswered and contested; an amicable lower amount both sign. Each
holder signs locally (:class:`api.client.Holder`) and relays through ``POST /tx``; after
each step the walk waits until the engine has indexed the transaction and prints the
store's orders as the store-order view shows them.
"""

from __future__ import annotations

from collections.abc import Callable

from eth_account import Account

from api.client import ApiError, Holder, agreement, answer, settlement_key
from api.demo.steps import anchored_by_polling
from engine.chain.node import DEV_MNEMONIC
from engine.chain.rpc import Rpc

Account.enable_unaudited_hdwallet_features()

# Dev accounts (index in the test mnemonic) and their parts in the walk.
ARBITER, ALICE, STORE, BOB, LENDER, KEEPER = 0, 1, 2, 3, 4, 9
STORE_ID = "corner-shop"
UNIT = 1_000_000  # tUSD has 6 decimals


def dev_account(index: int):
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def tusd(amount: int) -> str:
    return f"{amount / UNIT:,.2f} tUSD"


class SettlementWalk:
    """The flows, against an API reachable through ``http`` (httpx or TestClient).

    ``settle(block_number)`` returns once the engine has indexed that block (the demo
    polls ``/status``; tests call the engine's step directly). ``rpc`` is used only to
    move the dev chain's clock for the time-limit flow.
    """

    def __init__(
        self,
        http,
        rpc: Rpc,
        admin_token: str,
        settle: Callable[[int], None],
        out: Callable[[str], None] = print,
        anchor: Callable[[str], None] | None = None,
    ):
        self.http = http
        self.rpc = rpc
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.settle = settle
        self.out = out
        self.holders = {i: Holder(http, dev_account(i)) for i in (ARBITER, ALICE, STORE, BOB, LENDER, KEEPER)}
        self.store_headers: dict = {}
        self.token = ""
        self.results: dict[str, str] = {}
        self.liquor: dict[str, object] = {}
        self.group_buy: dict[str, object] = {}
        self.anchor = anchor or anchored_by_polling(http)

    # -- plumbing

    def _send(self, who: int, path: str, body: dict, what: str) -> dict:
        result = self.holders[who].send(path, body)
        if result.get("status") != "success":
            raise RuntimeError(f"{what}: transaction {result.get('tx_hash')} failed: {result.get('revert')}")
        self.settle(result["block_number"])
        events = ", ".join(e["event"] for e in result.get("events", []))
        self.out(f"  ✓ {what}  (block {result['block_number']}, tx {result['tx_hash'][:12]}…; {events})")
        return result

    def _order(self, number: str) -> dict:
        return answer(self.http.get(f"/stores/{STORE_ID}/orders/{number}", headers=self.store_headers))

    def show(self, number: str) -> dict:
        o = self._order(number)
        steps = " → ".join(
            f"{s['step'].removeprefix('Settlement')}@{s['block_number']}({s['confirmations']} conf)"
            for s in o.get("steps", [])
        )
        self.out(
            f"    view: {o['order_number']:<6} {o['status']:<17} amount {tusd(int(o['amount']))}, "
            f"frozen {tusd(int(o.get('frozen_amount') or 0))}, to store {tusd(int(o['paid_to_store']))}, "
            f"to payer {tusd(int(o['refunded_to_payer']))}"
        )
        if o.get("settlement_id"):
            self.out(f"          settlement {o['settlement_id'][:18]}…  steps: {steps or '-'}")
        for problem in o.get("mismatch") or []:
            self.out(f"          mismatch: {problem}")
        self.results[number] = o["status"]
        return o

    def _new_order(self, number: str, amount: int, title: str, **extra) -> tuple[dict, dict]:
        self.out(f"\n== {number}: {title}")
        body = {"order_number": number, "amount": str(amount), "token": self.token, **extra}
        order = answer(self.http.post(f"/stores/{STORE_ID}/orders", json=body, headers=self.store_headers))
        self.out(f"  store created order {number} for {tusd(amount)}; snapshot hash {order['snapshot_hash'][:18]}…")
        return order, order["payment"]

    def _pay(self, payer: int, key: dict, amount: int, payment: dict, what: str) -> None:
        self._send(
            payer,
            "/settlements/approve",
            {"owner": self.holders[payer].address, "token": self.token, "amount": str(amount)},
            "payer approved the settlement contract",
        )
        self._send(
            payer,
            "/settlements/open",
            {
                "key": key,
                "amount": str(amount),
                "snapshot_hash": payment["snapshot_hash"],
                "time_limit": payment["time_limit"],
            },
            what,
        )

    # -- the walk

    def setup(self) -> None:
        status = answer(self.http.get("/status"))
        self.token = status["contracts"]["TestStablecoin"]
        store = self.holders[STORE]
        self.out(
            f"chain {status['chain_id']}, settlement contract {status['contracts']['C2CSettlement']}, "
            f"token tUSD {self.token}"
        )
        r = self.http.post(
            "/stores", json={"store_id": STORE_ID, "name": "Corner Shop", "address": store.address}, headers=self.admin
        )
        if r.status_code == 409:
            raise RuntimeError(
                f"store {STORE_ID!r} is already registered in this event store: the demo runs on "
                "a fresh one (delete var/ or set ORDERCHAIN_DB / ORDERCHAIN_VAR)"
            )
        key = answer(r)["api_key"]
        self.store_headers = {"Authorization": f"Bearer {key}"}
        self.out(f"registered store {STORE_ID!r} at {store.address} (dev account {STORE}); API key issued once")

    def _ship(self, number: str, key: dict, waybill: str) -> None:
        """The store ships against the frozen amount and snapshot its view shows."""
        seen = self._order(number)
        self._send(
            STORE,
            "/settlements/ship",
            {"key": key, "waybill": waybill, "amount": seen["frozen_amount"], "snapshot_hash": seen["snapshot_hash"]},
            f"store shipped against {tusd(int(seen['frozen_amount']))}",
        )

    def _later(self, seconds: int, what: str) -> None:
        self.rpc.call("evm_increaseTime", seconds)
        self.rpc.call("evm_mine")
        self.out(f"  … the dev chain's clock moved forward {what}")

    def happy_path(self) -> None:
        alice = self.holders[ALICE].address
        _, pay = self._new_order(
            "D-1",
            25 * UNIT,
            "pay, ship, confirm",
            items=[{"name": "green tea", "quantity": 2, "unit_price": str(12_500_000)}],
        )
        key = settlement_key(pay, "D-1", alice, self.token)
        self.show("D-1")
        self._pay(ALICE, key, 25 * UNIT, pay, "Alice opened the settlement (funds frozen)")
        self.show("D-1")
        self._ship("D-1", key, "SF1000000001")
        self.show("D-1")
        self._send(ALICE, "/settlements/confirm", {"key": key}, "Alice confirmed receipt of everything")
        self.show("D-1")

    def claim_accepted(self) -> None:
        alice = self.holders[ALICE].address
        _, pay = self._new_order("D-2", 40 * UNIT, "the buyer claims a lower amount due; the store accepts")
        key = settlement_key(pay, "D-2", alice, self.token)
        self._pay(ALICE, key, 40 * UNIT, pay, "Alice opened the settlement")
        self._ship("D-2", key, "SF1000000002")
        self._send(
            ALICE,
            "/settlements/claim",
            {"key": key, "amount_due": str(30 * UNIT), "reason": "one item missing"},
            "Alice claimed 30 tUSD due",
        )
        self.show("D-2")
        self._send(
            STORE,
            "/settlements/accept-claim",
            {"key": key},
            "store accepted: 30 tUSD to the store, 10 tUSD back to Alice",
        )
        self.show("D-2")

    def reject(self) -> None:
        bob = self.holders[BOB].address
        _, pay = self._new_order("D-3", 15 * UNIT, "store rejects before shipping (full refund)")
        key = settlement_key(pay, "D-3", bob, self.token)
        self._pay(BOB, key, 15 * UNIT, pay, "Bob opened the settlement")
        self.show("D-3")
        self._send(STORE, "/settlements/reject", {"key": key}, "store rejected the order")
        self.show("D-3")

    def dispute(self) -> None:
        bob = self.holders[BOB].address
        _, pay = self._new_order("D-4", 60 * UNIT, "dispute with a proposed split, resolved by the arbiter")
        key = settlement_key(pay, "D-4", bob, self.token)
        self._pay(BOB, key, 60 * UNIT, pay, "Bob opened the settlement")
        self._ship("D-4", key, "SF1000000004")
        self._send(
            BOB,
            "/settlements/dispute",
            {"key": key, "proposed_to_store": str(20 * UNIT), "reason": "box arrived damaged"},
            "Bob raised a dispute, proposing 20 tUSD to the store",
        )
        self.show("D-4")
        arbiter = self.holders[ARBITER].address
        self._send(
            ARBITER,
            "/settlements/resolve",
            {"key": key, "sender": arbiter, "to_store": str(36 * UNIT)},
            "arbiter resolved: 36 tUSD to the store, 24 tUSD back to Bob",
        )
        self.show("D-4")

    def release(self) -> None:
        alice = self.holders[ALICE].address
        _, pay = self._new_order("D-5", 20 * UNIT, "buyer stays silent; released after the time limit", time_limit=3600)
        key = settlement_key(pay, "D-5", alice, self.token)
        self._pay(ALICE, key, 20 * UNIT, pay, "Alice opened the settlement (time limit 1 hour)")
        self._ship("D-5", key, "SF1000000005")
        try:
            self.holders[KEEPER].build("/settlements/release", {"key": key, "sender": self.holders[KEEPER].address})
        except ApiError as exc:
            self.out(f"  ✗ release before the limit is refused: {exc.problem.get('revert', {}).get('error')}")
        self._later(3601, "1 hour")
        self._send(
            KEEPER,
            "/settlements/release",
            {"key": key, "sender": self.holders[KEEPER].address},
            "anyone (here dev account 9) released the full amount to the store",
        )
        self.show("D-5")

    def permit(self) -> None:
        bob = self.holders[BOB]
        _, pay = self._new_order("D-6", 12 * UNIT, "pay with an EIP-2612 permit instead of an approval")
        key = settlement_key(pay, "D-6", bob.address, self.token)
        permit = bob.permit(self.token, 12 * UNIT)
        self.out("  Bob signed a permit (typed data) locally; no approval transaction")
        self._send(
            BOB,
            "/settlements/open-with-permit",
            {
                "key": key,
                "amount": str(12 * UNIT),
                "snapshot_hash": pay["snapshot_hash"],
                "time_limit": pay["time_limit"],
                "permit": permit,
            },
            "Bob opened with the permit",
        )
        self.show("D-6")
        self._send(BOB, "/settlements/confirm", {"key": key}, "Bob confirmed")
        self.show("D-6")

    def third_party_payer(self) -> None:
        alice, lender = self.holders[ALICE].address, self.holders[LENDER].address
        _, pay = self._new_order("D-7", 30 * UNIT, "a credit provider pays for the buyer; refunds go to it")
        key = settlement_key(pay, "D-7", alice, self.token, payer=lender)
        self._pay(LENDER, key, 30 * UNIT, pay, "the lender (dev account 4) opened for Alice")
        self.show("D-7")
        self._ship("D-7", key, "SF1000000007")
        self._send(
            ALICE,
            "/settlements/claim",
            {"key": key, "amount_due": str(25 * UNIT), "reason": "a size short"},
            "Alice claimed 25 tUSD due",
        )
        self._send(STORE, "/settlements/accept-claim", {"key": key}, "store accepted; 5 tUSD return to the lender")
        self.show("D-7")

    def mismatch_then_update(self) -> None:
        bob = self.holders[BOB].address
        _, pay = self._new_order("D-8", 50 * UNIT, "wrong amount is a visible mismatch; paying again updates it")
        key = settlement_key(pay, "D-8", bob, self.token)
        self._pay(BOB, key, 45 * UNIT, pay, "Bob opened with 45 tUSD instead of 50")
        self.show("D-8")
        self._pay(BOB, key, 50 * UNIT, pay, "Bob opened again with 50 tUSD: 5 tUSD topped up, same settlement")
        self.show("D-8")

    def claim_unanswered(self) -> None:
        alice = self.holders[ALICE].address
        _, pay = self._new_order("D-9", 18 * UNIT, "the store leaves a claim unanswered; anyone executes it")
        key = settlement_key(pay, "D-9", alice, self.token)
        self._pay(ALICE, key, 18 * UNIT, pay, "Alice opened the settlement")
        self._ship("D-9", key, "SF1000000009")
        self._send(
            ALICE,
            "/settlements/claim",
            {"key": key, "amount_due": str(9 * UNIT), "reason": "half spoiled"},
            "Alice claimed 9 tUSD due",
        )
        self.show("D-9")
        self._later(7 * 86_400, "7 days: the store's response window passed")
        self._send(
            KEEPER,
            "/settlements/execute-claim",
            {"key": key, "sender": self.holders[KEEPER].address},
            "anyone executed the unanswered claim: 9 tUSD to the store, 9 tUSD back to Alice",
        )
        self.show("D-9")

    def amicable(self) -> None:
        bob = self.holders[BOB]
        _, pay = self._new_order("D-10", 30 * UNIT, "amicable: the store signs a lower amount, the buyer settles")
        key = settlement_key(pay, "D-10", bob.address, self.token)
        self._pay(BOB, key, 30 * UNIT, pay, "Bob opened the settlement")
        signed = agreement(self.holders[STORE], key, 28 * UNIT)
        self.out("  the store signed Agreement(settlement, 28 tUSD, deadline) locally and gave Bob the signature")
        self._send(
            BOB,
            "/settlements/settle",
            {
                "key": key,
                "sender": bob.address,
                "to_store": str(28 * UNIT),
                "deadline": signed["deadline"],
                "store_signature": signed["signature"],
            },
            "Bob settled with it: 28 tUSD to the store, 2 tUSD back, in one call",
        )
        self.show("D-10")

    def contested(self) -> None:
        alice = self.holders[ALICE].address
        _, pay = self._new_order("D-11", 22 * UNIT, "the store contests a claim; the arbiter splits")
        key = settlement_key(pay, "D-11", alice, self.token)
        self._pay(ALICE, key, 22 * UNIT, pay, "Alice opened the settlement")
        self._ship("D-11", key, "SF1000000011")
        self._send(
            ALICE,
            "/settlements/claim",
            {"key": key, "amount_due": "0", "reason": "never arrived"},
            "Alice claimed nothing is due",
        )
        self._send(
            STORE,
            "/settlements/contest-claim",
            {"key": key, "reason": "courier shows it delivered"},
            "store contested: a dispute for the arbiter",
        )
        self.show("D-11")
        arbiter = self.holders[ARBITER].address
        self._send(
            ARBITER,
            "/settlements/resolve",
            {"key": key, "sender": arbiter, "to_store": str(22 * UNIT)},
            "arbiter resolved: all 22 tUSD to the store",
        )
        self.show("D-11")

    def run_settlements(self) -> None:
        """Every settlement flow, then the store's orders as it polls them."""
        self.setup()
        for flow in (
            self.happy_path,
            self.claim_accepted,
            self.reject,
            self.dispute,
            self.release,
            self.permit,
            self.third_party_payer,
            self.mismatch_then_update,
            self.claim_unanswered,
            self.amicable,
            self.contested,
        ):
            flow()
