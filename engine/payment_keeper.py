"""The payment keeper: carries a shipment paid after verified delivery through the chain, and
tells the buyer, without anyone having to act.

Each round, from the payments view (which only holds logs at the configured confirmation depth):

1. an open alarm on a shipment whose declaration failed is recorded on chain
   (``raiseAlarm`` on the mandate: nothing under it is verified or collected until the
   operator clears it);
2. a shipment the engine verified (or the operator let proceed) is recorded on chain
   (``verify`` with the buyer's signed mandate, the shipment's reference, amount, waybill and
   category hashes);
3. a shipment verified on chain, with no open alarm and its mandate holding, is collected
   (``collect``: the buyer's tokens to the mandate's store, or a recorded default);
4. a shipment whose collection defaulted gets its alarm (once), which tells the buyer and
   the operator;
5. the buyer's notices the shipments call for are made (once per notice and channel) and
   every notice due is sent (:mod:`engine.delivery.notices`).

The keeper signs with the verifier's key (the operator's verification service; on the local
dev chain the dev account the deploy script names). It never moves money itself: ``collect``
pays only the mandate's store, as the contract checks. A transaction it sent is not sent
again while it waits to be seen in the views (:data:`IN_FLIGHT` seconds); the contract
refuses a repeat anyway (a shipment is verified under the mandate's maximum, collected once).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from uuid import UUID

from eth_account import Account
from eventsourcing.persistence import IntegrityError

from engine.accounts.sms import SmsMessage
from engine.chain.rpc import Rpc, RpcError
from engine.chain.transactions import Reverted, Transactions
from engine.deliveries import deliver
from engine.delivery.mandate import CONTRACT, as_tuple
from engine.delivery.notices import BuyerNotice, text, wanted_subjects
from engine.delivery.order import category_hash, reason_hash, waybill_hash

log = logging.getLogger("orderchain.payments")
IN_FLIGHT = 60.0  # seconds a sent transaction is left to show up in the views before it may be sent again


def _b32(value: str) -> bytes:
    return bytes.fromhex(value[2:])


class PaymentKeeper:
    """One round of the payment keeper per :meth:`run_once` (see the module docstring)."""

    def __init__(
        self,
        app,
        rpc: Rpc,
        transactions: Transactions,
        private_key: str,
        payments,
        sms,
        post: Callable | None = None,
        clock: Callable[[], float] = time.time,
    ):
        """``payments``: the :class:`~projections.payments.PaymentsView`; ``sms``: the gateway
        notices go out through (one attempt per send)."""
        import httpx

        self.app = app
        self.rpc = rpc
        self.tx = transactions
        self.account = Account.from_key(private_key)
        self.payments = payments
        self.sms = sms
        self.post = post or httpx.post
        self.clock = clock
        self.in_flight: dict[tuple, float] = {}
        self.sent: dict[str, int] = {"raiseAlarm": 0, "verify": 0, "collect": 0}
        self._is_verifier: bool | None = None

    @property
    def is_verifier(self) -> bool:
        """Whether the keeper's key is the contract's verifier (else it only collects)."""
        if self._is_verifier is None:
            verifier = self.tx.view(CONTRACT, "verifier")[0]
            self._is_verifier = verifier.lower() == self.account.address.lower()
            if not self._is_verifier:
                log.warning("the keeper's key %s is not OfflinePayment's verifier %s", self.account.address, verifier)
        return self._is_verifier

    def _send(self, key: tuple, function: str, args: tuple) -> str | None:
        now = time.monotonic()
        if self.in_flight.get(key, 0) > now:
            return None
        self.in_flight = {k: until for k, until in self.in_flight.items() if until > now}  # what is seen by now
        try:
            unsigned = self.tx.call(CONTRACT, function, args, self.account.address)
        except Reverted as exc:  # done meanwhile, expired, or refused: the views will show it
            log.info("not sending %s for %s: %s", function, key, exc.revert.message)
            self.in_flight[key] = now + IN_FLIGHT
            return None
        signed = self.account.sign_transaction(unsigned)
        try:
            tx_hash = self.rpc.call("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())
        except RpcError as exc:
            log.warning("%s for %s failed: %s", function, key, exc)
            return None
        self.in_flight[key] = now + IN_FLIGHT
        self.sent[function] += 1
        log.info("%s %s in %s", function, key, tx_hash)
        return tx_hash

    def chain_round(self, now: int) -> list[str]:
        """Steps 1 to 3: the transactions sent."""
        sent = []
        args: tuple
        if self.is_verifier:
            for row in self.payments.to_raise():
                alarm = row["alarm_open"]
                args = (_b32(row["mandate_id"]), 0, _b32(reason_hash(alarm)))
                sent.append(self._send(("raise", alarm), "raiseAlarm", args))
            for row in self.payments.to_verify(now):
                data = row["data"]
                declared = data.get("declared") or {}
                args = (
                    as_tuple(data["mandate"]),
                    bytes.fromhex(data["signature"].removeprefix("0x")),
                    _b32(data["ref"]),
                    int(data["amount"]),
                    _b32(waybill_hash(declared.get("courier_id", ""), declared.get("waybill", ""))),
                    _b32(category_hash(declared.get("category", ""))),
                )
                sent.append(self._send(("verify", data["ref"]), "verify", args))
        for row in self.payments.to_collect(now):
            index = row["data"]["shipment"]["index"]
            args = (as_tuple(row["data"]["mandate"]), index)
            sent.append(self._send(("collect", row["mandate_id"], index), "collect", args))
        return [h for h in sent if h]

    def defaults(self) -> int:
        """Step 4: the alarms raised for defaulted collections."""
        raised = 0
        for row in self.payments.defaults_due():
            shipment = row["data"]["shipment"]
            if self.app.raise_default_alarm(
                row["checkout_id"], row["store_id"], shipment["index"], shipment["amount"], self.clock()
            ):
                raised += 1
        return raised

    def _facts(self, kind: str, row: dict, alarm: dict | None) -> dict:
        data = row["data"]
        shipment = data.get("shipment") or {}
        facts: dict = {"amount": str(shipment.get("amount", data["amount"]))}
        if kind == "shipped":
            facts.update(courier_id=data["declared"]["courier_id"], waybill=data["declared"]["waybill"])
        elif kind == "verified":
            facts["tx_hash"] = shipment.get("verified_tx")
        elif kind == "collected":
            facts.update(tx_hash=shipment.get("collected_tx"), credited=shipment.get("credited", False))
        elif kind == "defaulted":
            facts["tx_hash"] = shipment.get("defaulted_tx")
        elif alarm is not None:
            facts.update(alarm_id=alarm["alarm_id"], reason=alarm["reason"])
        return facts

    def notify(self) -> list:
        """Step 5a: makes the notices due; returns their ids."""
        made: list = []
        for row in self.payments.notices_due():
            account = self.app.get_account(row["login"])
            store = self.app.get_store(row["store_id"])
            noticed = set(row["data"]["noticed"])
            alarms = {a["alarm_id"]: a for a in row["data"]["alarms"]}
            for wanted in wanted_subjects(row):
                if wanted in noticed:
                    continue
                kind = wanted.split(" ", 1)[0]
                alarm = alarms.get(wanted.rsplit(" ", 1)[-1]) if kind == "alarm" else None
                facts = self._facts(kind, row, alarm)
                body = {
                    "notice": kind,
                    "checkout_id": row["checkout_id"],
                    "store_id": row["store_id"],
                    **facts,
                    "text": text(kind, row["checkout_id"], store.name, facts),
                }
                phone = account.phone if account.phone_verified else ""
                notices = [self._notice(wanted, "sms", kind, row, phone, body)]
                if getattr(store, "webhook_url", None):
                    notices.append(self._notice(wanted, "webhook", kind, row, store.webhook_url, body))
                try:
                    self.app.save(*notices)
                except IntegrityError:  # another process made them meanwhile
                    continue
                made.extend(n.id for n in notices)
        return made

    def _notice(self, wanted: str, channel: str, kind: str, row: dict, to: str, body: dict) -> BuyerNotice:
        return BuyerNotice(
            subject=wanted,
            channel=channel,
            kind=kind,
            login=row["login"],
            checkout_id=row["checkout_id"],
            store_id=row["store_id"],
            to=to,
            body=body,
            created_at=self.clock(),
        )

    def deliver(self, made: list) -> int:
        """Step 5b: sends every notice due, the new ones first; returns how many went out."""
        now = self.clock()
        delivered = 0
        for notice_id in dict.fromkeys([*made, *(UUID(i) for i in self.payments.notices_to_send(now))]):
            notice = self.app.repository.get(notice_id)
            if not notice.due(now):
                continue
            if notice.channel == "sms":
                if not notice.to:
                    notice.failed(now, "the buyer has no verified phone")
                else:
                    outcome = self.sms.send(SmsMessage(str(notice.id), notice.to, notice.body["text"]))
                    if outcome.ok:
                        notice.delivered(at=now, status=outcome.status or 200)
                    else:
                        notice.failed(now, outcome.error or "not sent")
            else:
                deliver(notice, self.app.get_store(notice.store_id).webhook_secret, self.post, now)
            self.app.save(notice)
            if notice.state == "delivered":
                delivered += 1
            elif notice.state == "dead":
                log.warning("notice %s by %s is a dead letter: %s", notice.subject, notice.channel, notice.last_error)
        return delivered

    def run_once(self) -> list[str]:
        """One round (steps 1 to 5); returns the transactions sent."""
        sent = self.chain_round(self.rpc.chain_time())
        self.defaults()
        self.deliver(self.notify())
        return sent
