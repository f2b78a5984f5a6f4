"""The liquor part of `orderchain demo`: one case's whole life, then a loan purchase.

Plan, purchase under a signed custody agreement, outbound with the case code, gift,
pledge, repay, pledge again and seizure after the due date, a loan purchase, a pickup
whose address is encrypted by the holder and decrypted by the warehouse, delivery with
the door code and the burn; the views are printed after each step.
"""

from __future__ import annotations

from collections.abc import Callable

from api.client import answer
from api.client import liquor as client
from api.demo.steps import StepWalk

# Dev accounts (index in the test mnemonic) and their parts in the case's life.
ALICE, BOB, PRODUCER, WAREHOUSE, LENDER = 1, 3, 5, 6, 7
UNIT = 1_000_000
DAY = 86_400
FACTS = {
    "name": "Old Reserve Single Malt",
    "producer": "Glen Example Distillery",
    "vintage": 2015,
    "volume_ml": 700,
    "abv": "43.5",
    "bottles_per_case": 6,
}
TERMS = {
    "text": "The warehouse keeps each case insured at 12-16 C until it is redeemed; redemption by pickup "
    "request, delivered against the pickup code.",
    "storage_fee_per_case_year": "0",
}


def tusd(amount: int | str) -> str:
    return f"{int(amount) / UNIT:,.2f} tUSD"


