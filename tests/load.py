"""Puts many settlements on a dev chain fast, for ingestion tests and the benchmark.

Uses anvil's unlocked dev accounts (``eth_sendTransaction``) with automining off, so a
block holds many transactions and thousands of settlement events take seconds.
"""

from __future__ import annotations

from contextlib import contextmanager

from eth_utils import keccak

from engine.chain.abi import FunctionEncoder
from engine.chain.manifest import Manifest
from engine.chain.rpc import Rpc
from engine.chain.transactions import ERC20_ABI
from engine.settlement.escrow import SettlementKey
from engine.settlement.store_order import order_number_bytes32

DEV_ADDRESSES = [
    "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
    "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
    "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65",
    "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc",
    "0x976ea74026e726554db657fa54763abd0c3a0aa9",
    "0x14dc79964da2c08b23698b3d3cc7ca32193d9955",
    "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f",
    "0xa0ee7a142d267c1f36714e4a8f75612f20a79720",
]
STORE = DEV_ADDRESSES[2]
GAS = 400_000


class Load:
    """Puts many settlements on a dev chain (see the module docstring)."""

    def __init__(self, rpc: Rpc, manifest: Manifest, store: str = STORE, contract: str = "C2CSettlement"):
        self.rpc = rpc
        self.settlement = manifest.contract(contract)
        self.token = manifest.contract("TestStablecoin").address
        self.fn = self.settlement.functions
        self.erc20 = FunctionEncoder(ERC20_ABI)
        self.store = store
        self.snapshot_hash = "0x" + keccak(text="load").hex()
        self.nonces: dict[str, int] = {}

    def key(self, number: str, buyer: str) -> tuple:
        return SettlementKey(self.store, order_number_bytes32(number), buyer, buyer, self.token).as_tuple()

    def _tx(self, sender: str, to: str, data: str) -> tuple[str, list]:
        # Explicit nonces: the node handles a batch's requests concurrently.
        if sender not in self.nonces:
            self.nonces[sender] = int(self.rpc.call("eth_getTransactionCount", sender, "pending"), 16)
        nonce = self.nonces[sender]
        self.nonces[sender] += 1
        return ("eth_sendTransaction", [{"from": sender, "to": to, "data": data, "gas": hex(GAS), "nonce": hex(nonce)}])

    @contextmanager
    def unmined(self):
        """Automining off while a load is sent (blocks then hold many transactions)."""
        self.rpc.call("evm_setAutomine", False)
        try:
            yield
        finally:
            self.rpc.call("evm_setAutomine", True)

    def approvals(self, owners: list[str], spender: str, per_block: int = 250) -> int:
        """Each owner lets ``spender`` take the token without limit; returns blocks mined."""
        return self._mine(
            [self._tx(o, self.token, self.erc20.encode("approve", spender, 2**255)) for o in owners], per_block
        )

    def _mine(self, txs: list[tuple[str, list]], per_block: int) -> int:
        """Sends ``txs`` in batches of ``per_block`` and mines until each batch is in; returns blocks mined."""
        blocks = 0
        for i in range(0, len(txs), per_block):
            hashes = self.rpc.batch(txs[i : i + per_block])
            while True:
                self.rpc.call("anvil_mine", "0x1")
                blocks += 1
                if int(self.rpc.call("txpool_status")["pending"], 16) == 0:
                    break
            receipts = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
            failed = [r for r in receipts if r is None or r["status"] != "0x1"]
            if failed:
                raise RuntimeError(f"{len(failed)} load transactions failed, e.g. {failed[0]}")
        return blocks

    def settlements(
        self,
        count: int,
        buyers: list[str],
        amount: int = 1_000_000,
        confirm: bool = True,
        per_block: int = 250,
        prefix: str = "L",
        snapshot_hashes: dict | None = None,
        start: int = 0,
    ) -> dict:
        """Opens (and confirms) ``count`` settlements; returns numbers of events and blocks."""
        self.rpc.call("evm_setAutomine", False)
        try:
            blocks = self.approvals(buyers, self.settlement.address, per_block)
            numbers = [(f"{prefix}-{i}", buyers[i % len(buyers)]) for i in range(start, start + count)]
            opens = [
                self._tx(
                    b,
                    self.settlement.address,
                    self.fn.encode(
                        "open",
                        self.key(n, b),
                        amount,
                        bytes.fromhex((snapshot_hashes or {}).get(n, self.snapshot_hash)[2:]),
                        0,
                    ),
                )
                for n, b in numbers
            ]
            blocks += self._mine(opens, per_block)
            events = count
            if confirm:
                confirms = [
                    self._tx(b, self.settlement.address, self.fn.encode("confirm", self.key(n, b))) for n, b in numbers
                ]
                blocks += self._mine(confirms, per_block)
                events += count
        finally:
            self.rpc.call("evm_setAutomine", True)
        return {"events": events, "blocks": blocks, "numbers": numbers}


