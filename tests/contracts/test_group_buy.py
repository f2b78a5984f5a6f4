"""GroupBuy on ape's in-process chain: campaigns that succeed at the MOQ, fail and refund,
change their targets within bounds, and every refusal."""

import ape
import pytest

from .conftest import DAY

SCHEME = b"\x5c" * 32
CONFIRMATION = b"\xc0" * 32
PRICE, DEPOSIT = 100_000_000, 20_000_000
OPEN, SUCCEEDED, FAILED, CANCELLED = range(4)


@pytest.fixture(scope="module")
def enterprise(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def backers(accounts):
    return accounts[5], accounts[6], accounts[7]


@pytest.fixture(scope="module")
def group_buy(project, owner, token, accounts):
    c = project.GroupBuy.deploy(owner, sender=owner)
    c.setTokenAllowed(token, True, sender=owner)
    for account in accounts[:8]:
        token.approve(c, 2**256 - 1, sender=account)
    return c


def open_campaign(group_buy, enterprise, token, moq=10, maximum=30, days=30):
    receipt = group_buy.openCampaign(SCHEME, 1, token, PRICE, DEPOSIT, moq, maximum,
                                     ape.chain.pending_timestamp + days * DAY, sender=enterprise)
    return receipt.decode_logs(group_buy.CampaignOpened)[0].campaignId


@pytest.fixture
def campaign(group_buy, enterprise, token):
    return open_campaign(group_buy, enterprise, token)


def later(seconds: int) -> None:
    ape.chain.pending_timestamp += seconds
    ape.chain.mine()


def test_opening_needs_an_allowed_token_sane_terms_and_a_target_within_a_year(project, group_buy, enterprise,
                                                                                token, owner):
    other = project.TestStablecoin.deploy(owner, sender=owner)
    now = ape.chain.pending_timestamp
    with ape.reverts(group_buy.TokenNotAllowed, token=other.address):
        group_buy.openCampaign(SCHEME, 1, other, PRICE, DEPOSIT, 10, 30, now + DAY, sender=enterprise)
    for price, deposit, moq, maximum in ((PRICE, 0, 10, 30), (PRICE, PRICE + 1, 10, 30), (PRICE, DEPOSIT, 0, 30),
                                         (PRICE, DEPOSIT, 10, 9)):
        with ape.reverts(group_buy.InvalidTerms):
            group_buy.openCampaign(SCHEME, 1, token, price, deposit, moq, maximum, now + DAY, sender=enterprise)
    with ape.reverts(group_buy.TargetOutOfRange):
        group_buy.openCampaign(SCHEME, 1, token, PRICE, DEPOSIT, 10, 30, now + 366 * DAY, sender=enterprise)


def test_pledges_hold_deposits_and_the_one_reaching_the_moq_triggers_production(group_buy, campaign, token,
                                                                               backers, enterprise):
    a, b, c = backers
    before = token.balanceOf(a)
    receipt = group_buy.pledge(campaign, 4, CONFIRMATION, sender=a)
    log = receipt.decode_logs(group_buy.Pledged)[0]
    assert (log.quantity, log.deposit, log.confirmationHash, log.pledged) == (4, 4 * DEPOSIT, CONFIRMATION, 4)
    assert token.balanceOf(a) == before - 4 * DEPOSIT and token.balanceOf(group_buy) == 4 * DEPOSIT
    assert not receipt.decode_logs(group_buy.ProductionTriggered)
    group_buy.pledge(campaign, 5, CONFIRMATION, sender=b)
    assert group_buy.status(campaign) == OPEN
    receipt = group_buy.pledge(campaign, 1, CONFIRMATION, sender=c)
    triggered = receipt.decode_logs(group_buy.ProductionTriggered)
    assert [(t.pledged, t.moq) for t in triggered] == [(10, 10)]
    assert group_buy.status(campaign) == SUCCEEDED
    # Pledges go on up to the maximum; production is not triggered twice.
    receipt = group_buy.pledge(campaign, 20, CONFIRMATION, sender=a)
    assert not receipt.decode_logs(group_buy.ProductionTriggered)
    with ape.reverts(group_buy.OverMaximum, campaignId=campaign, available=0):
        group_buy.pledge(campaign, 1, CONFIRMATION, sender=b)
    assert group_buy.backings(campaign, a).quantity == 24


def test_after_success_the_enterprise_collects_every_deposit_and_refunds_are_refused(group_buy, campaign, token,
                                                                                     backers, enterprise):
    a, b, _ = backers
    group_buy.pledge(campaign, 10, CONFIRMATION, sender=a)
    with ape.reverts(group_buy.NotEnterprise):
        group_buy.collect(campaign, sender=b)
    before = token.balanceOf(enterprise)
    group_buy.collect(campaign, sender=enterprise)
    assert token.balanceOf(enterprise) == before + 10 * DEPOSIT
    with ape.reverts(group_buy.NothingToCollect):
        group_buy.collect(campaign, sender=enterprise)
    group_buy.pledge(campaign, 2, CONFIRMATION, sender=b)   # a later pledge: collected later
    group_buy.collect(campaign, sender=enterprise)
    assert token.balanceOf(enterprise) == before + 12 * DEPOSIT and token.balanceOf(group_buy) == 0
    later(31 * DAY)
    with ape.reverts(group_buy.NoRefund):
        group_buy.refund(campaign, sender=a)
    with ape.reverts(group_buy.NotOpen):   # the target date passed: no more pledges
        group_buy.pledge(campaign, 1, CONFIRMATION, sender=a)


def test_below_the_moq_at_the_target_date_it_fails_and_each_backer_refunds_once(group_buy, campaign, token,
                                                                                backers, enterprise):
    a, b, c = backers
    group_buy.pledge(campaign, 3, CONFIRMATION, sender=a)
    group_buy.pledge(campaign, 2, CONFIRMATION, sender=b)
    group_buy.pledge(campaign, 1, CONFIRMATION, sender=a)
    with ape.reverts(group_buy.NoRefund):   # not failed yet
        group_buy.refund(campaign, sender=a)
    later(31 * DAY)
    assert group_buy.status(campaign) == FAILED
    with ape.reverts(group_buy.NotOpen):
        group_buy.pledge(campaign, 10, CONFIRMATION, sender=c)
    with ape.reverts(group_buy.NotSucceeded):
        group_buy.collect(campaign, sender=enterprise)
    before = token.balanceOf(a)
    receipt = group_buy.refund(campaign, sender=a)
    assert [(r.backer, r.amount, r.credited) for r in receipt.decode_logs(group_buy.Refunded)] == [
        (a.address, 4 * DEPOSIT, False)]
    assert token.balanceOf(a) == before + 4 * DEPOSIT
    with ape.reverts(group_buy.NoRefund):
        group_buy.refund(campaign, sender=a)
    with ape.reverts(group_buy.NoRefund):   # never backed it
        group_buy.refund(campaign, sender=c)
    group_buy.refund(campaign, sender=b)
    assert token.balanceOf(group_buy) == 0


def test_a_blocked_backer_is_credited_and_blocks_nobody(project, owner, enterprise, backers):
    blocking = project.TestBlocklistToken.deploy(owner, sender=owner)
    c = project.GroupBuy.deploy(owner, sender=owner)
    c.setTokenAllowed(blocking, True, sender=owner)
    a, b, _ = backers
    for backer in (a, b):
        blocking.mint(backer, 10**12, sender=owner)
        blocking.approve(c, 2**256 - 1, sender=backer)
    campaign = open_campaign(c, enterprise, blocking)
    c.pledge(campaign, 2, CONFIRMATION, sender=a)
    c.pledge(campaign, 3, CONFIRMATION, sender=b)
    blocking.setBlocked(a, True, sender=owner)
    later(31 * DAY)
    receipt = c.refund(campaign, sender=a)
    assert receipt.decode_logs(c.Refunded)[0].credited
    assert c.credits(blocking, a) == 2 * DEPOSIT
    c.refund(campaign, sender=b)
    assert blocking.balanceOf(b) == 10**12
    c.claimCredit(blocking, b, sender=a)   # to an address it names
    assert blocking.balanceOf(c) == 0


def test_the_enterprise_lowers_the_moq_and_production_triggers_at_once(group_buy, campaign, backers, enterprise):
    a, b, _ = backers
    group_buy.pledge(campaign, 6, CONFIRMATION, sender=a)
    with ape.reverts(group_buy.NotEnterprise):
        group_buy.lowerMoq(campaign, 6, sender=b)
    with ape.reverts(group_buy.MoqNotLower):
        group_buy.lowerMoq(campaign, 10, sender=enterprise)
    with ape.reverts(group_buy.MoqNotLower):
        group_buy.lowerMoq(campaign, 0, sender=enterprise)
    receipt = group_buy.lowerMoq(campaign, 8, sender=enterprise)
    assert [(m.previousMoq, m.moq) for m in receipt.decode_logs(group_buy.MoqLowered)] == [(10, 8)]
    assert not receipt.decode_logs(group_buy.ProductionTriggered)
    receipt = group_buy.lowerMoq(campaign, 6, sender=enterprise)
    assert [t.pledged for t in receipt.decode_logs(group_buy.ProductionTriggered)] == [6]
    with ape.reverts(group_buy.NotOpen):   # a succeeded campaign's targets are settled
        group_buy.lowerMoq(campaign, 5, sender=enterprise)
    assert group_buy.campaigns(campaign).depositPerUnit == DEPOSIT


def test_the_target_date_extends_within_a_year_of_opening_and_not_after_failure(group_buy, campaign, enterprise):
    opened = group_buy.campaigns(campaign).openedAt
    target = group_buy.campaigns(campaign).targetDate
    with ape.reverts(group_buy.TargetOutOfRange):
        group_buy.extendTargetDate(campaign, target, sender=enterprise)
    with ape.reverts(group_buy.TargetOutOfRange):
        group_buy.extendTargetDate(campaign, opened + 365 * DAY + 1, sender=enterprise)
    receipt = group_buy.extendTargetDate(campaign, target + 10 * DAY, sender=enterprise)
    assert [(e.previousTargetDate, e.targetDate) for e in receipt.decode_logs(group_buy.TargetDateExtended)] == [
        (target, target + 10 * DAY)]
    later(41 * DAY)
    with ape.reverts(group_buy.NotOpen):
        group_buy.extendTargetDate(campaign, target + 20 * DAY, sender=enterprise)


def test_a_cancelled_campaign_refunds_at_once_and_takes_no_pledges(group_buy, campaign, backers, enterprise, token):
    a, b, _ = backers
    group_buy.pledge(campaign, 2, CONFIRMATION, sender=a)
    with ape.reverts(group_buy.NotEnterprise):
        group_buy.cancel(campaign, sender=a)
    group_buy.cancel(campaign, sender=enterprise)
    assert group_buy.status(campaign) == CANCELLED
    with ape.reverts(group_buy.NotOpen):
        group_buy.pledge(campaign, 1, CONFIRMATION, sender=b)
    before = token.balanceOf(a)
    group_buy.refund(campaign, sender=a)
    assert token.balanceOf(a) == before + 2 * DEPOSIT


def test_a_succeeded_campaign_cannot_be_cancelled(group_buy, campaign, backers, enterprise):
    group_buy.pledge(campaign, 10, CONFIRMATION, sender=backers[0])
    with ape.reverts(group_buy.NotOpen):
        group_buy.cancel(campaign, sender=enterprise)


def test_unknown_campaigns_are_refused(group_buy, backers):
    with ape.reverts(group_buy.InvalidCampaign, campaignId=999):
        group_buy.pledge(999, 1, CONFIRMATION, sender=backers[0])
    with ape.reverts(group_buy.InvalidCampaign):
        group_buy.status(999)