class CaseWalk(StepWalk):
    """The walk, against an API reachable through ``http``; ``settle`` as for the settlement walk."""

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
        super().__init__(http, admin, token, settle, holder, (ALICE, BOB, PRODUCER, WAREHOUSE, LENDER), out)
        self.rpc = rpc
        self.names = {ALICE: "alice", BOB: "bob", PRODUCER: "producer", WAREHOUSE: "warehouse", LENDER: "lender"}

    def _send(self, who: int, path: str, body: dict, what: str) -> dict:
        return self._done(self.h[who].send(path, {"sender": self.h[who].address, **body}), what)

    @staticmethod
    def _event(result: dict, name: str) -> dict:
        return next(e["args"] for e in result["events"] if e["event"] == name)

    def _holdings(self, *who: int) -> None:
        for i in who:
            cases = answer(self.http.get(f"/liquor/holdings/{self.h[i].address}"))
            shown = (
                ", ".join(f"#{c['token_id']} {c['state']}" + (" locked" if c["locked"] else "") for c in cases) or "-"
            )
            self.out(f"    holdings of {self.names[i]}: {shown}")

    def _inventory(self, plan_id: int) -> None:
        inv = answer(self.http.get(f"/liquor/plans/{plan_id}"))["inventory"]
        self.out("    inventory: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in inv.items()))

    def _book(self) -> None:
        loans = answer(self.http.get(f"/liquor/lenders/{self.h[LENDER].address}/loans"))
        shown = (
            "; ".join(
                f"#{loan['token_id']} {loan['status']}{' overdue' if loan['overdue'] else ''} "
                f"{tusd(loan['principal'])}+{tusd(loan['interest'])}"
                for loan in loans
            )
            or "-"
        )
        self.out(f"    lender book: {shown}")

    def _later(self, seconds: int, what: str) -> None:
        self.rpc.call("evm_increaseTime", seconds)
        self.rpc.call("evm_mine")
        self.out(f"  … the dev chain's clock moved forward {what}")

    def run(self) -> dict[str, object]:
        alice, bob, lender, warehouse = (self.h[i] for i in (ALICE, BOB, LENDER, WAREHOUSE))
        self.out("\n== L-1: a case of liquor in custody, from sale plan to burn")
        listing = answer(
            self.http.post(
                "/liquor/listings",
                headers=self.admin,
                json={
                    "producer": self.h[PRODUCER].address,
                    "facts": FACTS,
                    "terms": TERMS,
                    "sale": {
                        "cases": 12,
                        "unit_price": str(250 * UNIT),
                        "token": self.token,
                        "warehouse": warehouse.address,
                        "fulfilment_window": 14 * DAY,
                    },
                },
            )
        )
        self.out(
            f"  operator listed the producer's facts {listing['facts_hash'][:18]}… and custody terms "
            f"{listing['terms_hash'][:18]}…"
        )
        plan_id = int(
            self._event(
                self._send(
                    PRODUCER,
                    "/liquor/create-plan",
                    {"facts_hash": listing["facts_hash"]},
                    "producer created the sale plan (S1)",
                ),
                "PlanCreated",
            )["planId"]
        )
        plan = answer(self.http.get(f"/liquor/plans/{plan_id}"))
        self.out(
            f"    plan {plan_id}: {plan['facts']['name']} {plan['facts']['vintage']}, {plan['cases']} cases at "
            f"{tusd(plan['unit_price'])}, mismatches with the listing: {plan['mismatches'] or 'none'}"
        )
        self._inventory(plan_id)

        signed = client.custody_signature(alice, plan_id, 2)
        self.out(f'  alice signed the custody agreement (EIP-712, locally): "{signed["terms"]["text"][:60]}…"')
        purchase = self._done(client.buy(alice, plan_id, 2, signed), "alice paid for 2 cases (S2, S3)")
        purchase_id = int(self._event(purchase, "Purchased")["purchaseId"])
        self._inventory(plan_id)
        tokens = []
        for code in ("GLN-2015-000101", "GLN-2015-000102"):
            out = self._send(
                WAREHOUSE,
                "/liquor/outbound",
                {"purchase_id": str(purchase_id), "case_code": code},
                f"warehouse recorded outbound of case {code} (S4, S5): token minted, producer paid",
            )
            tokens.append(int(self._event(out, "CaseOutbound")["tokenId"]))
        case = tokens[0]
        self._inventory(plan_id)
        self._holdings(ALICE)

        self._send(
            ALICE,
            "/liquor/gift",
            {"token_id": str(case), "to": bob.address, "message": "Happy birthday"},
            f"alice gave case #{case} to bob (A)",
        )
        self._holdings(ALICE, BOB)

        now = answer(self.http.get("/status"))["chain_time"]
        offer = client.loan_offer(lender, case, 100 * UNIT, 5 * UNIT, now + 30 * DAY)
        self.out(f"  lender signed a loan offer on case #{case}: {tusd(100 * UNIT)} + {tusd(5 * UNIT)} in 30 days")
        self._done(client.pledge(bob, offer), "bob pledged the case (C1, C2): principal to bob, case locked")
        self._holdings(BOB)
        self._book()
        refused = self.http.post(
            "/liquor/gift", json={"sender": bob.address, "token_id": str(case), "to": alice.address}
        )
        self.out(f"  a gift of the locked case is refused: {refused.json().get('revert', {}).get('error')}")
        self.results["locked_gift"] = refused.json().get("revert", {}).get("error")
        self._done(client.repay(bob, case), "bob repaid principal and interest (C3): case unlocked")
        self._book()

        offer = client.loan_offer(
            lender, case, 80 * UNIT, 2 * UNIT, answer(self.http.get("/status"))["chain_time"] + 7 * DAY
        )
        self._done(client.pledge(bob, offer), "bob pledged the case again, due in 7 days")
        self._later(8 * DAY, "8 days: the loan is overdue")
        self.settle(self.rpc.block_number())
        self._book()
        self._send(LENDER, "/liquor/seize", {"token_id": str(case)}, "lender seized the unpaid case")
        self._holdings(BOB, LENDER)
        self._book()

        loan = {"lender": lender.address, "interest_per_case": str(10 * UNIT), "term": 60 * DAY}
        signed = client.custody_signature(bob, plan_id, 1, loan=loan)
        bought = self._done(
            client.buy(lender, plan_id, 1, signed, buyer=bob.address, loan=loan),
            "lender paid a purchase for bob (B1, B2): a loan purchase",
        )
        out = self._send(
            WAREHOUSE,
            "/liquor/outbound",
            {"purchase_id": self._event(bought, "Purchased")["purchaseId"], "case_code": "GLN-2015-000103"},
            "warehouse recorded its outbound: minted to bob already pledged to the lender (B3)",
        )
        tokens.append(int(self._event(out, "CaseOutbound")["tokenId"]))
        self._holdings(BOB)
        self._book()

        self._send(
            WAREHOUSE,
            "/liquor/warehouse-key",
            {"public_key": client.public_key_of(warehouse.account)},
            "warehouse published its encryption key",
        )
        asked = self._done(
            client.request_pickup(lender, case, "7 Harbour Road, Leith EH6 6LX"),
            f"lender asked for delivery of case #{case} (S6): address encrypted on its machine",
        )
        self.out(f"    pickup code for the recipient: {asked['pickup_code']} (only its hash is on chain)")
        for entry in client.redemption_queue(warehouse):
            self.out(
                f"    warehouse queue: case #{entry['token_id']} {entry['state']}, ciphertext "
                f"{entry['ciphertext'][:18]}… decrypted on the warehouse's machine: {entry['delivery_address']}"
            )
            self.results["decrypted"] = entry["delivery_address"]
        self._inventory(plan_id)
        self._send(WAREHOUSE, "/liquor/dispatch", {"token_id": str(case)}, "warehouse dispatched the case")
        self._send(
            WAREHOUSE,
            "/liquor/confirm-delivery",
            {"token_id": str(case), "pickup_code": asked["pickup_code"]},
            "warehouse confirmed delivery with the door code (S7): token burned",
        )
        self._inventory(plan_id)
        self._holdings(LENDER)

        self.out(f"\n== provenance of case #{case}: GET /liquor/cases/{case}/provenance")
        steps = answer(self.http.get(f"/liquor/cases/{case}/provenance"))
        for step in steps:
            self.out(
                f"  {step['step']:<17} block {step['block_number']:<5} tx {step['tx_hash'][:12]}… "
                f"log {step['log_index']}"
            )
        self.results["provenance"] = [s["step"] for s in steps]
        self.results["inventory"] = answer(self.http.get(f"/liquor/plans/{plan_id}"))["inventory"]
        meta = answer(self.http.get(f"/cases/{tokens[1]}/metadata"))
        self.out(
            f"\n== ERC-721 metadata of case #{tokens[1]} (tokenURI): {meta['name']}; "
            + ", ".join(f"{a['trait_type']}: {a['value']}" for a in meta["attributes"][:4])
        )
        return self.results
