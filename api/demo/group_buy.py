"""The group-buying part of `orderchain demo`: a catalogue, its MOQ, a campaign that buyers
order into with signed evidence until production triggers, the evidence anchored and verified."""

from __future__ import annotations

import json
from collections.abc import Callable

from api.client import answer
from api.client import group_buy as client
from api.demo.steps import StepWalk

ENTERPRISE_ID = "tailor"
ENTERPRISE, ALICE, BOB, CAROL = 5, 1, 3, 4
DAY = 86_400
QFD = {
    "requirements": [
        {"name": "comfort", "weight": 5},
        {"name": "durability", "weight": 3},
        {"name": "low price", "weight": 2},
    ],
    "attributes": ["fabric weight", "stitch density", "lining"],
    "relations": [
        {"requirement": "comfort", "attribute": "fabric weight", "strength": 9},
        {"requirement": "comfort", "attribute": "lining", "strength": 3},
        {"requirement": "durability", "attribute": "stitch density", "strength": 9},
        {"requirement": "durability", "attribute": "fabric weight", "strength": 3},
        {"requirement": "low price", "attribute": "lining", "strength": 1},
    ],
    "roof": [{"a": "fabric weight", "b": "lining", "sign": "-"}],
}
SCHEMES = {
    "parameters": [
        {"id": "colour", "kind": "design", "options": [{"id": "navy"}, {"id": "olive", "surcharge": 2_000_000}]},
        {
            "id": "fabric",
            "kind": "design",
            "options": [{"id": "heavy", "attribute": "fabric weight", "surcharge": 8_000_000}, {"id": "light"}],
        },
        {
            "id": "lining",
            "kind": "perception",
            "options": [{"id": "quilted", "attribute": "lining", "surcharge": 5_000_000}, {"id": "none"}],
        },
    ],
    "ladder": [
        {"minimum_quantity": 1, "unit_price": "60000000"},
        {"minimum_quantity": 10, "unit_price": "52000000"},
        {"minimum_quantity": 50, "unit_price": "45000000"},
    ],
    "terms": [1, 2],
    "term_discounts": [{"term": 2, "basis_points": 500}],
}
SCHEME = "colour=navy,fabric=light,lining=quilted"


def tusd(amount) -> str:
    return f"{int(amount) / 1_000_000:,.2f} tUSD"


