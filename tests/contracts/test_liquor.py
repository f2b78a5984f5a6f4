"""LiquorCases on ape's in-process chain: every step of a case's life, and every refusal."""

import ape
import pytest
from eth_account.messages import encode_typed_data
from eth_keys import keys
from eth_utils import keccak
from eth_tester.exceptions import TransactionFailed
from web3.exceptions import ContractLogicError

from .conftest import DAY, deploy_liquor, liquor_views

PRICE = 3_000_000
FACTS = keccak(text='{"name":"Old Reserve","vintage":2015}')
TERMS = keccak(text="custody terms v1")
CIPHERTEXT = b"\x04" + b"\x77" * 120  # what eciespy makes of an address (opaque to the contract)
CODE = b"4711-door"
IN_CUSTODY, PLEDGED, REDEEMING, DISPATCHED = range(4)
ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def producer(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def warehouse(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def lender(accounts):
    return accounts[7]


@pytest.fixture(scope="module")
def liquor(project, owner, token, accounts):
    c = deploy_liquor(project, owner)
    c.setTokenAllowed(token, True, sender=owner)
    c.setBaseURI("https://shop.example/cases/", sender=owner)
    for account in accounts[:8]:
        token.approve(c, 2**256 - 1, sender=account)
    return c


@pytest.fixture
def plan(liquor, producer, warehouse, token):
    receipt = liquor.createPlan(FACTS, 10, PRICE, token, warehouse, TERMS, 30 * DAY, sender=producer)
    return receipt.decode_logs(liquor.PlanCreated)[0].planId


def typed(liquor, primary, fields, message):
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: [{"name": n, "type": t} for n, t in fields],
        },
        "primaryType": primary,
        "domain": {
            "name": "LiquorCases",
            "version": "1",
            "chainId": ape.chain.chain_id,
            "verifyingContract": liquor.address,
        },
        "message": message,
    }


def sign(account, data) -> bytes:
    sig = account.sign_message(encode_typed_data(full_message=data))
    return sig.encode_rsv()  # r and s padded to 32 bytes each (short when they begin with a zero byte)


def custody(liquor, buyer, plan, quantity, lender=ZERO, interest=0, term=0, deadline=2**40, signer=None):
    request = (plan, quantity, buyer.address, lender, interest, term, deadline)
    data = typed(
        liquor,
        "CustodyAgreement",
        [
            ("planId", "uint256"),
            ("quantity", "uint256"),
            ("termsHash", "bytes32"),
            ("lender", "address"),
            ("interestPerCase", "uint256"),
            ("loanTerm", "uint256"),
            ("nonce", "uint256"),
            ("deadline", "uint256"),
        ],
        {
            "planId": plan,
            "quantity": quantity,
            "termsHash": TERMS,
            "lender": lender,
            "interestPerCase": interest,
            "loanTerm": term,
            "nonce": liquor.nonces(buyer),
            "deadline": deadline,
        },
    )
    return request, sign(signer or buyer, data)


def offer(liquor, lender, token_id, principal, interest, due, deadline=2**40):
    data = typed(
        liquor,
        "LoanOffer",
        [
            ("tokenId", "uint256"),
            ("principal", "uint256"),
            ("interest", "uint256"),
            ("dueAt", "uint256"),
            ("lender", "address"),
            ("nonce", "uint256"),
            ("deadline", "uint256"),
        ],
        {
            "tokenId": token_id,
            "principal": principal,
            "interest": interest,
            "dueAt": due,
            "lender": lender.address,
            "nonce": liquor.nonces(lender),
            "deadline": deadline,
        },
    )
    return (principal, interest, due, lender.address, deadline, sign(lender, data))


def pickup(liquor, holder, token_id, ciphertext=CIPHERTEXT, code=CODE, deadline=2**40):
    data = typed(
        liquor,
        "PickupRequest",
        [
            ("tokenId", "uint256"),
            ("ciphertextHash", "bytes32"),
            ("codeHash", "bytes32"),
            ("nonce", "uint256"),
            ("deadline", "uint256"),
        ],
        {
            "tokenId": token_id,
            "ciphertextHash": keccak(ciphertext),
            "codeHash": keccak(code),
            "nonce": liquor.nonces(holder),
            "deadline": deadline,
        },
    )
    return (token_id, ciphertext, keccak(code), deadline, sign(holder, data))


def bought(liquor, buyer, plan, quantity=1, payer=None, **loan):
    request, signature = custody(liquor, buyer, plan, quantity, **loan)
    receipt = liquor.buy(request, signature, sender=payer or buyer)
    return receipt.decode_logs(liquor.Purchased)[0].purchaseId


