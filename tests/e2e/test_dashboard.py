"""The dashboard in a real browser (Debian's chromium, headless, driven by Playwright): a
store's staff sign in with both factors, watch an order appear and get paid live as its
transaction is mined on anvil; another store's page answers as an unknown page does; a form
without its CSRF token is refused; the pages pass an accessibility check (axe-core) with no
serious violations. Screenshots go to ``.build/screenshots``."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.e2e.accounts import PASSWORD, last_code, new_account

from .conftest import ADMIN_HEADERS, Wallet, create_order, dev_account

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / ".build" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(base_url=str(served.base_url), viewport={"width": 390, "height": 844})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    context.close()
    assert errors == [], errors  # no errors in the browser's console


def staff(served, tmp_path, store_id: str, address: str, phone: str = "+44 7911 123456") -> tuple[dict, str]:
    """A store with its staff account (phone verified): the store key, the staff login."""
    r = served.post("/stores", json={"store_id": store_id, "name": store_id.title(), "address": address},
                    headers=ADMIN_HEADERS)  # fmt: skip
    assert r.status_code == 201, r.text
    key = {"Authorization": f"Bearer {r.json()['api_key']}"}
    login = f"staff@{store_id}.example"
    new_account(served, tmp_path, login, phone=phone, path=f"/stores/{store_id}/staff", headers=key)
    return key, login


def sign_in(tab, tmp_path, login: str) -> None:
    tab.goto("/app")
    tab.get_by_label("Login").fill(login)
    tab.get_by_role("button", name="Send me a code").click()
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_label("One-time code").fill(last_code(tmp_path))
    tab.get_by_role("button", name="Sign in").click()


def reach(tab, selector: str, most: int = 80) -> None:
    """Presses Tab until the element is focused (keyboard reachable), or fails."""
    target = tab.locator(selector)
    for _ in range(most):
        tab.keyboard.press("Tab")
        if target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError(f"{selector} is not reached with the keyboard in {most} presses of Tab")


def accessible(tab) -> list[str]:
    """The serious and critical violations axe-core finds on the page."""
    tab.add_script_tag(path=str(AXE))
    found = tab.evaluate("async () => (await axe.run()).violations")
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


def shot(tab, name: str) -> None:
    """The page's screenshot; and it fits the phone's width (only a table's own region scrolls)."""
    width = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name}: the page is {width[0]} px wide on a {width[1]} px screen"
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_store_watches_its_orders_arrive_and_get_paid_live(page, served, service, chain, tmp_path):
    token = service.manifest.contract("TestStablecoin").address
    store = dev_account(2)
    key, login = staff(served, tmp_path, "live-shop", store.address)
    sign_in(page, tmp_path, login)
    page.wait_for_url("**/app/stores/live-shop")
    assert (
        page.get_by_role("heading", name="Live-Shop").is_visible() and page.title() == "Live-Shop: orders · orderchain"
    )
    page.wait_for_function("document.getElementById('live').textContent === 'live'")

    # A new order appears without a reload, then its payment, once mined and read, too.
    order = create_order(served, "live-shop", key, "W-1", 12_500_000, token)
    row = page.locator("#order-W-1")
    row.wait_for(timeout=5_000)
    assert "12.5 tUSD" in row.inner_text()
    buyer = Wallet(served, dev_account(1))
    pay = order["payment"]
    terms = {"store": pay["store"], "order_number": "W-1", "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "12500000"})
    buyer.send("/settlements/open", {"key": terms, "amount": "12500000", "snapshot_hash": pay["snapshot_hash"]})
    service.step()
    page.wait_for_function("document.getElementById('order-W-1').textContent.includes('paid')", timeout=5_000)
    assert accessible(page) == []
    shot(page, "store-orders")

    # Each stream ends after its lifetime (here made short) and the page reconnects with the
    # Last-Event-ID of the last change it had: what comes next still arrives, newest first.
    service.settings = replace(service.settings, sse_lifetime=1.0)
    page.reload()
    page.wait_for_function("document.getElementById('live').textContent === 'live'")

    def resuming(request) -> bool:
        return "/stream" in request.url and bool(request.all_headers().get("last-event-id"))

    with page.expect_request(resuming, timeout=5_000) as reconnect:
        create_order(served, "live-shop", key, "W-2", 1_000_000, token)
        page.locator("#order-W-2").wait_for(timeout=5_000)
    w2 = served.get("/stores/live-shop/orders/W-2", headers=key).json()
    assert reconnect.value.all_headers()["last-event-id"] == w2["cursor"]  # the change the page had last
    create_order(served, "live-shop", key, "W-3", 2_000_000, token)
    page.locator("#order-W-3").wait_for(timeout=5_000)
    service.settings = replace(service.settings, sse_lifetime=600.0)
    assert [r.get_attribute("id") for r in page.locator("tbody tr").all()[:3]] == ["order-W-3", "order-W-2",
                                                                                 "order-W-1"]  # fmt: skip

    # The order's history: each step, where it was mined.
    page.get_by_role("link", name="W-1").click()
    page.wait_for_url("**/app/stores/live-shop/orders/W-1")
    steps = page.locator("ol.timeline li").all_inner_texts()
    assert [s.split()[0] for s in steps] == [h["step"] for h in served.get("/stores/live-shop/orders/W-1/history",
                                                                         headers=key).json()["history"]]  # fmt: skip
    assert any("SettlementOpened" in s and "block" in s for s in steps)
    assert accessible(page) == []
    page.go_back()
    for link, empty in (
        ("Cross-border orders", "No cross-border orders yet."),
        ("Liquor cases", "No plans of cases yet."),
    ):
        page.get_by_role("link", name=link).click()
        assert page.get_by_text(empty).is_visible() and accessible(page) == []
        page.go_back()

    # An alarm on one of its shipments: the store acknowledges it, then cancels the shipment
    # (letting the payment go ahead is the operator's decision only); the API says the same.
    import time

    from engine.delivery.order import Alarm

    errors = [{"store_id": "live-shop", "reason": "collection_defaulted", "sku": None, "detail": "allowance withdrawn"}]
    alarm = Alarm(
        checkout_id="c-5", store_id="live-shop", n=0, errors=errors, at=time.time(), kind="collection_defaulted"
    )
    service.app.save(alarm)
    service.project()
    page.reload()
    row = page.locator(f"#alarm-{alarm.id}")
    assert "collection defaulted (allowance withdrawn)" in row.inner_text()
    row.get_by_role("button", name="Acknowledge").click()
    assert page.locator(f"#alarm-{alarm.id} .state").inner_text() == "acknowledged"
    row = page.locator(f"#alarm-{alarm.id}")
    row.get_by_label("Reason").fill("the buyer returned it")
    row.get_by_role("button", name="Cancel the shipment").click()
    assert page.locator(f"#alarm-{alarm.id} .state").inner_text() == "resolved"
    [listed] = served.get("/stores/live-shop/alarms", headers=key).json()
    assert (listed["acknowledged_by"], listed["resolution"]["by"], listed["resolution"]["proceed"]) == (
        "store live-shop",
        "store live-shop",
        False,
    )
    assert accessible(page) == []

    # Another store's page is the same answer as a page that does not exist.
    staff(served, tmp_path, "other-shop", dev_account(5).address, phone="+44 7911 123459")
    other = page.request.get("/app/stores/other-shop")
    unknown = page.request.get("/app/stores/no-such-shop")
    assert other.status == unknown.status == 404 and other.json()["detail"] == unknown.json()["detail"]

    # A form without its CSRF token changes nothing.
    refused = page.request.post("/app/sign-out", form={})
    assert refused.status == 403
    page.reload()
    assert page.locator("#order-W-1").is_visible()  # still signed in


def test_the_sign_in_page_is_accessible_and_refuses_a_wrong_code(page, served, tmp_path):
    _, login = staff(served, tmp_path, "quiet-shop", dev_account(4).address)
    page.goto("/app")
    assert accessible(page) == []
    shot(page, "sign-in")
    page.get_by_label("Login").fill(login)
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("One-time code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    assert page.url.endswith("/app/sign-in")


def test_the_operator_acknowledges_an_alarm_and_the_store_sees_it(page, served, service, chain, tmp_path):
    import time

    from engine.delivery.order import Alarm
    from tests.e2e.accounts import HOME, bearer
    from tests.e2e.accounts import sign_in as sign_in_api

    # An account whose profile is complete, waiting for the operator's review.
    new_account(served, tmp_path, "ada@example.org")
    ada = bearer(sign_in_api(served, tmp_path))
    served.patch("/accounts/me", json={"name": "Ada Lovelace"}, headers=ada)
    served.put("/accounts/me/addresses/home", json=HOME, headers=ada)
    login = "ops@example.org"
    new_account(served, tmp_path, login, phone="+44 7911 123460", path="/operator/accounts", headers=ADMIN_HEADERS,
                role="operator")  # fmt: skip
    errors = [{"store_id": "corner", "reason": "collection_defaulted", "sku": None, "detail": "allowance withdrawn"}]
    alarm = Alarm(checkout_id="c-7", store_id="corner", n=0, errors=errors, at=time.time(), kind="collection_defaulted")
    service.app.save(alarm)  # as the keeper raises it for a default (the flow is tested on its own)
    from engine.delivery.notices import MAX_ATTEMPTS, BuyerNotice

    notice = BuyerNotice(subject="shipped c-7 corner", channel="sms", kind="shipped", login="ada@example.org",
                         checkout_id="c-7", store_id="corner", to="+447911123456", body={"text": "shipped"},
                         created_at=time.time())  # fmt: skip
    for _ in range(MAX_ATTEMPTS):
        notice.failed(time.time(), "the gateway is down")
    service.app.save(notice)  # a dead letter, as the keeper leaves one (the flow is tested on its own)
    service.project()  # the alarm, the dead letter and Ada's account in the views
    page.goto("/app")
    page.get_by_label("Login").fill(login)
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("One-time code").fill(last_code(tmp_path, "+447911123460"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/operator")
    status = served.get("/status").json()
    assert page.locator("dl.chain").inner_text().split("\n")[:2] == ["chain id", str(status["chain_id"])]
    assert "chain events ingested" in page.locator("dl.metrics").inner_text()
    row = page.locator(f"#alarm-{alarm.id}")
    assert "collection defaulted" in row.inner_text() and row.locator(".state").inner_text() == "open"
    assert accessible(page) == []
    shot(page, "operator")

    # A dead letter replayed from the page is pending again, as the API says.
    page.locator("#dead-notices").get_by_role("button", name="Replay").click()
    page.wait_for_url("**/app/operator")
    assert page.locator("#dead-notices").count() == 0
    [replayed] = [
        n for n in served.get("/operator/notices", headers=ADMIN_HEADERS).json() if n["notice_id"] == str(notice.id)
    ]
    assert (replayed["state"], replayed["attempts"]) == ("pending", 0)

    # The identities to review are the API's list; each opens on its record and the command
    # the attester runs with its own wallet.
    listed = served.get("/operator/accounts?state=to_review", headers=ADMIN_HEADERS).json()["accounts"]
    assert [a["login"] for a in listed] == ["ada@example.org"]
    assert page.locator("#to-review tbody th").all_inner_texts() == ["ada@example.org"]
    page.get_by_role("link", name="ada@example.org").click()
    page.wait_for_url("**/app/operator/accounts/ada%40example.org")
    assert "Ada Lovelace" in page.locator("dl.record").inner_text() and page.locator("#level").inner_text() == "0"
    assert page.locator("#attest-command").inner_text() == "orderchain wallet attest ada@example.org --level 1"
    assert accessible(page) == []
    shot(page, "operator-review")
    page.go_back()

    # Keyboard only: Tab reaches the alarm's button, Enter presses it.
    reach(page, f"#alarm-{alarm.id} button:text('Acknowledge')")
    page.keyboard.press("Enter")
    page.wait_for_url("**/app/operator")
    assert page.locator(f"#alarm-{alarm.id} .state").inner_text() == "acknowledged"
    assert served.get("/operator/alarms?state=acknowledged", headers=ADMIN_HEADERS).json()[0]["alarm_id"] == str(
        alarm.id
    )  # the page's numbers are the API's
    row = page.locator(f"#alarm-{alarm.id}")
    row.get_by_label("Reason").fill("the courier confirmed the parcel")
    row.get_by_role("button", name="Let it proceed").click()
    assert "the payment goes ahead (the courier confirmed the parcel)" in page.locator("#resolution").inner_text()
    assert page.get_by_text("It was not on chain").is_visible() and accessible(page) == []
    resolved = served.get("/operator/alarms?state=resolved", headers=ADMIN_HEADERS).json()
    assert [(a["alarm_id"], a["resolution"]["proceed"]) for a in resolved] == [(str(alarm.id), True)]


def test_a_store_sees_its_campaign_reach_its_moq(page, served, service, chain, tmp_path):
    from .test_group_buy_flow import C, catalogue

    token = service.manifest.contract("TestStablecoin").address
    maker = Wallet(served, dev_account(2))
    key, login = staff(served, tmp_path, "maker", maker.address)
    catalogue(served, key)
    target = service.rpc.chain_time() + 10 * 86_400
    opened = maker.send(
        "/group-buy/open-campaign",
        {"sender": maker.address, "store_id": "maker", "scheme": C, "cycle": 1, "token": token,
         "deposit_per_unit": "2000", "max_quantity": 20, "target_date": str(target)},
    )  # fmt: skip
    campaign = next(e for e in opened["events"] if e["event"] == "CampaignOpened")["args"]["campaignId"]
    service.step()
    sign_in(page, tmp_path, login)
    page.wait_for_url("**/app/stores/maker")
    page.get_by_role("link", name="Group-buy campaigns").click()
    row = page.locator(f"#campaign-{campaign}")
    assert row.locator(".pledged").inner_text() == "0 / 8" and row.locator(".status").inner_text() == "open"
    assert "0.01 tUSD" in row.inner_text()  # 10,000 base units of a 6-decimal token
    for i, quantity in ((3, 5), (4, 3)):
        backer = Wallet(served, dev_account(i))
        backer.send("/group-buy/approve", {"owner": backer.address, "token": token, "amount": "1000000"})
        backer.send(
            "/group-buy/pledge",
            {"sender": backer.address, "campaign_id": str(campaign), "quantity": quantity,
             "confirmation_hash": "0x" + "c0" * 32},
        )  # fmt: skip
        service.step()
    page.wait_for_function(
        f"document.querySelector('#campaign-{campaign} .status')?.textContent === 'succeeded'", timeout=6_000
    )  # the page polls its table: no reload
    assert page.locator(f"#campaign-{campaign} .pledged").inner_text() == "8 / 8"
    shown = served.get(f"/campaigns/{campaign}").json()
    assert (shown["pledged"], shown["moq"], shown["status"]) == (8, 8, "succeeded")  # the API's numbers
    assert page.locator("canvas.depth").count() >= 1
    assert accessible(page) == []
    shot(page, "campaigns")


def test_a_buyer_sees_their_purchases_and_credit_limit(page, client, served, service, chain, tmp_path):
    from api.client import answer
    from api.web.money import in_units
    from tests.e2e.accounts import account_for

    from .test_reputation import settle

    key, _, _ = settle(client, service)  # a settled order of 25 tUSD, paid by dev account 1
    buyer = Wallet(client, dev_account(1))
    buyer.send("/settlements/confirm", {"key": key})
    service.step()
    headers = account_for(client, service, buyer, tmp_path, "ada@example.org")
    sign_in(page, tmp_path, "ada@example.org")
    page.wait_for_url("**/app/me")
    purchases = answer(client.get("/accounts/me/purchases", headers=headers))
    assert [p["capability"] for p in purchases] == ["settlement"]
    row = page.locator("table tbody tr").first
    assert "25 tUSD" in row.inner_text() and "corner-shop" in row.inner_text()
    limit = answer(client.get("/accounts/me/reputation", headers=headers))["credit_limit"]
    assert page.locator("#credit-limit").inner_text() == in_units(limit, 6, "tUSD")  # the API's limit, in units
    assert accessible(page) == []
    shot(page, "buyer")


def test_a_store_sees_its_cases_and_cross_border_orders_as_the_api_does(page, client, served, service, chain,
                                                                        tmp_path):  # fmt: skip
    from api.client import answer
    from api.web.money import in_units

    from .test_cross_border_flow import paid_order, quote, setup_history_and_rate
    from .test_liquor_flow import bought_case, listed_plan

    token = service.manifest.contract("TestStablecoin").address
    seller, buyer, warehouse = (
        Wallet(client, dev_account(2)),
        Wallet(client, dev_account(1)),
        Wallet(client, dev_account(6)),
    )
    _, login = staff(served, tmp_path, "cellar", seller.address)
    plan_id = listed_plan(client, service, seller, warehouse, token, cases=10)
    service.step()
    bought_case(client, service, buyer, warehouse, plan_id, "CASE-0001")
    setup_history_and_rate(service, client)
    order_id = paid_order(client, buyer, quote(client, buyer, seller, token))
    service.step()

    sign_in(page, tmp_path, login)
    page.wait_for_url("**/app/stores/cellar")
    page.get_by_role("link", name="Liquor cases").click()
    shown = answer(client.get(f"/liquor/plans/{plan_id}"))
    cells = page.locator(f"#plan-{plan_id} td").all_inner_texts()
    inventory = shown["inventory"]
    assert cells[0] == in_units(shown["unit_price"], 6, "tUSD")
    assert cells[1:] == [str(inventory[k]) for k in ("cases", "for_sale", "in_custody", "pledged", "redeeming",
                                                      "delivered")]  # fmt: skip
    assert (inventory["cases"], inventory["for_sale"], inventory["in_custody"]) == (10, 9, 1)
    assert accessible(page) == []
    shot(page, "cases")

    page.go_back()
    page.get_by_role("link", name="Cross-border orders").click()
    xb = answer(client.get(f"/cross-border/orders/{order_id}"))
    cells = page.locator(f"#xb-{order_id} td").all_inner_texts()
    assert cells[2:5] == [in_units(xb[k], 6, "tUSD") for k in ("price", "freight_held", "freight_paid")]
    freight = answer(client.get(f"/cross-border/quotes/{xb['snapshot_hash']}"))["freight"]
    groups = [f"{g} {len(freight['orders'][g])}" for g in ("S", "C", "F")]
    assert all(g in cells[5] for g in groups), (cells[5], groups)
    assert accessible(page) == []
    shot(page, "cross-border")
