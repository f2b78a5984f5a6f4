"""The payments view on a real event store: shipments joined with their mandates as the chain
logs tell them, what the keeper has left to do, the notices due, and the purchase habits
behind recommendations on a hand-computed case, updated incrementally, taken back by a
retraction and equal to a rebuild."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.application import Conflict, OrderEngine
from engine.config import Settings
from engine.db import Database
from engine.delivery.checkout import Line
from engine.delivery.couriers import Courier
from engine.delivery.declaration import Declaration
from engine.delivery.mandate import CONTRACT, PaymentMandate
from engine.delivery.notices import BuyerNotice, subject, wanted_subjects
from engine.delivery.order import shipment_ref
from projections.payments import PaymentsView
from projections.runner import Projector

HOME = {"lines": ["12 Quay Street"], "country": "GB", "latitude": 55.97, "longitude": -3.17}
UPS = Courier("ups", "UPS", "ups", ((55.95, -3.19),), Decimal(50), 2_000_000, Decimal("10000"), Decimal("500000"))
WAYBILLS = iter(["1Z5R89390357567127", "1Z5R89390357567135", "1Z5R89390357567143", "1Z5R89390357567151",
                 "1Z5R89390357567169", "1Z5R89390357567177"])  # fmt: skip
PRICES = {"tea": 1_250_000, "cake": 3_000_000, "mug": 8_000_000}
CHAIN_ID = 31337


@pytest.fixture
def app(tmp_path):
    app = OrderEngine(Settings(db=str(tmp_path / "events.sqlite"), var_dir=str(tmp_path)))
    app.register_store("brew", "Brew", "0x" + "5" * 40)

    def stock(s):
        s.save_warehouse("leith", 55.976, -3.17)
        for sku, price in PRICES.items():
            s.save_item(sku, sku.title(), "food", price, "0.25")
            s.set_stock(sku, "leith", 100)

    app.change_stock("brew", stock)
    app.change_couriers(lambda book: book.save(UPS))
    return app


@pytest.fixture
def view(app, tmp_path):
    return Projector(app, Database(str(tmp_path / "views.sqlite"))).view(PaymentsView)


class Chain:
    """Logs of OfflinePayment as the reader records them, one block per log."""

    def __init__(self, app):
        self.app = app
        self.block = 0

    def log(self, mandate_id: str, event: str, args: dict) -> int:
        self.block += 1
        coords = {
            "block_number": self.block,
            "block_hash": f"0x{self.block:064x}",
            "tx_hash": f"0x{10_000 + self.block:064x}",
            "log_index": 0,
            "block_timestamp": 1_700_000_000 + self.block,
        }
        aggregate_id = PaymentMandate.create_id(CHAIN_ID, CONTRACT, mandate_id)
        try:
            mandate = self.app.repository.get(aggregate_id)
        except Exception:
            mandate = PaymentMandate(CHAIN_ID, CONTRACT, mandate_id)
        mandate.record(event, dict(args, mandateId=mandate_id), coords)
        self.app.save(mandate)
        return self.block

    def retract_after(self, mandate_id: str, block: int) -> None:
        mandate = self.app.repository.get(PaymentMandate.create_id(CHAIN_ID, CONTRACT, mandate_id))
        mandate.retract_after(block)
        self.app.save(mandate)


def bought(app, chain: Chain, login: str, skus: list[str], collect: bool = True) -> tuple[str, int]:
    """A buyer's checkout of one of each SKU, signed, declared, verified (and collected) on chain:
    the mandate id and the block of its last log."""
    app.register_account(login, "buyer", "correct horse battery")
    wallet = "0x" + login.encode().hex()[:40].rjust(40, "0")
    app.bind_wallet(login, wallet)
    checkout_id = f"c-{login}"
    lines = [Line("brew", sku, 1, PRICES[sku], "food") for sku in skus]
    order = app.place_checkout(checkout_id, login, lines, HOME)
    amount = order.shipments["brew"]["amount"]
    mandate_id = "0x" + login.encode().hex().rjust(64, "0")
    mandate = {"maxAmount": str(amount), "validUntil": str(2_000_000_000), "token": "0x" + "7" * 40}
    app.sign_checkout_mandate(checkout_id, "brew", mandate_id, mandate, "0xsig")
    app.declare_shipment(checkout_id, "brew", Declaration("ups", next(WAYBILLS), "food", dict.fromkeys(skus, 1)), 1.0)
    registered = {"buyer": wallet, "store": "0x" + "5" * 40, "token": "0x" + "7" * 40, "maxAmount": amount,
                  "orderHash": "0x" + "0" * 64, "validUntil": 2_000_000_000, "nonce": 1}  # fmt: skip
    chain.log(mandate_id, "MandateRegistered", registered)
    ref = shipment_ref(checkout_id, "brew")
    verified = {"index": 1, "shipmentRef": ref, "amount": amount, "waybillHash": "0x0", "categoryHash": "0x0"}
    last = chain.log(mandate_id, "ShipmentVerified", verified)
    if collect:
        last = chain.log(
            mandate_id, "Collected", {"index": 1, "store": "0x" + "5" * 40, "amount": amount, "credited": False}
        )
    return mandate_id, last


def test_a_shipment_row_follows_its_mandate_on_chain_and_says_what_is_left_to_do(app, view):
    chain = Chain(app)
    app.register_account("ada", "buyer", "correct horse battery")
    app.bind_wallet("ada", "0x" + "a" * 40)
    app.place_checkout("c-1", "ada", [Line("brew", "tea", 2, PRICES["tea"], "food")], HOME)
    view.catch_up()
    [row] = view.of_checkout("c-1")
    assert row["status"] == "awaiting_mandate" and view.to_verify(0) == []
    mandate = {"maxAmount": "99999999", "validUntil": "2000000000", "token": "0x" + "7" * 40}
    app.sign_checkout_mandate("c-1", "brew", "0xm1", mandate, "0xsig")
    app.declare_shipment("c-1", "brew", Declaration("ups", "1Z5R89390357567127", "food", {"tea": 2}), 1.0)
    view.catch_up()
    assert [r["checkout_id"] for r in view.to_verify(1_900_000_000)] == ["c-1"]
    assert view.to_verify(2_000_000_001) == []  # past valid-until: nothing is verified
    [row] = view.notices_due()
    assert wanted_subjects(row) == [subject("shipped", "c-1", "brew")]
    amount = row["data"]["amount"]
    chain.log("0xm1", "MandateRegistered", {"buyer": "0x" + "a" * 40, "store": "0x" + "5" * 40, "token": "0x7",
              "maxAmount": amount, "orderHash": "0x0", "validUntil": 2_000_000_000, "nonce": 1})  # fmt: skip
    ref = shipment_ref("c-1", "brew")
    chain.log("0xm1", "ShipmentVerified", {"index": 1, "shipmentRef": ref, "amount": amount, "waybillHash": "0x0",
              "categoryHash": "0x0"})  # fmt: skip
    view.catch_up()
    assert view.to_verify(1_900_000_000) == [] and [r["checkout_id"] for r in view.to_collect(0)] == ["c-1"]
    block = chain.log("0xm1", "CollectionDefaulted", {"index": 1, "buyer": "0x" + "a" * 40, "amount": amount})
    view.catch_up()
    assert view.to_collect(0) == [] and [r["checkout_id"] for r in view.defaults_due()] == ["c-1"]
    app.raise_default_alarm("c-1", "brew", 1, amount, 2.0)
    assert app.raise_default_alarm("c-1", "brew", 1, amount, 3.0) is None  # one per shipment
    view.catch_up()
    assert view.defaults_due() == []
    [row] = view.notices_due()
    assert [s.split()[0] for s in wanted_subjects(row)] == ["shipped", "verified", "defaulted", "alarm"]
    chain.retract_after("0xm1", block - 1)  # the default was in a block a reorganisation dropped
    view.catch_up()
    assert [r["checkout_id"] for r in view.to_collect(0)] == ["c-1"]
    live = view.snapshot()
    view.rebuild()
    assert view.snapshot() == live


def test_notices_are_made_once_per_channel_and_a_dead_letter_is_replayed(app, view):
    notice = BuyerNotice(
        subject="shipped c-1 brew", channel="sms", kind="shipped", login="ada", checkout_id="c-1", store_id="brew",
        to="+447911123456", body={"text": "shipped"}, created_at=10.0,
    )  # fmt: skip
    app.save(notice)
    twin = BuyerNotice(
        subject="shipped c-1 brew", channel="sms", kind="shipped", login="ada", checkout_id="c-1", store_id="brew",
        to="+447911123456", body={"text": "shipped"}, created_at=11.0,
    )  # fmt: skip
    with pytest.raises(Exception, match=r"(?i)integrity|unique|conflict"):
        app.save(twin)  # the same notice on the same channel is never made twice
    for attempt in range(8):
        notice.failed(100.0 + attempt, "HTTP 503")
    assert notice.state == "dead" and notice.attempts == 8
    app.save(notice)
    view.catch_up()
    [dead] = view.notices(state="dead")
    assert dead["attempts"] == 8 and dead["last_error"] == "HTTP 503"
    replayed = app.replay_notice(notice.id, 500.0)
    assert replayed.state == "pending" and replayed.next_at == 500.0
    with pytest.raises(Conflict):
        app.replay_notice(notice.id, 501.0)  # only a dead letter is replayed
    view.catch_up()
    assert view.notices(state="dead") == [] and view.notices_to_send(500.0) == [str(notice.id)]


def test_recommendations_from_purchase_habits_on_a_hand_computed_case(app, view):
    chain = Chain(app)
    bought(app, chain, "bo1", ["tea", "cake"])
    b2, b2_collected = bought(app, chain, "bo2", ["tea", "cake"])
    bought(app, chain, "bo3", ["tea", "mug"])
    bought(app, chain, "bo4", ["cake"])
    bought(app, chain, "ada", ["tea"])
    bought(app, chain, "eve", ["mug", "cake"], collect=False)  # verified, not collected: not a habit yet
    view.catch_up()
    # 5 buyers; tea 4, cake 3, mug 1; tea+cake 2, tea+mug 1. For ada (tea): cake's lift is
    # 2 x 5 / (4 x 3) = 0.8333; tea+mug is below the 2 buyers needed, so mug is a best seller.
    assert [(r["item"], r["lift"], r["reason"]) for r in view.recommendations("ada")] == [
        ("brew/cake", Decimal("0.8333"), "bought with brew/tea by 2 buyers"),
        ("brew/mug", None, "a best seller: bought by 1 buyers"),
    ]
    assert view.recommendations("bo1") == [
        {"item": "brew/mug", "lift": None, "reason": "a best seller: bought by 1 buyers", "store_id": "brew",
         "sku": "mug"}
    ]  # fmt: skip
    assert [r["item"] for r in view.recommendations("nobody")] == ["brew/tea", "brew/cake", "brew/mug"]
    assert view.recommendations("ada", store_id="other") == []
    live = view.snapshot()
    view.rebuild()
    assert view.snapshot() == live

    # A reorganisation takes b2's collection back: tea+cake 1, tea 3, cake 2, of 4 buyers.
    chain.retract_after(b2, b2_collected - 1)
    view.catch_up()
    assert [(r["item"], r["reason"]) for r in view.recommendations("ada")] == [
        ("brew/cake", "a best seller: bought by 2 buyers"),
        ("brew/mug", "a best seller: bought by 1 buyers"),
    ]
    assert view.holdings("bo2") == {}
    live = view.snapshot()
    view.rebuild()
    assert view.snapshot() == live


def test_the_database_ranking_agrees_with_the_domain_on_every_buyer(view):
    """The view hands the domain only the database's best candidates: on random habits the
    answer is the domain's ranking over every pair."""
    import random

    from engine.delivery.recommend import recommend

    rng = random.Random(7)
    items = [(f"s{i % 3}", f"k{i}") for i in range(30)]
    with view.db.transaction():
        for _ in range(600):
            login = f"who{rng.randrange(60)}"
            for store_id, sku in set(rng.choices(items, [1 / (r + 1) for r in range(30)], k=rng.randint(1, 3))):
                view.hold(login, store_id, sku, 1, 1)
    bought = {i: int(n) for i, n in view.db.fetchall("SELECT item, buyers FROM view_habit_items")}
    together = {(a, b): int(n) for a, b, n in view.db.fetchall("SELECT a, b, buyers FROM view_habit_pairs")}
    buyers = int(view.db.fetchone("SELECT COUNT(*) FROM view_habit_buyers")[0])
    for n in range(60):
        login = f"who{n}"
        expected = recommend(set(view.holdings(login)), bought, together, buyers, limit=5)
        assert [
            {k: v for k, v in r.items() if k not in ("store_id", "sku")} for r in view.recommendations(login)
        ] == expected, login