def a_case(liquor, buyer, warehouse, plan, code=b"BOX-0001"):
    purchase = bought(liquor, buyer, plan)
    receipt = liquor.outbound(purchase, code.ljust(32, b"\0"), sender=warehouse)
    return receipt.decode_logs(liquor.CaseOutbound)[0].tokenId


# -- sale plan, purchase, outbound (S1-S5)


def test_a_plan_needs_an_allowed_token_and_a_sane_window(project, liquor, producer, warehouse, token, owner):
    other = project.TestStablecoin.deploy(owner, sender=owner)
    with ape.reverts(liquor.TokenNotAllowed, token=other.address):
        liquor.createPlan(FACTS, 10, PRICE, other, warehouse, TERMS, 30 * DAY, sender=producer)
    with ape.reverts(liquor.WindowOutOfRange):
        liquor.createPlan(FACTS, 10, PRICE, token, warehouse, TERMS, 0, sender=producer)


def test_a_purchase_holds_the_price_under_the_signed_custody_agreement(liquor, token, buyer, stranger, plan):
    request, signature = custody(liquor, buyer, plan, 2, signer=stranger)
    with ape.reverts(liquor.BadSignature, signer=buyer.address):
        liquor.buy(request, signature, sender=buyer)
    before = token.balanceOf(buyer)
    receipt = liquor.buy(*custody(liquor, buyer, plan, 2), sender=buyer)
    purchased = receipt.decode_logs(liquor.Purchased)[0]
    assert (purchased.buyer, purchased.quantity, purchased.amount, purchased.termsHash) == (
        buyer.address,
        2,
        2 * PRICE,
        TERMS,
    )
    assert token.balanceOf(buyer) == before - 2 * PRICE and token.balanceOf(liquor) == 2 * PRICE
    with ape.reverts(liquor.SoldOut, available=8):
        liquor.buy(*custody(liquor, buyer, plan, 9), sender=buyer)
    with ape.reverts(liquor.Expired):
        liquor.buy(*custody(liquor, buyer, plan, 1, deadline=1), sender=buyer)


def test_outbound_mints_the_case_with_its_code_and_pays_the_producer(
    liquor, token, buyer, producer, warehouse, stranger, plan
):
    purchase = bought(liquor, buyer, plan, 2)
    code = b"BOX-0001".ljust(32, b"\0")
    with ape.reverts(liquor.NotWarehouse):
        liquor.outbound(purchase, code, sender=stranger)
    before = token.balanceOf(producer)
    receipt = liquor.outbound(purchase, code, sender=warehouse)
    minted = receipt.decode_logs(liquor.CaseOutbound)[0]
    assert liquor.ownerOf(minted.tokenId) == buyer.address and minted.caseCode == code
    assert token.balanceOf(producer) == before + PRICE
    assert not liquor.locked(minted.tokenId)
    with ape.reverts(liquor.CaseCodeUsed):
        liquor.outbound(purchase, code, sender=warehouse)
    assert liquor.tokenURI(minted.tokenId) == f"https://shop.example/cases/{minted.tokenId}/metadata"
    assert liquor.supportsInterface(bytes.fromhex("b45a3c0e"))  # ERC-5192


def test_units_not_assigned_in_the_window_are_refunded_to_the_payer(
    liquor, token, buyer, warehouse, stranger, plan, chain, accounts
):
    purchase = bought(liquor, buyer, plan, 3)
    liquor.outbound(purchase, b"BOX-A".ljust(32, b"\0"), sender=warehouse)
    with ape.reverts(liquor.WindowOpen):
        liquor.cancelUnassigned(purchase, sender=buyer)
    chain.pending_timestamp += 30 * DAY
    with ape.reverts(liquor.NotPayer):
        liquor.cancelUnassigned(purchase, sender=stranger)
    cancelled = liquor.cancelUnassigned(purchase, sender=buyer).decode_logs(liquor.PurchaseCancelled)[0]
    assert (cancelled.units, cancelled.refund) == (2, 2 * PRICE)
    with ape.reverts(liquor.NothingToAssign):
        liquor.outbound(purchase, b"BOX-B".ljust(32, b"\0"), sender=warehouse)
    elsewhere = accounts[9]
    before = token.balanceOf(elsewhere)
    liquor.claimCredit(token, elsewhere, sender=buyer)
    assert token.balanceOf(elsewhere) == before + 2 * PRICE
    assert token.balanceOf(liquor) == 0


# -- gift (A)


