"""The event-sourced application: off-chain commands and the event store they share
with the chain reader.

SQLite file by default; a ``postgresql://`` DSN in ``ORDERCHAIN_DB`` selects the
PostgreSQL recorder of the ``eventsourcing`` library.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import unquote, urlparse
from uuid import UUID

import orjson
from eth_utils import keccak
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic, resolve_topic

from engine.accounts.account import Account, AccountRefused, CodeTooSoon, WalletBinding
from engine.accounts.factors import SignInRefused, hash_password, needs_rehash, password_matches
from engine.accounts.feedback import Feedback, FeedbackRefused, feedback_document, feedback_hash
from engine.chain.cursor import ChainCursor
from engine.chain.manifest import Manifest
from engine.chain.source import ChainAggregate
from engine.config import Settings
from engine.cross_border.freight import FreightImport, order_record
from engine.cross_border.orders import CrossBorderQuote, RateRecord, rate_signer, signature_hash, snapshot_hash
from engine.db import schema_lock
from engine.deliveries import new_secret
from engine.delivery.checkout import Line
from engine.delivery.declaration import Declaration
from engine.delivery.mandate import CONTRACT as OFFLINE_PAYMENT
from engine.delivery.mandate import PaymentMandate
from engine.delivery.notices import BuyerNotice
from engine.delivery.order import Alarm, CheckoutOrder, WaybillUse, shipment_ref
from engine.delivery.stock import CourierBook, StoreStock
from engine.delivery.waybill import normalise as normalise_waybill
from engine.evidence.bundles import EvidenceBatch, EvidenceRecord
from engine.group_buy.catalogue import Catalogue
from engine.ids import TextedId, canonical_json
from engine.instructions import Notice, ProductionInstruction
from engine.liquor import LiquorListing, document_hash, facts_document, terms_document
from engine.moved_topics import register_moved_topics
from engine.settlement.escrow import CONTRACT as SETTLEMENT_CONTRACT
from engine.settlement.escrow import FINAL_STATUSES, Settlement
from engine.settlement.store_order import OrderTerms, StoreOrder, decide_terms, snapshot_of
from engine.settlement.stores import Store, StoreAddress, hash_key, new_api_key

if TYPE_CHECKING:
    from engine.chain.transactions import SettlementRules

register_moved_topics()  # event stores written before the modules moved still load


# The cursor advances with every block read: a snapshot every so many events keeps loading it fast.
T = TypeVar("T")
CURSOR_SNAPSHOT_EVERY = 200


class CreditLimitExceeded(ValueError):
    """An order paid after delivery above what the buyer's credit limit allows."""

    def __init__(self, total: int, limit: int):
        super().__init__(f"the order's total {total} is above the credit limit {limit} (base units)")
        self.total, self.limit = total, limit


class Conflict(Exception):
    """The thing already exists."""


class NotFound(Exception):
    """No such thing."""


class BatchSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, inserting a save's events with one ``executemany``.

    The library inserts them one statement at a time to learn each notification id (the
    table's rowid). Inside the save's transaction nothing else writes the table and a new
    rowid is one more than the largest (events are never deleted), so the ids of a batch
    are the run that ends at ``last_insert_rowid()``."""

    def insert_events(self, stored_events, *, rereadable: bool = False, **kwargs):
        """``rereadable``: events the chain reader can read again (saved with its checkpoint),
        committed without waiting for the disk (``synchronous=NORMAL``). A power loss may then
        take the last such saves, and the checkpoint with them, so the reader reads those
        blocks again; a process that dies loses nothing. Everything else commits with the full
        sync, which makes every earlier commit durable too (the write-ahead log is one file,
        synced whole). That sync's stalls on a shared disk were the event store's tail
        latency (p99 37-42 ms for a one-log save against 2 ms without it)."""
        if not rereadable or self.datastore.pool.is_sqlite_memory_mode:
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.get_connection(commit=True) as conn:
            sqlite = conn._sqlite_conn  # the level may not change inside a transaction
            level = sqlite.execute("PRAGMA synchronous").fetchone()[0]
            sqlite.execute("PRAGMA synchronous=NORMAL")
            try:
                with conn.transaction(commit=True) as c:
                    return self._insert_events(c, stored_events, **kwargs)
            finally:
                sqlite.execute(f"PRAGMA synchronous={int(level)}")

    def _insert_events(self, c, stored_events, **kwargs):
        if len(stored_events) < 2:
            return super()._insert_events(c, stored_events, **kwargs)
        c.executemany(
            self.insert_events_statement,
            [
                (s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,)
                + (s.originator_version, s.topic, s.state)
                for s in stored_events
            ],
        )
        c.execute("SELECT last_insert_rowid()")
        last = c.fetchone()[0]
        return list(range(last - len(stored_events) + 1, last + 1))


def persistence_env(settings: Settings) -> dict[str, str]:
    if not settings.is_postgres:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": settings.db,
            "SQLITE_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": get_topic(BatchSQLiteRecorder),
        }
    url = urlparse(settings.db)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": "public",
    }


_LONG_NUMBER = re.compile(rb"[:,\[]-?[0-9]{19}")  # a number orjson might not read exactly


class ChainEventMapper(Mapper):
    """The standard mapper, with the reader's high-volume events encoded and decoded by orjson.

    Only event classes whose state is plain JSON data plus the event timestamp go this
    way; the bytes are ordinary JSON that the standard transcoder decodes to the same
    state. An integer beyond 64 bits (orjson's limit) falls back to the standard path,
    both ways: a state that may hold one (a number of 19 digits or more), or holds any
    other transcoded value than the timestamp, is decoded by the standard transcoder.
    """

    FAST = (ChainAggregate.Discovered, ChainAggregate.LogRecorded, ChainCursor.Advanced)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last: tuple = (None, None)
        self._fast: dict[type, bool] = {}
        self._topics: dict[str, tuple[type, bool]] = {}  # topic -> (class, decoded by orjson)
        self._stamp: tuple = (None, None)  # the last timestamp text decoded, and its datetime

    def _encode(self, value):
        """The transcoder's encoding of a non-JSON value; a batch's events share their
        timestamp, so the last one is remembered."""
        if value is self._last[0]:
            return self._last[1]
        encoded = self.transcoder._encode_obj(value)
        self._last = (value, encoded)
        return encoded

    def to_stored_event(self, domain_event):
        cls = type(domain_event)
        fast = self._fast.get(cls)
        if fast is None:
            fast = self._fast[cls] = issubclass(cls, self.FAST)
        if not fast or self.compressor or self.cipher or not isinstance(self.transcoder, JSONTranscoder):
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        try:
            data = orjson.dumps(state, default=self._encode, option=orjson.OPT_PASSTHROUGH_DATETIME)
        except TypeError:
            return super().to_stored_event(domain_event)
        return StoredEvent(
            originator_id=originator_id, originator_version=originator_version, topic=get_topic(cls), state=data
        )

    def to_domain_event(self, stored_event):
        found = self._topics.get(stored_event.topic)
        if found is None:
            cls = resolve_topic(stored_event.topic)
            fast = (
                issubclass(cls, self.FAST)
                and getattr(cls, "class_version", 1) == 1
                and not (self.compressor or self.cipher)
                and isinstance(self.transcoder, JSONTranscoder)
            )
            found = self._topics[stored_event.topic] = (cls, fast)
        cls, fast = found
        data = stored_event.state
        if fast and type(data) is not bytes:
            data = bytes(data)
        if not fast or data.count(b'"_type_"') != 1 or _LONG_NUMBER.search(data):
            return super().to_domain_event(stored_event)
        state = orjson.loads(data)
        stamp = state.get("timestamp")
        if not (isinstance(stamp, dict) and stamp.get("_type_") == "datetime_iso") or "class_version" in state:
            return super().to_domain_event(stored_event)
        if stamp["_data_"] != self._stamp[0]:  # a batch's events share their timestamp
            self._stamp = (stamp["_data_"], datetime.fromisoformat(stamp["_data_"]))
        state["timestamp"] = self._stamp[1]
        originator_id = stored_event.originator_id
        state["originator_id"] = originator_id if isinstance(originator_id, UUID) else TextedId(originator_id)
        state["originator_version"] = stored_event.originator_version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event


class OrderEngine(Application):
    """Stores, store orders and the chain's settlements in one event store."""

    name = "orderchain"
    snapshotting_intervals: ClassVar[dict] = {ChainCursor: CURSOR_SNAPSHOT_EVERY}

    def __init__(self, settings: Settings, manifest: Manifest | None = None):
        settings.ensure_dirs()
        with schema_lock(settings.db):  # the event store's tables, made once whoever starts first
            super().__init__(env=persistence_env(settings))
        self.settings = settings
        self.manifest = manifest

    @property
    def deployment(self) -> Manifest:
        """The deployment this engine follows (an engine made without one cannot read a chain)."""
        if self.manifest is None:
            raise RuntimeError("this engine was made without a deployment manifest")
        return self.manifest

    def construct_mapper(self) -> Mapper:
        mapper = super().construct_mapper()
        return ChainEventMapper(mapper.transcoder, mapper.compressor, mapper.cipher)

    def record(self, *aggregates, events: Sequence = (), rereadable: bool = False) -> list:
        """Saves the aggregates' pending events, then ``events``, in one transaction, like
        :meth:`save`. ``rereadable``: the chain reader's save of logs it can read again (on
        SQLite, committed without waiting for the disk: :meth:`BatchSQLiteRecorder.insert_events`).

        The reader's hot path: it skips ``save``'s per-object protocol checks (slow
        ``isinstance`` against runtime protocols on Python 3.11) and takes the snapshots
        ``snapshotting_intervals`` asks for itself. Returns the recordings.
        """
        collected = [(aggregate, aggregate.collect_events()) for aggregate in aggregates]
        pending_events = [event for _, pending in collected for event in pending] + list(events)
        if rereadable and isinstance(self.recorder, BatchSQLiteRecorder):
            recordings = self.events.put(pending_events, rereadable=True)
        else:
            recordings = self.events.put(pending_events)
        if self.snapshots is not None:
            for aggregate, pending in collected:
                interval = self.snapshotting_intervals.get(type(aggregate))
                if interval and any(e.originator_version % interval == 0 for e in pending):
                    self.take_snapshot(aggregate.id, version=pending[-1].originator_version)
        return recordings

    # -- accounts

    def register_account(
        self,
        login: str,
        role: str,
        password: str,
        store_id: str | None = None,
        phone: str | None = None,
        region: str | None = None,
    ) -> Account:
        """A new account (:class:`Conflict` if the login is taken; a store staff's store must
        exist), with the phone its first code goes to, when given."""
        if store_id is not None:
            self.get_store(store_id)
        account = Account.register(login, role, hash_password(password), store_id)
        if phone is not None:
            account.set_phone(phone, region)
        try:
            self.save(account)
        except IntegrityError:
            raise Conflict(f"the login {account.login!r} is taken") from None
        return account

    def get_account(self, login: str) -> Account:
        try:
            return self.repository.get(Account.create_id(login))
        except (AggregateNotFoundError, AccountRefused):  # no account has a login that cannot be one
            raise NotFound(f"no account {login!r}") from None

    def _account_or_none(self, login: str) -> Account | None:
        try:
            return self.get_account(login)
        except (NotFound, ValueError):
            return None

    def sign_in_code(self, login: str, now: float) -> tuple[str, str, str] | None:
        """A sign-in code for an account with a verified phone and no authenticator: ``(phone,
        code, message id)`` to send (the id names this request: the gateway's idempotency key);
        None otherwise (the caller answers the same either way)."""
        account = self._account_or_none(login)
        if account is None or account.closed or not account.phone_verified or account.totp_secret is not None:
            return None
        try:
            return self._issue(account, "sign_in", now)
        except CodeTooSoon:
            return None  # the code sent moments ago still holds

    def phone_code(self, login: str, now: float) -> tuple[str, str, str]:
        """A code to verify the account's phone with: ``(phone, code, message id)`` to send."""
        return self._issue(self.get_account(login), "verify_phone", now)

    def verify_phone(self, login: str, code: str, now: float) -> bool:
        """Verifies the phone with the code sent to it; False for a wrong, used or expired code
        and an unknown login alike (a failure counts toward the lockout)."""
        account = self._account_or_none(login)
        if account is None or account.closed:
            return False
        verified = account.verify_phone(code, now)
        self.save(account)
        return verified

    def _issue(self, account: Account, purpose: str, now: float) -> tuple[str, str, str]:
        code = account.issue_code(purpose, now)
        self.save(account)
        phone = account.phone_to_verify if purpose == "verify_phone" else account.phone
        assert phone is not None
        return phone, code, f"code-{account.id}-{account.version}"

    def sign_in_account(self, login: str, password: str, code: str, now: float, session: dict | None = None) -> Account:
        """Both factors, or :class:`SignInRefused` whatever failed (an unknown login included);
        every attempt on an account is recorded, so its lockout counts across processes.
        ``session`` (``session_id``, ``kind``, ``expires_at``) is opened with the sign-in."""
        account = self._account_or_none(login)
        if account is None:
            password_matches(None, password)  # as long as a real check
            raise SignInRefused()
        signed_in = account.sign_in(password, code, now)
        if signed_in and needs_rehash(account.password_hash):  # hashed with older parameters: hash again
            account.rehash_if_needed(hash_password(password))
        return self._signed_in(account, signed_in, now, session)

    def sign_in_wallet(self, address: str, code: str, now: float, session: dict | None = None) -> Account:
        """A Sign-In with Ethereum (its signature checked by the caller) to the account the wallet
        is bound to, with the one-time code when the account has a second factor; the same
        :class:`SignInRefused` for a wallet bound to no account."""
        account = self.account_of_wallet(address)
        if account is None:
            raise SignInRefused()
        return self._signed_in(account, account.sign_in_wallet(code, now), now, session)

    def _signed_in(self, account: Account, signed_in: bool, now: float, session: dict | None) -> Account:
        if signed_in and session is not None:
            account.open_session(factor=account.last_factor or "", at=now, **session)
        self.save(account)
        if not signed_in:
            raise SignInRefused()
        return account

    def change_account(self, login: str, change: Callable[[Account], T]) -> tuple[Account, T]:
        """Applies one of the account's commands and saves what it recorded (nothing, if it raised)."""
        account = self.get_account(login)
        outcome = change(account)
        self.save(account)
        return account, outcome

    def bind_wallet(self, login: str, address: str) -> Account:
        """Binds a wallet (that signed in with Ethereum) to the account: one account per wallet
        (:class:`Conflict` if another account holds it)."""
        account = self.get_account(login)
        binding = self._get_or_none(WalletBinding.create_id(address))
        if binding is None:
            binding = WalletBinding.bind(address, account.login)
        elif binding.login != account.login:
            if self.account_of_wallet(address) is not None:
                raise Conflict("this wallet is bound to another account")
            binding.move(account.login)  # its account bound another wallet since, or closed
        account.bind_wallet(address)
        try:
            self.save(account, binding)
        except IntegrityError:
            raise Conflict("this wallet was bound to another account meanwhile") from None
        return account

    def account_of_wallet(self, address: str) -> Account | None:
        binding = self._get_or_none(WalletBinding.create_id(address))
        if binding is None:
            return None
        account = self._account_or_none(binding.login)
        held = account is not None and not account.closed and account.wallet == address.lower()
        return account if held else None

    def close_session(self, login: str, session_id: str, now: float, reason: str = "signed out") -> bool:
        account = self._account_or_none(login)
        if account is None or not account.close_session(session_id, now, reason):
            return False
        self.save(account)
        return True

    def give_feedback(self, login: str, settlement_id: str, rating: str, comment: str, now: int) -> Feedback:
        """The buyer's feedback on a settled order: only the order's buyer (the account's bound
        wallet) gives it, once, after the settlement ended (:class:`Conflict` for a second)."""
        account = self.get_account(login)
        contract = self.deployment.contract(SETTLEMENT_CONTRACT).address
        settlement = self._get_or_none(Settlement.create_id(self.deployment.chain_id, contract, settlement_id.lower()))
        if settlement is None or "buyer" not in settlement.state:
            raise NotFound(f"no settlement {settlement_id}")
        state = settlement.state
        if account.wallet is None or account.wallet != state["buyer"]:
            raise FeedbackRefused("only the order's buyer gives feedback on it: bind the wallet that bought it")
        if state["status"] not in FINAL_STATUSES:
            raise FeedbackRefused(
                f"the settlement has not ended (it is {state['status']}): feedback follows the outcome"
            )
        feedback = Feedback.give(
            self.deployment.chain_id, contract, settlement_id, state["store"], state["buyer"], rating, comment, now
        )
        return self._feedback_kept(feedback)

    def give_checkout_feedback(
        self, login: str, checkout_id: str, store_id: str, rating: str, comment: str, now: int
    ) -> Feedback:
        """The buyer's feedback on a shipment paid after verified delivery: only the checkout's
        buyer gives it, once, after its collection (the mandate's logs say so)."""
        order = self.get_checkout(checkout_id)
        if order.login != login:
            raise NotFound(f"no checkout {checkout_id!r}")
        shipment = order.shipments.get(store_id)
        if shipment is None or "mandate_id" not in shipment:
            raise NotFound(f"no paid shipment from {store_id!r} in checkout {checkout_id!r}")
        contract = self.deployment.contract(OFFLINE_PAYMENT).address
        mandate = self._get_or_none(
            PaymentMandate.create_id(self.deployment.chain_id, contract, shipment["mandate_id"])
        )
        state = mandate.state if mandate is not None else {}
        ref = shipment_ref(checkout_id, store_id)
        if not any(s["ref"] == ref and s["status"] == "collected" for s in state.get("shipments", {}).values()):
            raise FeedbackRefused("feedback follows the payment: the shipment has not been collected")
        feedback = Feedback.give(
            self.deployment.chain_id, contract, shipment["mandate_id"], state["store"], state["buyer"], rating,
            comment, now,
        )  # fmt: skip
        return self._feedback_kept(feedback)

    def _feedback_kept(self, feedback: Feedback) -> Feedback:
        """Saves a feedback with its anchoring record (one transaction)."""
        doc = feedback_document(feedback)
        record = EvidenceRecord(
            bundle_hash=feedback_hash(doc), bundle=doc, seal="", witness="", campaign_id=0, backer=feedback.buyer
        )
        try:
            self.save(feedback, record)
        except IntegrityError:
            raise Conflict("this order has its feedback already: one per settled order") from None
        return feedback

    # -- paying after verified delivery

    def change_stock(self, store_id: str, change: Callable[[StoreStock], T]) -> tuple[StoreStock, T]:
        """Applies a change to the store's items and warehouses (opened on first use)."""
        self.get_store(store_id)
        stock = self._get_or_none(StoreStock.create_id(store_id)) or StoreStock(store_id=store_id)
        outcome = change(stock)
        self.save(stock)
        return stock, outcome

    def stock(self, store_id: str) -> StoreStock | None:
        return self._get_or_none(StoreStock.create_id(store_id))

    def courier_book(self) -> CourierBook:
        return self._get_or_none(CourierBook.create_id()) or CourierBook()

    def change_couriers(self, change: Callable[[CourierBook], T]) -> tuple[CourierBook, T]:
        book = self.courier_book()
        outcome = change(book)
        self.save(book)
        return book, outcome

    def place_checkout(
        self,
        checkout_id: str,
        login: str,
        lines: list[Line],
        address: dict,
        credit_limit: int | None = None,
        mandate_for: Callable[[str, dict], dict] | None = None,
    ) -> CheckoutOrder:
        """A checkout order checked against the stores' stock and divided (or refused with every
        failed check recorded); :class:`Conflict` for an id already used, :class:`CreditLimitExceeded`
        (nothing recorded) when the order's total is above ``credit_limit``. ``mandate_for(store_id,
        shipment)`` makes the mandate offered for each shipment."""
        account = self.get_account(login)
        if account.wallet is None:
            raise Conflict("the account has no bound wallet to pay from: bind it first")
        stocks = {store_id: self.stock(store_id) for store_id in dict.fromkeys(line.store_id for line in lines)}
        catalogues = {sid: st.catalogue() for sid, st in stocks.items() if st is not None}
        warehouses = {sid: st.warehouse_list() for sid, st in stocks.items() if st is not None}
        order = CheckoutOrder.place(
            checkout_id,
            account.login,
            account.wallet,
            address,
            lines,
            catalogues,
            warehouses,
            self.courier_book().all(),
        )
        if order.status != "refused":
            if credit_limit is not None and order.total > credit_limit:
                raise CreditLimitExceeded(order.total, credit_limit)
            if mandate_for is not None:
                order.offer_mandates({sid: mandate_for(sid, sh) for sid, sh in order.shipments.items()})
        try:
            self.save(order)
        except IntegrityError:
            raise Conflict(f"a checkout {checkout_id!r} exists") from None
        return order

    def get_checkout(self, checkout_id: str) -> CheckoutOrder:
        found = self._get_or_none(CheckoutOrder.create_id(checkout_id))
        if found is None:
            raise NotFound(f"no checkout {checkout_id!r}")
        return found

    def declare_shipment(self, checkout_id: str, store_id: str, declared: Declaration, now: float) -> tuple:
        """The store's declaration: ``(order, errors, alarm)``; a number another shipment used is
        an error, a passing declaration keeps its number for this shipment, any error raises an alarm."""
        order = self.get_checkout(checkout_id)
        book = self.courier_book()
        shipment = order.shipments.get(store_id)
        if shipment is None:
            raise NotFound(f"no shipment from {store_id!r} in checkout {checkout_id!r}")
        chosen = book.courier(shipment["courier_id"])
        number = normalise_waybill(declared.waybill)
        use = self._get_or_none(WaybillUse.create_id(declared.courier_id, number))
        used = (
            set()
            if use is None or (use.checkout_id, use.store_id) == (checkout_id, store_id)
            else {(declared.courier_id, number)}
        )
        errors = order.declare(store_id, declared, chosen, used)
        recorded: list = [order]
        alarm = None
        if errors:
            alarm = Alarm(checkout_id=checkout_id, store_id=store_id, n=len(order.errors), errors=errors, at=now)
            recorded.append(alarm)
        elif use is None:
            recorded.append(
                WaybillUse(courier_id=declared.courier_id, number=number, checkout_id=checkout_id, store_id=store_id)
            )
        try:
            self.save(*recorded)
        except IntegrityError:
            raise Conflict("the waybill was declared by another shipment meanwhile: declare again") from None
        return order, errors, alarm

    def sign_checkout_mandate(
        self, checkout_id: str, store_id: str, mandate_id: str, mandate: dict, signature: str
    ) -> CheckoutOrder:
        """Records the buyer's signed mandate for one shipment (the caller checked the signature)."""
        order = self.get_checkout(checkout_id)
        order.sign_mandate(store_id, mandate_id, mandate, signature)
        self.save(order)
        return order

    def change_alarm(self, alarm_id: UUID, change: Callable[[Alarm], T]) -> tuple[Alarm, T]:
        alarm = self._alarm(alarm_id, None)
        outcome = change(alarm)
        self.save(alarm)
        return alarm, outcome

    def acknowledge_alarm(self, alarm_id: UUID, by: str, now: float, store_id: str | None = None) -> Alarm:
        """Records who has seen an alarm (``store_id``: the store, of an alarm on its own shipments)."""
        alarm = self._alarm(alarm_id, store_id)
        alarm.acknowledge(by, now)
        self.save(alarm)
        return alarm

    def _alarm(self, alarm_id: UUID, store_id: str | None) -> Alarm:
        """The alarm; with ``store_id``, only one on that store's shipments (another's is not found)."""
        alarm = self._get_or_none(alarm_id)
        if not isinstance(alarm, Alarm) or (store_id is not None and alarm.store_id != store_id):
            raise NotFound("no such alarm")
        return alarm

    def resolve_alarm(
        self, alarm_id: UUID, by: str, proceed: bool, reason: str, now: float, store_id: str | None = None
    ) -> Alarm:
        """Resolves an alarm; a declaration's alarm clears its shipment with it (in one save):
        verified as if it had passed, or cancelled. The same decision again is answered with the
        alarm as it stands (what is left to sign on chain is asked for again that way).
        ``store_id``: the store resolves an alarm on its own shipment (another's is not found)."""
        alarm = self._alarm(alarm_id, store_id)
        if alarm.resolution is not None and alarm.resolution["proceed"] == proceed:
            return alarm
        alarm.resolve(by, proceed, reason, now, party="operator" if store_id is None else "store")
        recorded: list = [alarm]
        if alarm.kind == "declaration":
            order = self.get_checkout(alarm.checkout_id)
            if order.shipments[alarm.store_id]["status"] == "alarmed":
                order.clear(alarm.store_id, proceed)
                recorded.append(order)
        self.save(*recorded)
        return alarm

    def raise_default_alarm(self, checkout_id: str, store_id: str, index: int, amount: int, at: float) -> Alarm | None:
        """The alarm of a shipment whose collection defaulted on chain (one per shipment: None
        when it was raised already)."""
        errors = [
            {
                "store_id": store_id,
                "reason": "collection_defaulted",
                "sku": None,
                "detail": f"shipment {index} of {amount}: the buyer's allowance or balance no longer covered it",
            }
        ]
        alarm = Alarm(
            checkout_id=checkout_id, store_id=store_id, n=0, errors=errors, at=at, kind="collection_defaulted"
        )
        try:
            self.save(alarm)
        except IntegrityError:
            return None
        return alarm

    def replay_notice(self, notice_id: UUID, now: float) -> BuyerNotice:
        """The operator replays a buyer's notice that is a dead letter: it is tried again from the
        first back-off."""
        return self._replay(notice_id, now, (BuyerNotice,), "notice")

    def replay_webhook(self, delivery_id: UUID, now: float) -> ProductionInstruction | Notice:
        """The operator replays a store's webhook delivery (an instruction or a notice) that is a
        dead letter."""
        return self._replay(delivery_id, now, (ProductionInstruction, Notice), "webhook delivery")

    def _replay(self, delivery_id: UUID, now: float, kinds: tuple[type[Any], ...], what: str) -> Any:
        found: Any = self._get_or_none(delivery_id)
        if not isinstance(found, kinds):
            raise NotFound(f"no {what} {delivery_id}")
        if found.state != "dead":
            raise Conflict(f"the {what} is {found.state}, not a dead letter")
        found.replay(now)
        self.save(found)
        return found

    def _get_or_none(self, aggregate_id):
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    # -- stores

    def register_store(self, store_id: str, name: str, address: str) -> tuple[Store, str]:
        key = new_api_key()
        store = Store(store_id=store_id, name=name, address=address, key_hash=hash_key(key))
        claim = StoreAddress(address=address, store_id=store_id)
        try:
            self.save(store, claim)
        except IntegrityError:
            if self._exists(Store.create_id(store_id)):
                raise Conflict(f"store {store_id!r} is already registered") from None
            raise Conflict(f"address {address} already belongs to another store") from None
        return store, key

    def store_of_address(self, address: str) -> Store | None:
        """The store an address belongs to, if any."""
        try:
            claim: StoreAddress = self.repository.get(StoreAddress.create_id(address))
        except AggregateNotFoundError:
            return None
        return self.get_store(claim.store_id)

    def get_store(self, store_id: str) -> Store:
        try:
            return self.repository.get(Store.create_id(store_id))
        except AggregateNotFoundError:
            raise NotFound(f"no store {store_id!r}") from None

    # -- store orders

    def create_store_order(
        self,
        store: Store,
        order_number: str,
        amount: int,
        token: str,
        buyer: str | None,
        items: list[dict],
        time_limit: int | None,
        rules: SettlementRules,
    ) -> StoreOrder:
        """Fixes the order's snapshot; refuses terms the settlement contract would not take
        (:class:`~engine.settlement.store_order.OrderRefused`)."""
        limit = decide_terms(
            amount,
            token,
            time_limit,
            token_allowed=rules.token_allowed(token),
            default_time_limit=rules.default_time_limit,
            min_time_limit=rules.min_time_limit,
            max_time_limit=rules.max_time_limit,
        )
        snapshot, snapshot_hash = snapshot_of(
            {
                "chain_id": self.deployment.chain_id,
                "settlement_contract": rules.address,
                "store_id": store.store_id,
                "store_address": store.address,
                "order_number": order_number,
                "token": token,
                "amount": amount,
                "buyer": buyer,
                "time_limit": limit,
                "items": items,
            }
        )
        order = StoreOrder(
            store_id=store.store_id, order_number=order_number, snapshot=snapshot, snapshot_hash=snapshot_hash
        )
        try:
            self.save(order)
        except IntegrityError:
            raise Conflict(f"store order {order_number!r} already exists") from None
        return order

    def order_terms_at(self, store_address: str, order_number: str) -> OrderTerms | None:
        """The terms of the order ``order_number`` of the store at ``store_address``, if any."""
        store = self.store_of_address(store_address)
        if store is None:
            return None
        try:
            return self.get_store_order(store.store_id, order_number).terms
        except NotFound:
            return None

    def get_store_order(self, store_id: str, order_number: str) -> StoreOrder:
        try:
            return self.repository.get(StoreOrder.create_id(store_id, order_number))
        except AggregateNotFoundError:
            raise NotFound(f"no store order {order_number!r}") from None

    # -- liquor listings (the facts and custody terms behind a sale plan's hashes)

    def register_listing(self, producer: str, facts: dict, terms: dict, sale: dict | None) -> LiquorListing:
        """Records a producer's liquor facts and custody terms (canonical documents and their
        hashes); the same listing again is answered with the one recorded, a different one
        under the same producer and facts is a :class:`Conflict`.
        :class:`~engine.liquor.ListingRefused` for facts or terms that are incomplete."""
        facts_doc, terms_doc = facts_document(facts), terms_document(terms)
        listing = LiquorListing(
            chain_id=self.deployment.chain_id,
            producer=producer,
            facts=facts_doc,
            facts_hash=document_hash(facts_doc),
            terms=terms_doc,
            terms_hash=document_hash(terms_doc),
            sale=sale,
        )
        try:
            self.save(listing)
        except IntegrityError:
            found: LiquorListing = self.repository.get(listing.id)
            if found.as_dict() != listing.as_dict():
                raise Conflict(
                    f"producer {producer} already listed these facts ({listing.facts_hash}) with "
                    "other terms or sale; list the new terms as new facts (another batch)"
                ) from None
            return found
        return listing

    def get_listing(self, producer: str, facts_hash: str) -> LiquorListing:
        try:
            return self.repository.get(LiquorListing.create_id(self.deployment.chain_id, producer, facts_hash))
        except AggregateNotFoundError:
            raise NotFound(f"no listing of producer {producer} with facts hash {facts_hash}") from None

    # -- group buying: a store's catalogue

    def catalogue(self, store_id: str) -> Catalogue:
        """The store's catalogue (an empty one if it has none yet)."""
        try:
            return self.repository.get(Catalogue.create_id(store_id))
        except AggregateNotFoundError:
            return Catalogue(store_id=store_id)

    def change_catalogue(self, store_id: str, change) -> Catalogue:
        """Applies ``change(catalogue)`` (which checks what it records) and saves it."""
        catalogue = self.catalogue(store_id)
        change(catalogue)
        self.save(catalogue)
        return catalogue

    # -- production instructions

    def set_webhook(self, store: Store, url: str) -> str:
        """Sets the store's webhook URL with a new secret; returns the secret (shown once)."""
        secret = new_secret()
        store.set_webhook(url=url, secret=secret)
        self.save(store)
        return secret

    def instruct(self, instruction: ProductionInstruction | Notice) -> ProductionInstruction | Notice:
        """Keeps a campaign's production instruction (or a notice); one already made for it is kept as it is."""
        try:
            self.save(instruction)
        except IntegrityError:
            return self.repository.get(instruction.id)
        return instruction

    # -- exchange rates

    def record_rate(self, document: dict, signature: str, operator: str) -> RateRecord:
        """Keeps a rate the operator signed (the same one again is answered as kept); a rate
        not signed by ``operator`` is refused (:class:`~engine.cross_border.orders.RateError`)."""
        from engine.cross_border.orders import RateSignatureRefused

        signer = rate_signer(document, signature)
        if signer != operator.lower():
            raise RateSignatureRefused(
                f"the rate is signed by {signer or 'nobody'}, not by the operator {operator.lower()}; the operator "
                f"signs (EIP-191 personal_sign) this document's canonical JSON: "
                f"{canonical_json(document).decode()}",
                document,
            )
        record = RateRecord(
            document=document, signature=signature, signature_hash=signature_hash(signature), signer=signer
        )
        try:
            self.save(record)
        except IntegrityError:
            return self.repository.get(record.id)
        return record

    # -- freight history

    def import_freight(self, orders: list, source: str, known: set[str]) -> FreightImport:
        """Records a checked history file in one event; a file with an order already imported
        (``known`` ids) is refused whole, and the same file twice is a :class:`Conflict`."""
        clash = [o.order_id for o in orders if o.order_id in known]
        if clash:
            raise Conflict(
                f"{len(clash)} order(s) were imported before, nothing imported: "
                + ", ".join(clash[:20])
                + (" ..." if len(clash) > 20 else "")
            )
        records = [order_record(o) for o in orders]
        digest = "0x" + keccak(canonical_json(records)).hex()
        imported = FreightImport(digest=digest, source=source, orders=records)
        try:
            self.save(imported)
        except IntegrityError:
            raise Conflict(f"this file was imported before ({digest})") from None
        return imported

    # -- cross-border quotes

    def record_quote(self, snapshot: dict) -> CrossBorderQuote:
        """Keeps an order snapshot as a quote, keyed by its hash (the same snapshot again is the same quote)."""
        quote = CrossBorderQuote(
            chain_id=self.deployment.chain_id, snapshot=snapshot, snapshot_hash=snapshot_hash(snapshot)
        )
        try:
            self.save(quote)
        except IntegrityError:
            return self.repository.get(quote.id)
        return quote

    def get_quote(self, snapshot_hash_: str) -> CrossBorderQuote:
        try:
            return self.repository.get(CrossBorderQuote.create_id(self.deployment.chain_id, snapshot_hash_.lower()))
        except AggregateNotFoundError:
            raise NotFound(f"no cross-border quote with snapshot hash {snapshot_hash_}") from None

    # -- order evidence

    def record_evidence(
        self, bundle_hash: str, bundle: dict, seal: str, witness: str, campaign_id: int, backer: str
    ) -> EvidenceRecord:
        """Keeps a checked, sealed bundle (the same bundle again is answered with the one kept)."""
        record = EvidenceRecord(
            bundle_hash=bundle_hash, bundle=bundle, seal=seal, witness=witness, campaign_id=campaign_id, backer=backer
        )
        try:
            self.save(record)
        except IntegrityError:
            return self.repository.get(record.id)
        return record

    def evidence(self, bundle_hash: str) -> EvidenceRecord:
        try:
            return self.repository.get(EvidenceRecord.create_id(bundle_hash))
        except AggregateNotFoundError:
            raise NotFound(f"no evidence bundle {bundle_hash}") from None

    def batch_evidence(self, root: str, hashes: list[str]) -> EvidenceBatch:
        """Records a Merkle batch of bundle hashes and marks each record with its root and
        position, in one transaction (an existing batch of that root is answered as is)."""
        batch = EvidenceBatch(root=root, hashes=hashes)
        records: list[EvidenceRecord] = [self.repository.get(EvidenceRecord.create_id(h)) for h in hashes]
        for position, record in enumerate(records):
            record.batched(root=root, position=position, bundle_hash=record.bundle_hash)
        try:
            self.save(batch, *records)
        except IntegrityError:
            return self.repository.get(batch.id)
        return batch

    def evidence_batch(self, root: str) -> EvidenceBatch | None:
        try:
            return self.repository.get(EvidenceBatch.create_id(root))
        except AggregateNotFoundError:
            return None

    def _exists(self, aggregate_id) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True
