// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title C2CSettlement: escrowed settlement of store orders in ERC-20 tokens
/// @notice A buyer (or a credit provider paying for the buyer) freezes the amount of a
/// store order in this contract; the store ships; the buyer confirms receipt with the
/// amount actually due and the store is paid that amount, the payer the rest. If the
/// buyer stays silent past the settlement time limit anyone may release the full amount
/// to the store.
///
/// Trust model
/// - A settlement is keyed by (store, order number, buyer, payer, token). Its id is the
///   keccak-256 of that key, so nobody can block or take over another party's order by
///   opening a settlement under the same order number first: a different buyer or payer
///   makes a different settlement, which the store may reject.
/// - Payer: opens and updates (top-up or partial refund) while the order is unshipped and
///   within its time limit; every refund goes back to the payer.
/// - Store (its address signs and receives payouts): ships, or rejects before shipping
///   (full refund). In a dispute the store may concede with a full refund.
/// - Buyer: confirms receipt with the amount due (at most the frozen amount), or raises a
///   dispute before the time limit, which stops the automatic release.
/// - Arbiter (set by the owner): resolves a dispute with a split. If the arbiter is
///   silent, either party can still end the dispute (buyer confirms, store concedes), and
///   the owner can appoint another arbiter.
/// - Anyone: releases the full amount to the store once the time limit has passed.
/// - Owner: allow-lists tokens and appoints the arbiter; it can never move settlement funds.
/// Every settlement ends in exactly one payout event (Completed, Released, Rejected or
/// DisputeResolved), each with a sequential payment record number.
///
/// Storage holds one slot per settlement (amount, payment time, time limit, status); the
/// key's parties and the store order snapshot hash live in the id and the event log.
contract C2CSettlement is Ownable2Step, ReentrancyGuardTransient {
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
        Disputed,
        Completed,
        Released,
        Rejected,
        Resolved
    }

    struct Settlement {
        uint96 amount;
        uint40 paidAt;
        uint32 timeLimit;
        Status status;
    }

    /// @notice Time limit used when `open` is given 0.
    uint32 public immutable DEFAULT_TIME_LIMIT;
    uint32 public immutable MIN_TIME_LIMIT;
    uint32 public immutable MAX_TIME_LIMIT;

    address public arbiter;
    /// @notice The payment record number the next payout gets (numbers start at 1).
    uint256 public nextPaymentRecord = 1;
    mapping(address token => bool) public tokenAllowed;
    mapping(bytes32 id => Settlement) internal _settlements;

    event SettlementOpened(
        bytes32 indexed id,
        address indexed store,
        address indexed buyer,
        bytes32 orderNumber,
        address payer,
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
    event SettlementCompleted(bytes32 indexed id, uint256 indexed paymentRecord, uint256 toStore, uint256 toPayer);
    event SettlementReleased(bytes32 indexed id, uint256 indexed paymentRecord, uint256 toStore);
    event SettlementRejected(bytes32 indexed id, uint256 indexed paymentRecord, uint256 toPayer);
    event DisputeRaised(bytes32 indexed id, bytes32 reasonHash);
    event DisputeResolved(bytes32 indexed id, uint256 indexed paymentRecord, uint256 toStore, uint256 toPayer);
    event TokenAllowed(address indexed token, bool allowed);
    event ArbiterChanged(address indexed previousArbiter, address indexed arbiter);

    error NotPayer(address caller, address payer);
    error NotBuyer(address caller, address buyer);
    error NotStore(address caller, address store);
    error NotArbiter(address caller, address arbiter);
    error ZeroAddress();
    error TokenNotAllowed(address token);
    error InvalidAmount(uint256 amount);
    error AmountExceedsFrozen(uint256 amount, uint256 frozen);
    error TimeLimitOutOfRange(uint256 timeLimit, uint256 min, uint256 max);
    error InvalidStatus(bytes32 id, Status status);
    error TimeLimitPassed(bytes32 id, uint256 deadline);
    error TimeLimitNotReached(bytes32 id, uint256 deadline);

    /// @param owner_ Account that allow-lists tokens and appoints the arbiter.
    /// @param arbiter_ Account that resolves disputes.
    /// @param defaultTimeLimit Seconds from payment until anyone may release (when `open` gets 0).
    /// @param minTimeLimit Smallest time limit a payer may choose.
    /// @param maxTimeLimit Largest time limit a payer may choose.
    constructor(
        address owner_,
        address arbiter_,
        uint32 defaultTimeLimit,
        uint32 minTimeLimit,
        uint32 maxTimeLimit
    ) Ownable(owner_) {
        if (minTimeLimit == 0 || defaultTimeLimit < minTimeLimit || defaultTimeLimit > maxTimeLimit) {
            revert TimeLimitOutOfRange(defaultTimeLimit, minTimeLimit, maxTimeLimit);
        }
        DEFAULT_TIME_LIMIT = defaultTimeLimit;
        MIN_TIME_LIMIT = minTimeLimit;
        MAX_TIME_LIMIT = maxTimeLimit;
        _setArbiter(arbiter_);
    }

    // ----------------------------------------------------------------- payer

    /// @notice Opens a settlement, freezing `amount` of the key's token taken from the payer
    /// (who must have approved this contract); called again for the same key while the
    /// order is paid and unshipped, it updates the amount: a higher one pulls the
    /// difference, a lower one refunds the excess. The settlement id stays the same.
    /// @param key The settlement's parties, order number and token; the caller must be the payer.
    /// @param amount Amount to hold frozen, in the token's base units.
    /// @param snapshotHash keccak-256 of the store order snapshot this payment is for.
    /// @param timeLimit Seconds from payment until release is allowed; 0 for the default.
    /// @return id The settlement id.
    function open(SettlementKey calldata key, uint256 amount, bytes32 snapshotHash, uint32 timeLimit)
        external
        nonReentrant
        returns (bytes32 id)
    {
        return _open(key, amount, snapshotHash, timeLimit);
    }

    /// @notice `open` with an EIP-2612 permit signed by the payer for this contract, so no
    /// separate approval transaction is needed. A permit that was already used (for
    /// example by someone who saw it first) is ignored if the allowance is in place.
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
        try IERC20Permit(key.token).permit(key.payer, address(this), permitValue, permitDeadline, v, r, s) {} catch {}
        return _open(key, amount, snapshotHash, timeLimit);
    }

    // ----------------------------------------------------------------- store

    /// @notice The store marks the order shipped, with the hash of its logistics record.
    /// @param waybillHash keccak-256 of the logistics (waybill) record.
    function ship(SettlementKey calldata key, bytes32 waybillHash) external {
        if (msg.sender != key.store) revert NotStore(msg.sender, key.store);
        bytes32 id = settlementId(key);
        Settlement storage s = _settlements[id];
        if (s.status != Status.Paid) revert InvalidStatus(id, s.status);
        s.status = Status.Shipped;
        emit SettlementShipped(id, waybillHash);
    }

    /// @notice The store rejects an unshipped order, or concedes a dispute: the payer gets
    /// the full frozen amount back.
    function reject(SettlementKey calldata key) external nonReentrant {
        if (msg.sender != key.store) revert NotStore(msg.sender, key.store);
        bytes32 id = settlementId(key);
        Settlement storage s = _settlements[id];
        Status status = s.status;
        if (status != Status.Paid && status != Status.Disputed) revert InvalidStatus(id, status);
        s.status = Status.Rejected;
        uint256 amount = s.amount;
        emit SettlementRejected(id, nextPaymentRecord++, amount);
        IERC20(key.token).safeTransfer(key.payer, amount);
    }

    // ----------------------------------------------------------------- buyer

    /// @notice The buyer confirms receipt. The store is paid `amountDue`, the payer gets
    /// the rest of the frozen amount (for short or faulty deliveries).
    /// @param amountDue What the store is owed, at most the frozen amount.
    function confirm(SettlementKey calldata key, uint256 amountDue) external nonReentrant {
        if (msg.sender != key.buyer) revert NotBuyer(msg.sender, key.buyer);
        bytes32 id = settlementId(key);
        Settlement storage s = _settlements[id];
        Status status = s.status;
        if (status != Status.Paid && status != Status.Shipped && status != Status.Disputed) {
            revert InvalidStatus(id, status);
        }
        uint256 amount = s.amount;
        if (amountDue > amount) revert AmountExceedsFrozen(amountDue, amount);
        s.status = Status.Completed;
        emit SettlementCompleted(id, nextPaymentRecord++, amountDue, amount - amountDue);
        _payOut(key, amountDue, amount - amountDue);
    }

    /// @notice The buyer disputes the order before the time limit, which stops the
    /// automatic release until the arbiter resolves it or a party ends it.
    /// @param reasonHash keccak-256 of the buyer's statement.
    function dispute(SettlementKey calldata key, bytes32 reasonHash) external {
        if (msg.sender != key.buyer) revert NotBuyer(msg.sender, key.buyer);
        bytes32 id = settlementId(key);
        Settlement storage s = _settlements[id];
        Status status = s.status;
        if (status != Status.Paid && status != Status.Shipped) revert InvalidStatus(id, status);
        uint256 deadline = uint256(s.paidAt) + s.timeLimit;
        if (block.timestamp >= deadline) revert TimeLimitPassed(id, deadline);
        s.status = Status.Disputed;
        emit DisputeRaised(id, reasonHash);
    }

    // ----------------------------------------------------------------- anyone, arbiter

    /// @notice Pays the full frozen amount to the store once the time limit has passed and
    /// no dispute is open. Anyone may call it.
    function release(SettlementKey calldata key) external nonReentrant {
        bytes32 id = settlementId(key);
        Settlement storage s = _settlements[id];
        Status status = s.status;
        if (status != Status.Paid && status != Status.Shipped) revert InvalidStatus(id, status);
        uint256 deadline = uint256(s.paidAt) + s.timeLimit;
        if (block.timestamp < deadline) revert TimeLimitNotReached(id, deadline);
        s.status = Status.Released;
        uint256 amount = s.amount;
        emit SettlementReleased(id, nextPaymentRecord++, amount);
        IERC20(key.token).safeTransfer(key.store, amount);
    }

    /// @notice The arbiter ends a dispute: `toStore` to the store, the rest to the payer.
    function resolve(SettlementKey calldata key, uint256 toStore) external nonReentrant {
        if (msg.sender != arbiter) revert NotArbiter(msg.sender, arbiter);
        bytes32 id = settlementId(key);
        Settlement storage s = _settlements[id];
        if (s.status != Status.Disputed) revert InvalidStatus(id, s.status);
        uint256 amount = s.amount;
        if (toStore > amount) revert AmountExceedsFrozen(toStore, amount);
        s.status = Status.Resolved;
        emit DisputeResolved(id, nextPaymentRecord++, toStore, amount - toStore);
        _payOut(key, toStore, amount - toStore);
    }

    // ----------------------------------------------------------------- owner

    /// @notice Allows or disallows a token for new settlements; open ones are unaffected.
    function setTokenAllowed(address token, bool allowed) external onlyOwner {
        if (token == address(0)) revert ZeroAddress();
        tokenAllowed[token] = allowed;
        emit TokenAllowed(token, allowed);
    }

    /// @notice Appoints the account that resolves disputes.
    function setArbiter(address arbiter_) external onlyOwner {
        _setArbiter(arbiter_);
    }

    // ----------------------------------------------------------------- views

    /// @notice The id of the settlement with this key.
    function settlementId(SettlementKey calldata key) public pure returns (bytes32) {
        return keccak256(abi.encode(key));
    }

    /// @notice The stored state of the settlement with this id.
    function getSettlement(bytes32 id) external view returns (Settlement memory) {
        return _settlements[id];
    }

    /// @notice When release becomes allowed for this settlement (0 if it does not exist).
    function deadlineOf(bytes32 id) external view returns (uint256) {
        Settlement memory s = _settlements[id];
        return s.status == Status.None ? 0 : uint256(s.paidAt) + s.timeLimit;
    }

    // ----------------------------------------------------------------- internal

    function _open(SettlementKey calldata key, uint256 amount, bytes32 snapshotHash, uint32 timeLimit)
        internal
        returns (bytes32 id)
    {
        if (msg.sender != key.payer) revert NotPayer(msg.sender, key.payer);
        if (amount == 0 || amount > type(uint96).max) revert InvalidAmount(amount);
        uint32 limit = timeLimit == 0 ? DEFAULT_TIME_LIMIT : timeLimit;
        if (limit < MIN_TIME_LIMIT || limit > MAX_TIME_LIMIT) {
            revert TimeLimitOutOfRange(limit, MIN_TIME_LIMIT, MAX_TIME_LIMIT);
        }
        id = settlementId(key);
        Settlement memory s = _settlements[id];
        IERC20 token = IERC20(key.token);
        if (s.status == Status.None) {
            if (key.store == address(0) || key.buyer == address(0)) revert ZeroAddress();
            if (!tokenAllowed[key.token]) revert TokenNotAllowed(key.token);
            _settlements[id] = Settlement(uint96(amount), uint40(block.timestamp), limit, Status.Paid);
            emit SettlementOpened(
                id, key.store, key.buyer, key.orderNumber, key.payer, key.token, amount, snapshotHash,
                block.timestamp, block.timestamp + limit
            );
            token.safeTransferFrom(key.payer, address(this), amount);
            return id;
        }
        if (s.status != Status.Paid) revert InvalidStatus(id, s.status);
        uint256 oldDeadline = uint256(s.paidAt) + s.timeLimit;
        if (block.timestamp >= oldDeadline) revert TimeLimitPassed(id, oldDeadline);
        _settlements[id] = Settlement(uint96(amount), s.paidAt, limit, Status.Paid);
        emit SettlementUpdated(id, s.amount, amount, snapshotHash, uint256(s.paidAt) + limit);
        if (amount > s.amount) token.safeTransferFrom(key.payer, address(this), amount - s.amount);
        else if (amount < s.amount) token.safeTransfer(key.payer, s.amount - amount);
    }

    function _payOut(SettlementKey calldata key, uint256 toStore, uint256 toPayer) internal {
        IERC20 token = IERC20(key.token);
        if (toStore != 0) token.safeTransfer(key.store, toStore);
        if (toPayer != 0) token.safeTransfer(key.payer, toPayer);
    }

    function _setArbiter(address arbiter_) internal {
        if (arbiter_ == address(0)) revert ZeroAddress();
        emit ArbiterChanged(arbiter, arbiter_);
        arbiter = arbiter_;
    }
}