def test_a_holder_gives_a_case_away(liquor, buyer, stranger, warehouse, plan):
    case = a_case(liquor, buyer, warehouse, plan)
    with ape.reverts(liquor.NotHolder):
        liquor.gift(case, stranger, b"\x01" * 32, sender=stranger)
    gifted = liquor.gift(case, stranger, b"\x01" * 32, sender=buyer).decode_logs(liquor.CaseGifted)[0]
    assert (gifted["from"], gifted.to) == (buyer.address, stranger.address)
    assert liquor.ownerOf(case) == stranger.address
    liquor.transferFrom(stranger, buyer, case, sender=stranger)  # plain ERC-721 transfers work too
    assert liquor.ownerOf(case) == buyer.address


# -- pledge (C) and loan purchase (B)


def test_a_pledged_case_is_locked_to_the_lender_until_repaid(
    liquor, token, buyer, lender, stranger, warehouse, plan, chain
):
    case = a_case(liquor, buyer, warehouse, plan)
    due = chain.pending_timestamp + 10 * DAY
    holder_before, lender_before = token.balanceOf(buyer), token.balanceOf(lender)
    signed = offer(liquor, lender, case, 2_000_000, 100_000, due)
    receipt = liquor.pledge(case, *signed, sender=buyer)
    assert receipt.decode_logs(liquor.Locked)[0].tokenId == case
    assert liquor.locked(case) and token.balanceOf(buyer) == holder_before + 2_000_000
    for move in (
        lambda: liquor.gift(case, stranger, b"\x02" * 32, sender=buyer),
        lambda: liquor.transferFrom(buyer, stranger, case, sender=buyer),
        lambda: liquor.requestPickup(*pickup(liquor, buyer, case), sender=buyer),
    ):
        with ape.reverts(liquor.CaseLocked):
            move()
    with ape.reverts(liquor.NotDue):
        liquor.seize(case, sender=lender)
    repaid = liquor.repay(case, sender=stranger)  # anyone, for the holder
    assert repaid.decode_logs(liquor.Unlocked)[0].tokenId == case
    assert token.balanceOf(lender) == lender_before - 2_000_000 + 2_100_000 and not liquor.locked(case)
    with ape.reverts(liquor.InvalidCaseState):
        liquor.repay(case, sender=stranger)
    with ape.reverts(liquor.BadSignature):  # an offer is accepted once
        liquor.pledge(case, *signed, sender=buyer)


def test_an_unpaid_pledge_is_seized_after_the_due_date_and_cannot_be_repaid_after(
    liquor, buyer, lender, stranger, warehouse, plan, chain
):
    case = a_case(liquor, buyer, warehouse, plan)
    due = chain.pending_timestamp + 5 * DAY
    liquor.pledge(case, *offer(liquor, lender, case, 1_000_000, 50_000, due), sender=buyer)
    chain.pending_timestamp += 6 * DAY
    with ape.reverts(liquor.NotLender):
        liquor.seize(case, sender=stranger)
    liquor.seize(case, sender=lender)
    assert liquor.ownerOf(case) == lender.address and not liquor.locked(case)
    with ape.reverts(liquor.InvalidCaseState):
        liquor.repay(case, sender=buyer)


def test_a_loan_purchase_mints_cases_already_pledged_to_the_lender(liquor, token, buyer, lender, warehouse, plan):
    term = 60 * DAY
    with ape.reverts(liquor.NotLender):
        liquor.buy(*custody(liquor, buyer, plan, 1, lender=lender.address, interest=10_000, term=term), sender=buyer)
    for wrong in (0, 3650 * DAY + 1):
        with ape.reverts(liquor.InvalidAmount, amount=wrong):
            bought(liquor, buyer, plan, 1, payer=lender, lender=lender.address, interest=10_000, term=wrong)
    purchase = bought(liquor, buyer, plan, 1, payer=lender, lender=lender.address, interest=10_000, term=term)
    receipt = liquor.outbound(purchase, b"BOX-LOAN".ljust(32, b"\0"), sender=warehouse)
    case = receipt.decode_logs(liquor.CaseOutbound)[0].tokenId
    pledged = receipt.decode_logs(liquor.Pledged)[0]
    assert (pledged.lender, pledged.principal, pledged.interest, pledged.dueAt) == (
        lender.address,
        PRICE,
        10_000,
        receipt.timestamp + term,
    )
    assert liquor.ownerOf(case) == buyer.address and liquor.locked(case)
    before = token.balanceOf(lender)
    liquor.repay(case, sender=buyer)
    assert token.balanceOf(lender) == before + PRICE + 10_000


