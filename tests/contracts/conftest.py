"""Contract fixtures on ape's in-process chain."""

import time

import ape
import pytest

DAY = 86_400
ORDER = b"A-1001".ljust(32, b"\0")
SNAPSHOT = b"\x11" * 32


@pytest.fixture(scope="module", autouse=True)
def chain_ahead_of_the_clock():
    """The in-process chain a year ahead of the wall clock: a new block's time is then its
    parent's plus one second (not the wall clock's), so that a derandomized stateful test
    plays the same chain times however busy the machine is."""
    ahead = int(time.time()) + 365 * DAY
    if ape.chain.pending_timestamp < ahead:
        ape.chain.mine(1, timestamp=ahead)


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def buyer(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def store(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def arbiter(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def stranger(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def token(project, owner, accounts):
    t = project.TestStablecoin.deploy(owner, sender=owner)
    for account in accounts[:8]:
        t.mint(account, 10**15, sender=owner)
    return t


@pytest.fixture(scope="module")
def settlement(project, owner, arbiter, token, accounts):
    s = project.C2CSettlement.deploy(owner, arbiter, 10 * DAY, 3600, 90 * DAY, 7 * DAY, 30 * DAY, 3 * DAY,
                                     sender=owner)
    s.setTokenAllowed(token, True, sender=owner)
    for account in accounts[:8]:
        token.approve(s, 2**256 - 1, sender=account)
    return s


@pytest.fixture
def key(store, buyer, token):
    return (store.address, ORDER, buyer.address, buyer.address, token.address)



def deploy_liquor(project, owner):
    """The liquor contract, with the reader that serves its views."""
    reader = project.LiquorCasesReader.deploy(sender=owner)
    return project.LiquorCases.deploy(owner, reader, sender=owner)


def liquor_views(project, liquor):
    """The reader's functions, called at the liquor contract's address (delegated there)."""
    return project.LiquorCasesReader.at(liquor.address)