class GroupBuyWalk(StepWalk):
    """The walk against an API reachable through ``http``; ``settle`` and ``step`` as for the other walks
    (``anchor(bundle_hash)`` returns once that bundle is anchored and the engine has read it)."""

    hidden_events = ("Approval", "Transfer")

    def __init__(
        self,
        http,
        admin: dict,
        token: str,
        settle: Callable[[int], None],
        holder: Callable,
        anchor: Callable[[str], None],
        out: Callable[[str], None] = print,
    ):
        super().__init__(http, admin, token, settle, holder, (ENTERPRISE, ALICE, BOB, CAROL), out)
        self.anchor = anchor

    def _book(self, quantity: int) -> dict:
        book = answer(
            self.http.get(
                f"/catalogues/{ENTERPRISE_ID}/book", params={"scheme": SCHEME, "term": 1, "quantity": quantity}
            )
        )
        asks = [(tusd(p), q) for p, q, _ in book["asks"][:3]]
        bids = [(tusd(p), q) for p, q, _ in book["bids"][:3]]
        self.out(
            f"    order book (seq {book['seq']}): own {tusd(book['own']['price'])} queued {book['own']['queued']}"
            f"; asks {asks}; bids {bids}; cheapest {book['cheapest']['scheme']} at "
            f"{tusd(book['cheapest']['price'])}"
        )
        return book

    def run(self) -> dict[str, object]:
        maker = self.h[ENTERPRISE]
        self.out("\n== G-1: customised group buying, from QFD to production, with signed evidence")
        key = answer(
            self.http.post(
                "/stores",
                headers=self.admin,
                json={"store_id": ENTERPRISE_ID, "name": "Tailor & Co", "address": maker.address},
            )
        )["api_key"]
        store = {"Authorization": f"Bearer {key}"}
        qfd = answer(self.http.put(f"/stores/{ENTERPRISE_ID}/catalogue/qfd", headers=store, json=QFD))
        self.out(
            "  QFD: relative importance "
            + ", ".join(f"{a} {qfd['relative'][a]} %" for a in qfd["ranking"])
            + f"; negatively correlated: {qfd['negative_pairs']}"
        )
        listed = answer(self.http.put(f"/stores/{ENTERPRISE_ID}/catalogue/schemes", headers=store, json=SCHEMES))
        self.out(
            f"  scheme list: {listed['total']} schemes; left out (conflicting options): "
            f"{[e['scheme'] for e in listed['excluded']]}"
        )
        for department, fixed, variable in (
            ("design", "30000000", "0"),
            ("production", "120000000", "47000000"),
            ("logistics", "0", "3000000"),
        ):
            moq = answer(
                self.http.post(
                    f"/stores/{ENTERPRISE_ID}/catalogue/costs",
                    headers=store,
                    json={"scheme": SCHEME, "term": 1, "department": department, "fixed": fixed, "variable": variable},
                )
            )
        self.out(
            f"  MOQ of {SCHEME} for one cycle: {moq['moq']} (fixed {tusd(moq['fixed_per_cycle'])}, variable "
            f"{tusd(moq['variable_per_unit'])} a unit; band from {moq['band']['minimum_quantity']} at "
            f"{tusd(moq['band']['unit_price'])})"
        )
        self.results["moq"] = moq["moq"]

        status = answer(self.http.get("/status"))
        opened = self._done(
            maker.send(
                "/group-buy/open-campaign",
                {
                    "sender": maker.address,
                    "store_id": ENTERPRISE_ID,
                    "scheme": SCHEME,
                    "cycle": 1,
                    "token": self.token,
                    "deposit_per_unit": "10000000",
                    "max_quantity": 40,
                    "target_date": status["chain_time"] + 14 * DAY,
                },
            ),
            "the enterprise opened a campaign for one production cycle (S3.1)",
        )
        campaign = int(next(e for e in opened["events"] if e["event"] == "CampaignOpened")["args"]["campaignId"])
        self._book(3)
        recorded = []
        for who, quantity in ((ALICE, 3), (BOB, 5), (CAROL, moq["moq"] - 8)):
            holder = self.h[who]
            session = client.sign_in(holder)
            signed_in = {"Authorization": f"Bearer {session['token']}"}
            verdict = answer(
                self.http.post(
                    f"/catalogues/{ENTERPRISE_ID}/classify",
                    headers=signed_in,
                    json={"scheme": SCHEME, "term": 1, "quantity": quantity},
                )
            )
            made = client.order(holder, session, campaign, quantity)
            self.settle(made["pledge"]["block_number"])
            events = [e["event"] for e in made["pledge"]["events"] if e["event"] in ("Pledged", "ProductionTriggered")]
            self.out(
                f"  ✓ {holder.address[:10]}… ({verdict['class']}) signed in again, acknowledged the risk notice, "
                f"confirmed {quantity} unit(s), pledged {tusd(made['prepared']['deposit'])} "
                f"({', '.join(events)}); evidence {made['bundle_hash'][:18]}… sealed by {made['witness'][:10]}…"
            )
            recorded.append(made)
            self._book(3)
        shown = answer(self.http.get(f"/campaigns/{campaign}"))
        self.out(
            f"    campaign {campaign}: {shown['status']}, {shown['pledged']}/{shown['moq']} units, deposits "
            f"{tusd(shown['deposits'])}, {len(shown['backers'])} backers"
        )
        self.results["status"] = shown["status"]
        self.anchor(recorded[0]["bundle_hash"])
        kept = answer(self.http.get(f"/evidence/{recorded[0]['bundle_hash']}"))
        self.out(
            f"  ✓ evidence anchored: root {kept['anchoring']['root'][:18]}… in block "
            f"{kept['anchoring']['block_number']} (time {kept['anchoring']['anchored_at']})"
        )
        verdict = answer(self.http.post("/evidence/verify", json={"bundle": recorded[0]["bundle"]}))
        self.out(
            f"    verify: intact {verdict['intact']}, signatures {verdict['signatures_valid']}, countersignature "
            f"{verdict['countersignature_valid']}, anchored {verdict['anchored']}"
        )
        tampered = json.loads(json.dumps(recorded[0]["bundle"]))
        tampered["order"]["quantity"] += 1
        changed = answer(self.http.post("/evidence/verify", json={"bundle": tampered}))
        self.out(
            f"    verify with one changed quantity: intact {changed['intact']}, signatures "
            f"{changed['signatures_valid']} ({'; '.join(changed['problems'])})"
        )
        self.results["verified"] = (
            verdict["intact"],
            verdict["signatures_valid"],
            verdict["countersignature_valid"],
            verdict["anchored"],
        )
        self.results["tampered"] = (changed["intact"], changed["signatures_valid"])
        effects = answer(self.http.get(f"/catalogues/{ENTERPRISE_ID}/effects"))
        self.out(
            f"  campaign page: most popular {effects['most_popular']}, most economical {effects['most_economical']}"
        )
        return self.results