# -- pickup and delivery (S6, S7)


def test_a_pickup_locks_the_case_until_delivery_burns_it_and_its_code_never_returns(
    liquor, buyer, stranger, warehouse, plan
):
    case = a_case(liquor, buyer, warehouse, plan, b"BOX-PICK")
    with ape.reverts(liquor.BadSignature):
        liquor.requestPickup(*pickup(liquor, stranger, case), sender=stranger)  # not the holder's signature
    requested = liquor.requestPickup(*pickup(liquor, buyer, case), sender=stranger)  # relayed for the holder
    assert requested.decode_logs(liquor.PickupRequested)[0].ciphertext == CIPHERTEXT
    assert liquor.locked(case)
    liquor.cancelPickup(case, sender=buyer)
    assert not liquor.locked(case)
    liquor.requestPickup(*pickup(liquor, buyer, case), sender=buyer)
    liquor.dispatch(case, sender=warehouse)
    with ape.reverts(liquor.InvalidCaseState):
        liquor.cancelPickup(case, sender=buyer)
    with ape.reverts(liquor.WrongPickupCode):
        liquor.confirmDelivery(case, b"wrong", sender=warehouse)
    with ape.reverts(liquor.NotWarehouse):
        liquor.confirmDelivery(case, CODE, sender=stranger)
    delivered = liquor.confirmDelivery(case, CODE, sender=warehouse).decode_logs(liquor.Delivered)[0]
    assert delivered.caseCode == b"BOX-PICK".ljust(32, b"\0")
    with ape.reverts():
        liquor.ownerOf(case)
    again = bought(liquor, buyer, plan)
    with ape.reverts(liquor.CaseCodeUsed):
        liquor.outbound(again, b"BOX-PICK".ljust(32, b"\0"), sender=warehouse)


def test_a_failed_delivery_returns_the_case_to_custody(liquor, buyer, warehouse, plan):
    case = a_case(liquor, buyer, warehouse, plan, b"BOX-BACK")
    liquor.requestPickup(*pickup(liquor, buyer, case), sender=buyer)
    liquor.dispatch(case, sender=warehouse)
    liquor.returnToCustody(case, sender=warehouse)
    assert not liquor.locked(case) and liquor.ownerOf(case) == buyer.address


def test_the_warehouse_publishes_only_its_own_key(project, liquor, warehouse, stranger):
    public = keys.PrivateKey(bytes.fromhex(warehouse.private_key[2:])).public_key.to_bytes()
    with ape.reverts(liquor.KeyNotOfSender):
        liquor.setWarehouseKey(public, sender=stranger)
    liquor.setWarehouseKey(public, sender=warehouse)
    assert liquor_views(project, liquor).warehouseKey(warehouse) == public


def test_the_warehouse_ships_a_loan_case_late(liquor, buyer, lender, warehouse, plan, chain):
    """An outbound long after the signed terms (inside the fulfilment window, or in league
    with the lender) still gives the buyer the whole loan term: the lender cannot seize a
    case its holder never had the time to repay."""
    term = 10 * DAY
    purchase = bought(liquor, buyer, plan, 1, payer=lender, lender=lender.address, interest=10_000, term=term)
    chain.pending_timestamp += 25 * DAY  # past the term counted from the purchase
    receipt = liquor.outbound(purchase, b"BOX-LATE".ljust(32, b"\0"), sender=warehouse)
    case = receipt.decode_logs(liquor.CaseOutbound)[0].tokenId
    assert receipt.decode_logs(liquor.Pledged)[0].dueAt == receipt.timestamp + term
    with ape.reverts(liquor.NotDue):
        liquor.seize(case, sender=lender)  # not in the same block, nor before the term ran from the outbound
    chain.pending_timestamp += term - 60
    with ape.reverts(liquor.NotDue):
        liquor.seize(case, sender=lender)
    liquor.repay(case, sender=buyer)  # the buyer repays in time and keeps its case
    assert liquor.ownerOf(case) == buyer.address and not liquor.locked(case)