class LiquorLoad:
    """Puts many liquor cases on a dev chain: a plan, purchases signed by their buyers, an
    outbound per case, a gift of each, and pledges that are repaid (see the module docstring)."""

    def __init__(
        self,
        load: Load,
        manifest: Manifest,
        producer: str = DEV_ADDRESSES[5],
        warehouse: str = DEV_ADDRESSES[6],
        lender: str = DEV_ADDRESSES[7],
    ):
        self.load = load
        self.rpc = load.rpc
        self.contract = manifest.contract("LiquorCases")
        self.fn = self.contract.functions
        self.chain_id = manifest.chain_id
        self.producer, self.warehouse, self.lender = producer, warehouse, lender

    def _view(self, function: str, *args):
        data = self.rpc.call(
            "eth_call", {"to": self.contract.address, "data": self.fn.encode(function, *args)}, "latest"
        )
        return self.fn.decode_output(function, data)

    def _signature(self, account, primary: str, message: dict) -> bytes:
        from eth_account.messages import encode_typed_data

        from engine.liquor import SIGNED_TYPES

        typed = {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                primary: [{"name": n, "type": t} for n, t in SIGNED_TYPES[primary]],
            },
            "primaryType": primary,
            "domain": {
                "name": "LiquorCases",
                "version": "1",
                "chainId": self.chain_id,
                "verifyingContract": self.contract.address,
            },
            "message": message,
        }
        return bytes(account.sign_message(encode_typed_data(full_message=typed)).signature)

    def cases(self, count: int, buyers: list, pledges: int = 0, per_block: int = 150, price: int = 1_000_000) -> dict:
        """``count`` cases bought by ``buyers`` (eth-account accounts of unlocked dev addresses),
        each sent out and given to the next buyer; ``pledges`` of them pledged and repaid.
        Returns the number of events the engine reads and of blocks mined."""
        load, fn, to = self.load, self.fn, self.contract.address
        self.rpc.call("evm_setAutomine", False)
        try:
            addresses = [b.address.lower() for b in buyers]
            blocks = load.approvals(addresses + [self.lender], to, per_block)
            plan_id = self._view("planCount")[0] + 1
            blocks += load._mine(
                [
                    load._tx(
                        self.producer,
                        to,
                        fn.encode(
                            "createPlan",
                            keccak(text=f"facts {plan_id}"),
                            count,
                            price,
                            load.token,
                            self.warehouse,
                            keccak(text="terms"),
                            86_400,
                        ),
                    )
                ],
                per_block,
            )
            events = 1
            first_purchase = self._view("purchaseCount")[0] + 1
            shares = [count // len(buyers) + (1 if i < count % len(buyers) else 0) for i in range(len(buyers))]
            purchases = []
            for buyer, share in zip(buyers, shares):
                nonce = self._view("nonces", buyer.address.lower())[0]
                deadline = 2**40
                signature = self._signature(
                    buyer,
                    "CustodyAgreement",
                    {
                        "planId": plan_id,
                        "quantity": share,
                        "termsHash": keccak(text="terms"),
                        "lender": "0x" + "00" * 20,
                        "interestPerCase": 0,
                        "loanTerm": 0,
                        "nonce": nonce,
                        "deadline": deadline,
                    },
                )
                purchases.append(
                    load._tx(
                        buyer.address.lower(),
                        to,
                        fn.encode(
                            "buy", (plan_id, share, buyer.address.lower(), "0x" + "00" * 20, 0, 0, deadline), signature
                        ),
                    )
                )
            blocks += load._mine(purchases, per_block)
            events += len(buyers)
            first_token = self._view("caseCount")[0] + 1
            outbounds, owners = [], []
            for i, (buyer, share) in enumerate(zip(addresses, shares)):
                for n in range(share):
                    code = keccak(text=f"case {plan_id}-{i}-{n}")
                    outbounds.append(load._tx(self.warehouse, to, fn.encode("outbound", first_purchase + i, code)))
                    owners.append(buyer)
            blocks += load._mine(outbounds, per_block)
            events += 2 * count  # CaseOutbound, Transfer
            tokens = list(range(first_token, first_token + count))
            gifts = [
                load._tx(
                    owner,
                    to,
                    fn.encode("gift", token_id, addresses[(addresses.index(owner) + 1) % len(addresses)], b"\x01" * 32),
                )
                for token_id, owner in zip(tokens, owners)
            ]
            blocks += load._mine(gifts, per_block)
            events += 2 * count  # CaseGifted, Transfer
            owners = [addresses[(addresses.index(o) + 1) % len(addresses)] for o in owners]
            if pledges:
                from eth_account import Account

                from engine.chain.node import DEV_MNEMONIC

                Account.enable_unaudited_hdwallet_features()
                lender = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/7")
                nonce = self._view("nonces", self.lender)[0]
                offers = []
                for k, (token_id, owner) in enumerate(zip(tokens[:pledges], owners)):
                    message = {
                        "tokenId": token_id,
                        "principal": price // 2,
                        "interest": 1000,
                        "dueAt": 2**39,
                        "lender": self.lender,
                        "nonce": nonce + k,
                        "deadline": 2**40,
                    }
                    offers.append(
                        load._tx(
                            owner,
                            to,
                            fn.encode(
                                "pledge",
                                token_id,
                                price // 2,
                                1000,
                                2**39,
                                self.lender,
                                2**40,
                                self._signature(lender, "LoanOffer", message),
                            ),
                        )
                    )
                blocks += load._mine(offers, per_block)
                blocks += load._mine(
                    [
                        load._tx(owner, to, fn.encode("repay", token_id))
                        for token_id, owner in zip(tokens[:pledges], owners)
                    ],
                    per_block,
                )
                events += 2 * pledges  # Pledged, Repaid
        finally:
            self.rpc.call("evm_setAutomine", True)
        return {"events": events, "blocks": blocks, "tokens": tokens}


def _read_logs(load: Load, address: str, blocks_from: int) -> int:
    """How many logs ``address`` emitted from block ``blocks_from`` on (the events the engine reads)."""
    return len(load.rpc.get_logs([address], blocks_from, load.rpc.block_number()))


class GroupBuyLoad:
    """Puts many group-buy campaigns on a dev chain: each opened by the enterprise, pledged by
    every backer until production is triggered, and its deposits collected."""

    def __init__(self, load: Load, manifest: Manifest, enterprise: str = STORE):
        self.load = load
        self.contract = manifest.contract("GroupBuy")
        self.enterprise = enterprise

    def campaigns(self, count: int, backers: list[str], per_block: int = 200) -> dict:
        """``count`` campaigns, each pledged once by every backer (the last pledge triggers
        production) and collected. Returns the logs the contract emitted and the blocks mined."""
        load, fn, to = self.load, self.contract.functions, self.contract.address
        first_block = load.rpc.block_number() + 1
        with load.unmined():
            blocks = load.approvals(backers, to, 50)
            first = int(load.rpc.call("eth_call", {"to": to, "data": fn.encode("campaignCount")}, "latest"), 16) + 1
            target = load.rpc.chain_time() + 30 * 86_400
            opened = [
                load._tx(
                    self.enterprise,
                    to,
                    fn.encode(
                        "openCampaign",
                        keccak(text=f"scheme {i}"),
                        1,
                        load.token,
                        10_000,
                        2_000,
                        len(backers),
                        100,
                        target,
                    ),
                )
                for i in range(count)
            ]
            blocks += load._mine(opened, per_block)
            ids = range(first, first + count)
            pledges = [
                load._tx(b, to, fn.encode("pledge", c, 1, keccak(text=f"pledge {c} {b}"))) for c in ids for b in backers
            ]
            blocks += load._mine(pledges, per_block)
            blocks += load._mine([load._tx(self.enterprise, to, fn.encode("collect", c)) for c in ids], per_block)
        return {"events": _read_logs(load, to, first_block), "blocks": blocks}


class CrossBorderLoad:
    """Puts many cross-border orders on a dev chain: each paid by a buyer with its freight
    held, a first leg paid to the carrier and a final bill below what was held (a refund)."""

    def __init__(self, load: Load, manifest: Manifest, seller: str = STORE, carrier: str = DEV_ADDRESSES[6]):
        self.load = load
        self.contract = manifest.contract("CrossBorderEscrow")
        self.seller, self.carrier = seller, carrier

    def orders(self, count: int, buyers: list[str], per_block: int = 200) -> dict:
        load, fn, to = self.load, self.contract.functions, self.contract.address
        first_block = load.rpc.block_number() + 1
        with load.unmined():
            blocks = load.approvals(buyers, to, 50)
            first = int(load.rpc.call("eth_call", {"to": to, "data": fn.encode("orderCount")}, "latest"), 16) + 1
            paid = [
                load._tx(
                    buyers[i % len(buyers)],
                    to,
                    fn.encode(
                        "pay",
                        self.seller,
                        load.token,
                        100_000,
                        30_000,
                        keccak(text=f"quote {first + i}"),
                        0,
                        30 * 86_400,
                    ),
                )
                for i in range(count)
            ]
            blocks += load._mine(paid, per_block)
            ids = range(first, first + count)
            waybill = keccak(text="waybill")
            blocks += load._mine(
                [load._tx(self.seller, to, fn.encode("payLeg", o, self.carrier, 12_000, waybill)) for o in ids],
                per_block,
            )
            blocks += load._mine(
                [load._tx(self.seller, to, fn.encode("finalBill", o, self.carrier, 8_000, waybill)) for o in ids],
                per_block,
            )
        return {"events": _read_logs(load, to, first_block), "blocks": blocks}
