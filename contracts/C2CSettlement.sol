// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ArbiterSchedule} from "./lib/ArbiterSchedule.sol";
import {CreditedPayouts} from "./lib/CreditedPayouts.sol";

/// @title C2CSettlement: escrowed settlement of store orders in ERC-20 tokens
/// @notice A buyer (or a credit provider paying for the buyer) freezes the amount of a
/// store order in this contract; the store ships; the buyer confirms receipt and the store
/// is paid. If the buyer stays silent past the settlement time limit anyone may release the
/// full amount to the store.
///
/// Trust model: what each party can do, and what happens when it goes silent
/// - A settlement is keyed by (store, order number, buyer, payer, token); a different buyer
///   or payer makes a different settlement, so nobody can block or take over another
///   party's order. A key whose settlement has closed opens a new one (a new round, a new
///   id) when paid again.
/// - Payer: opens and updates (top-up or partial refund) while the order is unshipped and
///   within its time limit; an update keeps the time limit unless it names a new one, and
///   never moves the deadline into the past. Every refund goes to the payer.
/// - Store: ships, naming the frozen amount and snapshot hash it ships against (a payer
///   change in between makes the shipment revert); rejects before shipping or concedes a
///   claim or dispute (full refund); accepts or contests a buyer's claim.
///   Silent store: a buyer's claim is executed by anyone once the response window passed.
/// - Buyer: confirms in full (the store is paid at once); or, before the time limit, claims
///   a lower amount due (the store answers), brings the store's signed agreement to a lower
///   amount, or raises a dispute with a proposed split. Silent buyer: anyone releases the
///   full amount to the store after the time limit. After the time limit the buyer can only
///   confirm in full.
/// - Arbiter: splits a dispute raised while it was the arbiter. A new arbiter is announced
///   and takes effect after a delay, for disputes raised from then on. Silent arbiter: once
///   the arbitration window passed, anyone may end the dispute halfway between the two
///   positions (the buyer's proposal and the full amount).
/// - Both parties: end a claim or dispute with a split they both sign (EIP-712).
/// - Owner: allow-lists tokens and announces arbiters; it can never move settlement funds.
/// Every settlement ends in exactly one payout event with a sequential payment record. A
/// payout transfer that fails (a token that blocklists the recipient) is credited to the
/// recipient instead, who claims it later to an address it names; nobody else is held up.
/// A token that delivers less than the amount sent is refused.
contract C2CSettlement is ArbiterSchedule, CreditedPayouts, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Identifies a settlement; pass it to every call about that settlement.
    struct SettlementKey {
        address store;
        bytes32 orderNumber;
        address buyer;
        address payer;
        address token;
    }

    enum Status {
        None,
        Paid,
        Shipped,
        Claimed,
        Disputed,
        Completed,
        Released,
        Rejected,
        Resolved
    }

    /// @notice How a completed settlement or a resolved dispute ended (in its payout event).
    enum Ending {
        Confirmed, // the buyer confirmed in full (or withdrew its claim or dispute)
        ClaimAccepted, // the store accepted the buyer's lower amount
        ClaimExecuted, // the store stayed silent past the response window
        Agreed, // both parties signed the split
        Arbitrated, // the dispute's arbiter split it
        ArbitrationLapsed // the arbiter stayed silent: halfway between the positions
    }

    /// @dev One slot per key: the latest round's settlement. `terms` is the low 64 bits of
    /// the snapshot hash, so `ship` can check what the store ships against.
    struct Settlement {
        uint96 amount;
        uint40 paidAt;
        uint32 timeLimit;
        Status status;
        uint16 round;
        uint64 terms;
    }

    /// @dev A claim or dispute in progress: the buyer's amount due or proposed split, since
    /// when, and (disputes) which arbiter decides it.
    struct Pending {
        uint96 toStore;
        uint40 since;
        uint32 arbiterIndex;
    }

    uint32 public constant MAX_TIME_LIMIT_CAP = 365 days;
    uint32 public constant MIN_WINDOW = 1 days;
    uint32 public constant MAX_WINDOW = 90 days;
    bytes32 public constant AGREEMENT_TYPEHASH =
        keccak256("Agreement(bytes32 settlementId,uint256 toStore,uint256 deadline)");

    /// @notice Time limit used when `open` is given 0.
    uint32 public immutable DEFAULT_TIME_LIMIT;
    uint32 public immutable MIN_TIME_LIMIT;
    uint32 public immutable MAX_TIME_LIMIT;
    /// @notice How long the store has to answer a buyer's claim.
    uint32 public immutable RESPONSE_WINDOW;
    /// @notice How long the arbiter has to split a dispute.
    uint32 public immutable ARBITRATION_WINDOW;
    /// @notice The payment record number the next payout gets (numbers start at 1).
    uint256 public nextPaymentRecord = 1;
    mapping(bytes32 keyHash => Settlement) internal _settlements;
    mapping(bytes32 id => Pending) internal _pending;

    event SettlementOpened(
        bytes32 indexed id,
        address indexed store,
        address indexed payer,
        bytes32 orderNumber,
        address buyer,
        address token,
        uint256 amount,
        bytes32 snapshotHash,
        uint256 paidAt,
        uint256 deadline
    );
    event SettlementUpdated(
        bytes32 indexed id, uint256 previousAmount, uint256 amount, bytes32 snapshotHash, uint256 deadline
    );
    event SettlementShipped(bytes32 indexed id, bytes32 waybillHash);
    event ClaimOpened(bytes32 indexed id, uint256 amountDue, bytes32 reasonHash, uint256 respondBy);
    event DisputeRaised(
        bytes32 indexed id, address indexed by, uint256 proposedToStore, bytes32 reasonHash, address arbiter,
        uint256 decideBy
    );
    event SettlementCompleted(
        bytes32 indexed id, uint256 indexed paymentRecord, uint256 toStore, uint256 toPayer, Ending ending
    );
    event SettlementReleased(bytes32 indexed id, uint256 indexed paymentRecord, uint256 toStore);
    event SettlementRejected(bytes32 indexed id, uint256 indexed paymentRecord, uint256 toPayer);
    event DisputeResolved(
        bytes32 indexed id, uint256 indexed paymentRecord, uint256 toStore, uint256 toPayer, Ending ending
    );
    event PayoutCredited(bytes32 indexed id, address indexed recipient, address token, uint256 amount);

    error NotPayer(address caller, address payer);
    error NotBuyer(address caller, address buyer);
    error NotStore(address caller, address store);
    error InvalidAmount(uint256 amount);
    error AmountExceedsFrozen(uint256 amount, uint256 frozen);
    error TimeLimitOutOfRange(uint256 timeLimit, uint256 min, uint256 max);
    error WindowOutOfRange(uint256 window, uint256 min, uint256 max);
    error InvalidStatus(bytes32 id, Status status);
    error TimeLimitPassed(bytes32 id, uint256 deadline);
    error TimeLimitNotReached(bytes32 id, uint256 deadline);
    error WindowOpen(bytes32 id, uint256 until);
    error TermsChanged(bytes32 id, uint256 frozenAmount);
    error AgreementExpired(uint256 deadline);
    error BadSignature(address signer);
    error TooManyRounds(bytes32 keyHash);

    /// @param owner_ Account that allow-lists tokens and announces arbiters.
    /// @param arbiter_ The first arbiter (effective at once).
    /// @param defaultTimeLimit Seconds from payment until anyone may release (when `open` gets 0).
    /// @param minTimeLimit Smallest time limit a payer may choose.
    /// @param maxTimeLimit Largest time limit a payer may choose (at most a year).
    /// @param responseWindow Seconds the store has to answer a claim.
    /// @param arbitrationWindow Seconds the arbiter has to split a dispute.
    /// @param arbiterDelay Seconds from a new arbiter's announcement until it takes effect.
    constructor(
        address owner_,
        address arbiter_,
        uint32 defaultTimeLimit,
        uint32 minTimeLimit,
        uint32 maxTimeLimit,
        uint32 responseWindow,
        uint32 arbitrationWindow,
        uint32 arbiterDelay
    ) Ownable(owner_) ArbiterSchedule(arbiter_, arbiterDelay) EIP712("C2CSettlement", "1") {
        if (
            minTimeLimit == 0 || defaultTimeLimit < minTimeLimit || defaultTimeLimit > maxTimeLimit
                || maxTimeLimit > MAX_TIME_LIMIT_CAP
        ) revert TimeLimitOutOfRange(defaultTimeLimit, minTimeLimit, maxTimeLimit);
        _checkWindow(responseWindow);
        _checkWindow(arbitrationWindow);
        _checkWindow(arbiterDelay);
        DEFAULT_TIME_LIMIT = defaultTimeLimit;
        MIN_TIME_LIMIT = minTimeLimit;
        MAX_TIME_LIMIT = maxTimeLimit;
        RESPONSE_WINDOW = responseWindow;
        ARBITRATION_WINDOW = arbitrationWindow;
    }

    // ----------------------------------------------------------------- payer

    /// @notice Opens a settlement, freezing `amount` of the key's token taken from the payer
    /// (who must have approved this contract); called again for the same key while the
    /// order is paid and unshipped, it updates the amount: a higher one pulls the
    /// difference, a lower one refunds the excess. Called after the key's settlement closed,
    /// it opens a new one (a new id).
    /// @param key The settlement's parties, order number and token; the caller must be the payer.
    /// @param amount Amount to hold frozen, in the token's base units.
    /// @param snapshotHash keccak-256 of the store order snapshot this payment is for.
    /// @param timeLimit Seconds from payment until release is allowed; 0 for the default
    /// (on an update: 0 keeps the current one).
    /// @return id The settlement id.
    function open(SettlementKey calldata key, uint256 amount, bytes32 snapshotHash, uint32 timeLimit)
        external
        nonReentrant
        returns (bytes32 id)
    {
        return _open(key, amount, snapshotHash, timeLimit);
    }

    /// @notice `open` with an EIP-2612 permit signed by the payer for this contract, so no
    /// separate approval is needed. A permit that fails is ignored only if the allowance is
    /// already in place (someone used it first); otherwise the token's reason is returned.
    /// @param permitValue The value the payer signed in the permit.
    /// @param permitDeadline The deadline the payer signed in the permit.
    function openWithPermit(
        SettlementKey calldata key,
        uint256 amount,
        bytes32 snapshotHash,
        uint32 timeLimit,
        uint256 permitValue,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (bytes32 id) {
        try IERC20Permit(key.token).permit(key.payer, address(this), permitValue, permitDeadline, v, r, s) {}
        catch (bytes memory reason) {
            if (IERC20(key.token).allowance(key.payer, address(this)) < amount) {
                assembly ("memory-safe") {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
        return _open(key, amount, snapshotHash, timeLimit);
    }

    // ----------------------------------------------------------------- store

    /// @notice The store ships, with the hash of its logistics record, against the frozen
    /// amount and snapshot hash it saw; reverts if the payer changed them in between.
    /// @param waybillHash keccak-256 of the logistics (waybill) record.
    /// @param amount The frozen amount the store ships against.
    /// @param snapshotHash The snapshot hash the store ships against.
    function ship(SettlementKey calldata key, bytes32 waybillHash, uint256 amount, bytes32 snapshotHash) external {
        if (msg.sender != key.store) revert NotStore(msg.sender, key.store);
        (Settlement storage s, bytes32 id) = _current(key);
        if (s.status != Status.Paid) revert InvalidStatus(id, s.status);
        if (s.amount != amount || s.terms != uint64(uint256(snapshotHash))) revert TermsChanged(id, s.amount);
        s.status = Status.Shipped;
        emit SettlementShipped(id, waybillHash);
    }

    /// @notice The store rejects an unshipped order, or concedes a claim or a dispute: the
    /// payer gets the full frozen amount back.
    function reject(SettlementKey calldata key) external nonReentrant {
        if (msg.sender != key.store) revert NotStore(msg.sender, key.store);
        (Settlement storage s, bytes32 id) = _current(key);
        Status status = s.status;
        if (status != Status.Paid && status != Status.Claimed && status != Status.Disputed) {
            revert InvalidStatus(id, status);
        }
        s.status = Status.Rejected;
        uint256 amount = s.amount;
        emit SettlementRejected(id, nextPaymentRecord++, amount);
        _pay(id, IERC20(key.token), key.payer, amount);
    }

    /// @notice The store accepts the buyer's claim: paid the claimed amount due, the payer the rest.
    function acceptClaim(SettlementKey calldata key) external nonReentrant {
        if (msg.sender != key.store) revert NotStore(msg.sender, key.store);
        (Settlement storage s, bytes32 id) = _current(key);
        if (s.status != Status.Claimed) revert InvalidStatus(id, s.status);
        _complete(key, s, id, _pending[id].toStore, Ending.ClaimAccepted);
    }

    /// @notice The store contests the buyer's claim: it becomes a dispute for the arbiter.
    /// @param reasonHash keccak-256 of the store's statement.
    function contestClaim(SettlementKey calldata key, bytes32 reasonHash) external {
        if (msg.sender != key.store) revert NotStore(msg.sender, key.store);
        (Settlement storage s, bytes32 id) = _current(key);
        if (s.status != Status.Claimed) revert InvalidStatus(id, s.status);
        _raise(s, id, _pending[id].toStore, reasonHash);
    }

    // ----------------------------------------------------------------- buyer

    /// @notice The buyer confirms receipt in full (also to withdraw a claim or a dispute):
    /// the store is paid the whole frozen amount. Possible at any time while funds are held.
    function confirm(SettlementKey calldata key) external nonReentrant {
        if (msg.sender != key.buyer) revert NotBuyer(msg.sender, key.buyer);
        (Settlement storage s, bytes32 id) = _current(key);
        Status status = s.status;
        if (status == Status.None || uint8(status) >= uint8(Status.Completed)) revert InvalidStatus(id, status);
        _complete(key, s, id, s.amount, Ending.Confirmed);
    }

    /// @notice Before the time limit, the buyer claims that less is due (a short or faulty
    /// delivery, S107). The store accepts or contests; if it stays silent past the response
    /// window, anyone may execute the claim.
    /// @param amountDue What the buyer says the store is owed, below the frozen amount.
    /// @param reasonHash keccak-256 of the buyer's statement.
    function claim(SettlementKey calldata key, uint256 amountDue, bytes32 reasonHash) external {
        if (msg.sender != key.buyer) revert NotBuyer(msg.sender, key.buyer);
        (Settlement storage s, bytes32 id) = _current(key);
        _openForClaims(s, id);
        if (amountDue >= s.amount) revert AmountExceedsFrozen(amountDue, s.amount);
        s.status = Status.Claimed;
        _pending[id] = Pending(uint96(amountDue), uint40(block.timestamp), 0);
        emit ClaimOpened(id, amountDue, reasonHash, block.timestamp + RESPONSE_WINDOW);
    }

    /// @notice Before the time limit, the buyer raises a dispute with the split it proposes;
    /// it stops the automatic release until the dispute ends.
    /// @param proposedToStore What the buyer proposes the store gets.
    /// @param reasonHash keccak-256 of the buyer's statement.
    function dispute(SettlementKey calldata key, uint256 proposedToStore, bytes32 reasonHash) external {
        if (msg.sender != key.buyer) revert NotBuyer(msg.sender, key.buyer);
        (Settlement storage s, bytes32 id) = _current(key);
        _openForClaims(s, id);
        if (proposedToStore > s.amount) revert AmountExceedsFrozen(proposedToStore, s.amount);
        _raise(s, id, proposedToStore, reasonHash);
    }

    // ----------------------------------------------------------------- both parties

    /// @notice Ends the settlement with a split both parties agree to: each either sends
    /// this call or signed the EIP-712 `Agreement(settlementId, toStore, deadline)`. While
    /// the settlement is merely paid or shipped, only before the time limit.
    /// @param toStore What the store gets; the payer gets the rest.
    /// @param deadline Until when the signatures hold.
    function settle(
        SettlementKey calldata key,
        uint256 toStore,
        uint256 deadline,
        bytes calldata storeSignature,
        bytes calldata buyerSignature
    ) external nonReentrant {
        (Settlement storage s, bytes32 id) = _current(key);
        Status status = s.status;
        if (status == Status.Paid || status == Status.Shipped) {
            uint256 limit = uint256(s.paidAt) + s.timeLimit;
            if (block.timestamp >= limit) revert TimeLimitPassed(id, limit);
        } else if (status != Status.Claimed && status != Status.Disputed) {
            revert InvalidStatus(id, status);
        }
        if (toStore > s.amount) revert AmountExceedsFrozen(toStore, s.amount);
        if (block.timestamp > deadline) revert AgreementExpired(deadline);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(AGREEMENT_TYPEHASH, id, toStore, deadline)));
        _consents(key.store, digest, storeSignature);
        _consents(key.buyer, digest, buyerSignature);
        if (status == Status.Disputed) _resolve(key, s, id, toStore, Ending.Agreed);
        else _complete(key, s, id, toStore, Ending.Agreed);
    }

    // ----------------------------------------------------------------- anyone, arbiter

    /// @notice Pays the full frozen amount to the store once the time limit has passed and
    /// no claim or dispute is open. Anyone may call it.
    function release(SettlementKey calldata key) external nonReentrant {
        (Settlement storage s, bytes32 id) = _current(key);
        Status status = s.status;
        if (status != Status.Paid && status != Status.Shipped) revert InvalidStatus(id, status);
        uint256 deadline = uint256(s.paidAt) + s.timeLimit;
        if (block.timestamp < deadline) revert TimeLimitNotReached(id, deadline);
        s.status = Status.Released;
        uint256 amount = s.amount;
        emit SettlementReleased(id, nextPaymentRecord++, amount);
        _pay(id, IERC20(key.token), key.store, amount);
    }

    /// @notice Executes a claim the store left unanswered past the response window. Anyone may call it.
    function executeClaim(SettlementKey calldata key) external nonReentrant {
        (Settlement storage s, bytes32 id) = _current(key);
        if (s.status != Status.Claimed) revert InvalidStatus(id, s.status);
        Pending memory p = _pending[id];
        uint256 until = uint256(p.since) + RESPONSE_WINDOW;
        if (block.timestamp < until) revert WindowOpen(id, until);
        _complete(key, s, id, p.toStore, Ending.ClaimExecuted);
    }

    /// @notice The dispute's arbiter splits it: `toStore` to the store, the rest to the payer.
    function resolve(SettlementKey calldata key, uint256 toStore) external nonReentrant {
        (Settlement storage s, bytes32 id) = _current(key);
        if (s.status != Status.Disputed) revert InvalidStatus(id, s.status);
        _onlyArbiter(_pending[id].arbiterIndex);
        if (toStore > s.amount) revert AmountExceedsFrozen(toStore, s.amount);
        _resolve(key, s, id, toStore, Ending.Arbitrated);
    }

    /// @notice Ends a dispute the arbiter left undecided past the arbitration window, halfway
    /// between the buyer's proposal and the full amount. Anyone may call it.
    function endLapsedDispute(SettlementKey calldata key) external nonReentrant {
        (Settlement storage s, bytes32 id) = _current(key);
        if (s.status != Status.Disputed) revert InvalidStatus(id, s.status);
        Pending memory p = _pending[id];
        uint256 until = uint256(p.since) + ARBITRATION_WINDOW;
        if (block.timestamp < until) revert WindowOpen(id, until);
        _resolve(key, s, id, p.toStore + (s.amount - p.toStore) / 2, Ending.ArbitrationLapsed);
    }

    // ----------------------------------------------------------------- views
    // (announcing arbiters, and the arbiter in effect: `ArbiterSchedule`)

    /// @notice The id of the key's latest settlement (open or closed).
    function settlementId(SettlementKey calldata key) public view returns (bytes32) {
        bytes32 keyHash = keccak256(abi.encode(key));
        return _id(keyHash, _settlements[keyHash].round);
    }

    /// @notice The id that `open` with this key creates or updates now.
    function openSettlementId(SettlementKey calldata key) external view returns (bytes32) {
        bytes32 keyHash = keccak256(abi.encode(key));
        Settlement memory s = _settlements[keyHash];
        return _id(keyHash, uint8(s.status) >= uint8(Status.Completed) ? s.round + 1 : s.round);
    }

    /// @notice The stored state of the key's latest settlement, with its id.
    function getSettlement(SettlementKey calldata key) external view returns (bytes32 id, Settlement memory) {
        bytes32 keyHash = keccak256(abi.encode(key));
        Settlement memory s = _settlements[keyHash];
        return (_id(keyHash, s.round), s);
    }

    /// @notice A claim's or dispute's amount, start and arbiter index, by settlement id.
    function pendingOf(bytes32 id) external view returns (Pending memory) {
        return _pending[id];
    }

    /// @notice The EIP-712 digest both parties sign to agree on a split.
    function agreementDigest(bytes32 id, uint256 toStore, uint256 deadline) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(AGREEMENT_TYPEHASH, id, toStore, deadline)));
    }

    // ----------------------------------------------------------------- internal

    function _id(bytes32 keyHash, uint16 round) internal pure returns (bytes32) {
        return round == 0 ? keyHash : keccak256(abi.encode(keyHash, round));
    }

    function _current(SettlementKey calldata key) internal view returns (Settlement storage s, bytes32 id) {
        bytes32 keyHash = keccak256(abi.encode(key));
        s = _settlements[keyHash];
        id = _id(keyHash, s.round);
    }

    function _checkWindow(uint32 window) internal pure {
        if (window < MIN_WINDOW || window > MAX_WINDOW) revert WindowOutOfRange(window, MIN_WINDOW, MAX_WINDOW);
    }

    /// @dev Claims and disputes are raised from Paid or Shipped, before the time limit.
    function _openForClaims(Settlement storage s, bytes32 id) internal view {
        if (s.status != Status.Paid && s.status != Status.Shipped) revert InvalidStatus(id, s.status);
        uint256 deadline = uint256(s.paidAt) + s.timeLimit;
        if (block.timestamp >= deadline) revert TimeLimitPassed(id, deadline);
    }

    function _raise(Settlement storage s, bytes32 id, uint256 proposedToStore, bytes32 reasonHash) internal {
        s.status = Status.Disputed;
        uint32 index = _arbiterIndex();
        _pending[id] = Pending(uint96(proposedToStore), uint40(block.timestamp), index);
        emit DisputeRaised(
            id, msg.sender, proposedToStore, reasonHash, arbiters[index], block.timestamp + ARBITRATION_WINDOW
        );
    }

    function _consents(address party, bytes32 digest, bytes calldata signature) internal view {
        if (msg.sender == party) return;
        if (!SignatureChecker.isValidSignatureNow(party, digest, signature)) revert BadSignature(party);
    }

    function _complete(SettlementKey calldata key, Settlement storage s, bytes32 id, uint256 toStore, Ending ending)
        internal
    {
        s.status = Status.Completed;
        uint256 amount = s.amount;
        emit SettlementCompleted(id, nextPaymentRecord++, toStore, amount - toStore, ending);
        _split(key, id, toStore, amount - toStore);
    }

    function _resolve(SettlementKey calldata key, Settlement storage s, bytes32 id, uint256 toStore, Ending ending)
        internal
    {
        s.status = Status.Resolved;
        uint256 amount = s.amount;
        emit DisputeResolved(id, nextPaymentRecord++, toStore, amount - toStore, ending);
        _split(key, id, toStore, amount - toStore);
    }

    function _split(SettlementKey calldata key, bytes32 id, uint256 toStore, uint256 toPayer) internal {
        IERC20 token = IERC20(key.token);
        if (toStore != 0) _pay(id, token, key.store, toStore);
        if (toPayer != 0) _pay(id, token, key.payer, toPayer);
    }

    /// @dev A transfer that fails (the token blocklists the recipient) credits the recipient
    /// instead, so one blocked party never holds up the settlement or anybody else.
    function _pay(bytes32 id, IERC20 token, address to, uint256 amount) internal {
        if (!_tryPay(token, to, amount)) emit PayoutCredited(id, to, address(token), amount);
    }

    function _open(SettlementKey calldata key, uint256 amount, bytes32 snapshotHash, uint32 timeLimit)
        internal
        returns (bytes32 id)
    {
        if (msg.sender != key.payer) revert NotPayer(msg.sender, key.payer);
        if (amount == 0 || amount > type(uint96).max) revert InvalidAmount(amount);
        bytes32 keyHash = keccak256(abi.encode(key));
        Settlement memory s = _settlements[keyHash];
        IERC20 token = IERC20(key.token);
        if (s.status == Status.None || uint8(s.status) >= uint8(Status.Completed)) {
            uint32 limit = timeLimit == 0 ? DEFAULT_TIME_LIMIT : timeLimit;
            if (limit < MIN_TIME_LIMIT || limit > MAX_TIME_LIMIT) {
                revert TimeLimitOutOfRange(limit, MIN_TIME_LIMIT, MAX_TIME_LIMIT);
            }
            if (key.store == address(0) || key.buyer == address(0)) revert ZeroAddress();
            if (!tokenAllowed[key.token]) revert TokenNotAllowed(key.token);
            uint16 round = s.status == Status.None ? 0 : s.round + 1;
            if (s.status != Status.None && s.round == type(uint16).max) revert TooManyRounds(keyHash);
            id = _id(keyHash, round);
            _settlements[keyHash] = Settlement(
                uint96(amount), uint40(block.timestamp), limit, Status.Paid, round, uint64(uint256(snapshotHash))
            );
            emit SettlementOpened(
                id, key.store, key.payer, key.orderNumber, key.buyer, key.token, amount, snapshotHash,
                block.timestamp, block.timestamp + limit
            );
            _pull(token, key.payer, amount);
            return id;
        }
        id = _id(keyHash, s.round);
        if (s.status != Status.Paid) revert InvalidStatus(id, s.status);
        uint256 oldDeadline = uint256(s.paidAt) + s.timeLimit;
        if (block.timestamp >= oldDeadline) revert TimeLimitPassed(id, oldDeadline);
        uint32 newLimit = s.timeLimit;
        if (timeLimit != 0) {
            if (timeLimit < MIN_TIME_LIMIT || timeLimit > MAX_TIME_LIMIT) {
                revert TimeLimitOutOfRange(timeLimit, MIN_TIME_LIMIT, MAX_TIME_LIMIT);
            }
            if (uint256(s.paidAt) + timeLimit <= block.timestamp) {
                revert TimeLimitPassed(id, uint256(s.paidAt) + timeLimit);
            }
            newLimit = timeLimit;
        }
        _settlements[keyHash] =
            Settlement(uint96(amount), s.paidAt, newLimit, Status.Paid, s.round, uint64(uint256(snapshotHash)));
        emit SettlementUpdated(id, s.amount, amount, snapshotHash, uint256(s.paidAt) + newLimit);
        if (amount > s.amount) _pull(token, key.payer, amount - s.amount);
        else if (amount < s.amount) token.safeTransfer(key.payer, s.amount - amount);
    }
}