def test_a_stale_pickup_request_is_relayed_weeks_later(liquor, buyer, stranger, warehouse, plan, chain):
    """A signed pickup request carries a deadline; past it, or once the holder voided it, no
    relayer can put the case into redemption with an old address."""
    case = a_case(liquor, buyer, warehouse, plan, b"BOX-OLD1")
    deadline = chain.pending_timestamp + DAY
    stale = pickup(liquor, buyer, case, deadline=deadline)
    chain.pending_timestamp += 21 * DAY
    with ape.reverts(liquor.Expired, deadline=deadline):
        liquor.requestPickup(*stale, sender=stranger)
    unwanted = pickup(liquor, buyer, case)  # signed, then the holder changed its mind
    voided = liquor.invalidateNonce(sender=buyer).decode_logs(liquor.NonceInvalidated)[0]
    assert (voided.account, voided.nonce) == (buyer.address, liquor.nonces(buyer) - 1)
    with ape.reverts(liquor.BadSignature):
        liquor.requestPickup(*unwanted, sender=stranger)
    assert not liquor.locked(case)
    liquor.requestPickup(*pickup(liquor, buyer, case), sender=stranger)  # a fresh request still works
    assert liquor.locked(case)


def test_the_views_are_read_at_the_liquor_contract_through_its_reader(
    project, liquor, owner, token, buyer, warehouse, plan
):
    """The reader serves the liquor contract's views on its storage: a plan, a purchase and a
    case read at the liquor contract's address are what it holds; the EIP-712 domain names the
    liquor contract; the reader at its own address holds nothing; ether and unknown calls are
    refused."""
    views = liquor_views(project, liquor)
    assert views.planCount() == 1 and views.plans(plan).warehouse == warehouse.address
    assert views.plans(plan).cases == 10 and views.plans(plan).termsHash == TERMS
    purchase_id = bought(liquor, buyer, plan)
    assert views.purchases(purchase_id).buyer == buyer.address and views.purchaseCount() == 1
    code = b"BOX-0042".ljust(32, b"\0")
    receipt = liquor.outbound(purchase_id, code, sender=warehouse)
    token_id = receipt.decode_logs(liquor.CaseOutbound)[0].tokenId
    assert views.caseOf(token_id).caseCode == code and views.caseCodeUsed(code) and views.caseCount() == 1
    fields, name, version, chain_id, verifying, _salt, _ext = views.eip712Domain()
    assert (fields, name, version, verifying) == (b"\x0f", "LiquorCases", "1", liquor.address)
    assert views.CUSTODY_TYPEHASH() == keccak(
        text="CustodyAgreement(uint256 planId,uint256 quantity,bytes32 "
        "termsHash,address lender,uint256 interestPerCase,uint256 loanTerm,"
        "uint256 nonce,uint256 deadline)"
    )
    own = project.LiquorCasesReader.deploy(sender=owner)  # a reader called at its own address
    assert own.planCount() == 0 and own.plans(plan).warehouse == ZERO
    web3 = ape.chain.provider.web3
    for call in ({"value": 1}, {"data": keccak(text="nothing()")[:4]}):  # ether, a function nobody has
        with pytest.raises((ContractLogicError, TransactionFailed)):  # web3 on a node, eth-tester in process
            web3.eth.call({"from": owner.address, "to": liquor.address, **call})
    with pytest.raises(ape.exceptions.ContractLogicError) as refused:  # a reader that is no contract
        project.LiquorCases.deploy(owner, buyer, sender=owner)
    assert type(refused.value).__name__ == "NoReader"


def test_a_stranger_cannot_cancel_a_holders_pickup_nor_anyone_a_burned_cases(liquor, buyer, stranger, warehouse, plan):
    case = a_case(liquor, buyer, warehouse, plan, b"BOX-STRANGER")
    liquor.requestPickup(*pickup(liquor, buyer, case), sender=buyer)
    with ape.reverts(liquor.NotHolder, caller=stranger.address, holder=buyer.address):
        liquor.cancelPickup(case, sender=stranger)
    assert liquor.locked(case)
    liquor.dispatch(case, sender=warehouse)
    liquor.confirmDelivery(case, CODE, sender=warehouse)
    with ape.reverts(liquor.NotHolder, caller=buyer.address, holder=ZERO):  # burned: nobody holds it now
        liquor.cancelPickup(case, sender=buyer)


def test_a_holder_cannot_give_away_a_case_being_redeemed(liquor, buyer, stranger, warehouse, plan):
    case = a_case(liquor, buyer, warehouse, plan, b"BOX-LOCKED")
    liquor.requestPickup(*pickup(liquor, buyer, case), sender=buyer)
    with ape.reverts(liquor.CaseLocked):
        liquor.gift(case, stranger, b"\x01" * 32, sender=buyer)
    with ape.reverts(liquor.CaseLocked):
        liquor.transferFrom(buyer, stranger, case, sender=buyer)
    liquor.cancelPickup(case, sender=buyer)
    liquor.gift(case, stranger, b"\x01" * 32, sender=buyer)
    assert liquor.ownerOf(case) == stranger.address
