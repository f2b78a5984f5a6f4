"""Given a webhook delivery (a production instruction, a store notice, a buyer's notice), when
its attempts fail, then it is retried after a doubling back-off until its kind's last attempt,
after which it is a dead letter that is never tried again until the operator replays it; a
replay starts again from the first back-off, and only a dead letter can be replayed."""

from __future__ import annotations

import pytest

from engine.deliveries import BACKOFF_FIRST, BACKOFF_MAX, backoff
from engine.delivery.notices import MAX_ATTEMPTS, BuyerNotice
from engine.instructions import WEBHOOK_ATTEMPTS, Notice, ProductionInstruction

T0 = 1_800_000_000.0


def instruction() -> ProductionInstruction:
    return ProductionInstruction(chain_id=1, campaign_id=7, store_id="maker", url="http://x", body={}, created_at=T0)


def store_notice() -> Notice:
    return Notice(chain_id=1, subject="top-up 7", store_id="maker", url="http://x", body={}, created_at=T0)


def buyer_notice() -> BuyerNotice:
    return BuyerNotice(subject="shipped c-1 s", channel="sms", kind="shipped", login="ada", checkout_id="c-1",
                       store_id="s", to="+447911123456", body={"text": "hi"}, created_at=T0)  # fmt: skip


def test_the_back_off_doubles_from_two_seconds_to_an_hour():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [BACKOFF_FIRST, 4.0, 8.0, 16.0]
    assert backoff(30) == BACKOFF_MAX == 3600.0
    # A store's webhook is given about six hours before it is a dead letter.
    assert 5 * 3600 < sum(backoff(n) for n in range(1, WEBHOOK_ATTEMPTS)) < 7 * 3600


@pytest.mark.parametrize(
    ("make", "attempts"),
    [(instruction, WEBHOOK_ATTEMPTS), (store_notice, WEBHOOK_ATTEMPTS), (buyer_notice, MAX_ATTEMPTS)],
)
def test_each_kind_is_a_dead_letter_after_its_last_attempt_until_replayed(make, attempts):
    delivery = make()
    assert delivery.due(T0) and delivery.state == "pending"
    now = T0
    for n in range(1, attempts):
        delivery.failed(now, "HTTP 503")
        assert delivery.state == "retrying" and delivery.attempts == n
        assert not delivery.due(now + backoff(n) - 1) and delivery.due(now + backoff(n))
        now += backoff(n)
    with pytest.raises(ValueError, match="not a dead letter"):
        delivery.replay(now)
    delivery.failed(now, "HTTP 503")
    assert delivery.state == "dead" and delivery.attempts == attempts
    assert not delivery.due(now + 10 * BACKOFF_MAX)  # never tried again on its own
    delivery.replay(now + 60)
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("pending", 0, "HTTP 503")
    assert delivery.due(now + 60)
    delivery.delivered(at=now + 61, status=204)
    assert delivery.state == "delivered" and not delivery.due(now + 10 * BACKOFF_MAX)
    kinds = [type(e).__name__ for e in delivery.collect_events()]
    assert kinds.count("Attempted") == attempts and kinds[-3:] == ["Dead", "Replayed", "Delivered"]


def test_a_store_may_cancel_its_held_shipment_but_only_the_operator_lets_it_proceed():
    from engine.delivery.order import Alarm, OrderRefused

    errors = [{"store_id": "s", "reason": "waybill_unknown", "sku": None, "detail": None}]
    alarm = Alarm(checkout_id="c-1", store_id="s", n=1, errors=errors, at=T0)
    with pytest.raises(OrderRefused, match="only the operator"):
        alarm.resolve("store s", True, "it arrived, really", T0 + 1, party="store")
    assert alarm.state == "open"
    alarm.resolve("store s", False, "the parcel was lost", T0 + 2, party="store")
    assert alarm.resolution == {"by": "store s", "proceed": False, "reason": "the parcel was lost", "at": T0 + 2}
    other = Alarm(checkout_id="c-2", store_id="s", n=1, errors=errors, at=T0)
    other.resolve("operator", True, "the courier confirmed it", T0 + 3)
    assert other.resolution["proceed"] is True
