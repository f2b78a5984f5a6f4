// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {CreditedPayouts} from "./lib/CreditedPayouts.sol";

/// @title OfflinePayment: pay after verified delivery, under a mandate the buyer signed
/// @notice At checkout the buyer signs a mandate (EIP-712 typed data, no transaction): the
/// store it pays, the token, the most it may collect in all, the order it is for, until when
/// it holds and a nonce. No money moves; it stays in the buyer's wallet, which approved this
/// contract (or signs an EIP-2612 permit) beforehand. When a shipment of the order passed the
/// operator's checks (the goods, the courier, the waybill, the category), the verifier records
/// it here with its amount and the hashes of its waybill and category; only then can the
/// store's share of that shipment be collected, pulled from the buyer straight to the
/// mandate's store (credited to the store to claim if the token refuses to pay it). A
/// collection the buyer's allowance or balance no longer covers is recorded as a default and
/// ends the shipment: it is never retried.
///
/// Trust model: what each party can do, and what happens when it goes silent
/// - Buyer: signs mandates; revokes one before its first verification; may withdraw its
///   allowance at any time (a collection then defaults, and the engine lowers its reputation).
///   Silent buyer: nothing is asked of it; collection needs no action of its own.
/// - Store: ships; collects a verified shipment (as anyone may). It can never collect a
///   shipment twice, more than the mandate's maximum across all shipments, before
///   verification, after the mandate's valid-until, or for anyone but itself. Silent store:
///   an unshipped order is never verified, and at valid-until the mandate is dead: nothing moved.
/// - Verifier (the operator's verification service): records a shipment that passed its
///   checks (the contract numbers a mandate's shipments 1, 2, 3 ...; the engine's reference
///   rides in the event), or raises an alarm on a verified shipment or on the whole mandate
///   (a check failed on a shipment not verified). It cannot move money, raise a mandate's total above
///   the buyer's maximum, or send anything anywhere but to the mandate's store. Silent
///   verifier: nothing is verified, and at valid-until nothing has moved (the buyer keeps its
///   money; the store, which shipped, is owed by the operator that checks shipments for it).
/// - Operator: clears an alarm, either letting collection proceed or cancelling the shipment
///   (its amount no longer counts toward the maximum) or, for an alarm on the mandate, the
///   mandate (nothing more is verified or collected under it). Silent operator: an open alarm blocks
///   every collection of its mandate; at valid-until nothing more can move: the buyer never
///   pays for goods an alarm held up.
/// - Owner: allow-lists tokens and names the verifier and the operator; it never moves funds.
/// Amounts are summed in 96 bits per mandate (7.9e28 base units). A mandate's first shipment
/// is kept in the mandate's own storage slot, so the usual case (one shipment per store and
/// order) writes one new slot.
contract OfflinePayment is CreditedPayouts, EIP712 {
    using SafeERC20 for IERC20;

    struct Mandate {
        address buyer;
        address store;
        address token;
        uint256 maxAmount;
        bytes32 orderHash;
        uint256 validUntil;
        uint256 nonce;
    }

    enum MandateStatus {
        Unseen, // never verified against, never revoked
        Active, // its buyer's signature checked at a first verification
        Revoked, // by its buyer, before any verification
        Cancelled // an alarm on the mandate was cleared without proceeding
    }

    enum ShipmentStatus {
        None,
        Verified, // passed the checks: collectable while no alarm is open and the mandate holds
        Collected, // paid to the store (or credited to it)
        Defaulted, // the buyer's allowance or balance did not cover it: ended
        Cancelled // an alarm on it was cleared without proceeding: ended
    }

    struct Shipment {
        uint96 amount;
        ShipmentStatus status;
        bool alarmed;
    }

    /// One slot: the mandate's totals and alarms, and its first shipment.
    struct MandateState {
        uint96 verified; // sum of the shipments verified and not cancelled: what can ever be collected
        uint16 openAlarms;
        uint8 shipments; // how many were verified (numbered 1 ...)
        MandateStatus status;
        bool alarmed; // an alarm on the mandate as a whole
        // the first shipment, in this slot (a nested struct would take a slot of its own)
        uint96 firstAmount;
        ShipmentStatus firstStatus;
        bool firstAlarmed;
    }

    bytes32 public constant MANDATE_TYPEHASH = keccak256(
        "Mandate(address buyer,address store,address token,uint256 maxAmount,bytes32 orderHash,uint256 validUntil,uint256 nonce)"
    );
    uint256 public constant MAX_SHIPMENTS = type(uint8).max;

    address public verifier;
    address public operator;
    mapping(bytes32 mandateId => MandateState) internal _mandates;
    mapping(bytes32 mandateId => mapping(uint256 index => Shipment)) internal _later; // shipments 2 ...

    event VerifierSet(address indexed verifier);
    event OperatorSet(address indexed operator);
    event MandateRegistered(
        bytes32 indexed mandateId,
        address indexed buyer,
        address indexed store,
        address token,
        uint256 maxAmount,
        bytes32 orderHash,
        uint256 validUntil,
        uint256 nonce
    );
    event MandateRevoked(bytes32 indexed mandateId, address indexed buyer);
    event ShipmentVerified(
        bytes32 indexed mandateId,
        uint256 indexed index,
        bytes32 shipmentRef,
        uint256 amount,
        bytes32 waybillHash,
        bytes32 categoryHash
    );
    event Collected(bytes32 indexed mandateId, uint256 indexed index, address indexed store, uint256 amount, bool credited);
    event CollectionDefaulted(bytes32 indexed mandateId, uint256 indexed index, address indexed buyer, uint256 amount);
    /// @dev `index` 0: the mandate as a whole.
    event AlarmRaised(bytes32 indexed mandateId, uint256 indexed index, bytes32 reasonHash);
    event AlarmCleared(bytes32 indexed mandateId, uint256 indexed index, bool proceed, bytes32 reasonHash);
    event Credited(address indexed recipient, address token, uint256 amount);

    error NotVerifier(address caller);
    error NotOperator(address caller);
    error NotBuyer(address caller, address buyer);
    error BadSignature(address buyer);
    error MandateExpired(bytes32 mandateId, uint256 validUntil);
    error MandateNotOpen(bytes32 mandateId, MandateStatus status);
    error MandateInUse(bytes32 mandateId);
    error ZeroAmount();
    error OverMandate(bytes32 mandateId, uint256 total, uint256 maxAmount);
    error TooManyShipments(bytes32 mandateId);
    error NotCollectable(bytes32 mandateId, uint256 index, ShipmentStatus status);
    error AlarmOpen(bytes32 mandateId, uint256 openAlarms);
    error AlreadyAlarmed(bytes32 mandateId, uint256 index);
    error NoAlarm(bytes32 mandateId, uint256 index);
    error NotAlarmable(bytes32 mandateId, uint256 index, ShipmentStatus status);

    constructor(address owner_, address verifier_, address operator_)
        Ownable(owner_)
        EIP712("OfflinePayment", "1")
    {
        if (verifier_ == address(0) || operator_ == address(0)) revert ZeroAddress();
        verifier = verifier_;
        operator = operator_;
        emit VerifierSet(verifier_);
        emit OperatorSet(operator_);
    }

    modifier onlyVerifier() {
        if (msg.sender != verifier) revert NotVerifier(msg.sender);
        _;
    }

    // -- the owner

    function setVerifier(address verifier_) external onlyOwner {
        if (verifier_ == address(0)) revert ZeroAddress();
        verifier = verifier_;
        emit VerifierSet(verifier_);
    }

    function setOperator(address operator_) external onlyOwner {
        if (operator_ == address(0)) revert ZeroAddress();
        operator = operator_;
        emit OperatorSet(operator_);
    }

    // -- the buyer

    /// @notice Revokes a mandate before its first verification (nothing can be collected under it then).
    function revoke(Mandate calldata m) external {
        if (msg.sender != m.buyer) revert NotBuyer(msg.sender, m.buyer);
        bytes32 id = mandateId(m);
        MandateState storage s = _mandates[id];
        if (s.status == MandateStatus.Active) revert MandateInUse(id);
        if (s.status != MandateStatus.Unseen) revert MandateNotOpen(id, s.status);
        s.status = MandateStatus.Revoked;
        emit MandateRevoked(id, m.buyer);
    }

    // -- the verifier

    /// @notice Records that a shipment under the mandate passed the checks, for `amount` (the
    /// store's share of it), as the mandate's next shipment; `shipmentRef` is the engine's
    /// reference of it. The first verification checks the buyer's signature of the mandate.
    function verify(
        Mandate calldata m,
        bytes calldata signature,
        bytes32 shipmentRef,
        uint256 amount,
        bytes32 waybillHash,
        bytes32 categoryHash
    ) external onlyVerifier returns (uint256 index) {
        bytes32 id = mandateId(m);
        if (block.timestamp > m.validUntil) revert MandateExpired(id, m.validUntil);
        if (amount == 0) revert ZeroAmount();
        MandateState storage s = _mandates[id];
        if (s.status != MandateStatus.Active) _register(m, id, signature, s);
        if (s.alarmed) revert AlarmOpen(id, s.openAlarms);
        uint256 total = uint256(s.verified) + amount;
        if (total > m.maxAmount) revert OverMandate(id, total, m.maxAmount);
        index = uint256(s.shipments) + 1;
        if (index > MAX_SHIPMENTS) revert TooManyShipments(id);
        s.verified = SafeCast.toUint96(total);
        s.shipments = uint8(index);
        _put(s, id, index, Shipment(uint96(amount), ShipmentStatus.Verified, false)); // amount <= total
        emit ShipmentVerified(id, index, shipmentRef, amount, waybillHash, categoryHash);
    }

    /// @notice Raises an alarm on a verified shipment, or (`index` 0) on the mandate as a whole:
    /// every collection under the mandate waits until the operator clears it, and an alarm on
    /// the mandate holds back further verifications too.
    function raiseAlarm(bytes32 id, uint256 index, bytes32 reasonHash) external onlyVerifier {
        MandateState storage s = _mandates[id];
        if (index == 0) {
            if (s.alarmed) revert AlreadyAlarmed(id, 0);
            if (s.status == MandateStatus.Revoked || s.status == MandateStatus.Cancelled) {
                revert MandateNotOpen(id, s.status);
            }
            s.alarmed = true;
        } else {
            Shipment memory sh = _get(s, id, index);
            if (sh.alarmed) revert AlreadyAlarmed(id, index);
            if (sh.status != ShipmentStatus.Verified) revert NotAlarmable(id, index, sh.status);
            sh.alarmed = true;
            _put(s, id, index, sh);
        }
        s.openAlarms += 1;
        emit AlarmRaised(id, index, reasonHash);
    }

    // -- the operator

    /// @notice Clears an alarm: collection may proceed, or the shipment is cancelled (its
    /// amount no longer counts toward the maximum), or for an alarm on the mandate the mandate is.
    function clearAlarm(bytes32 id, uint256 index, bool proceed, bytes32 reasonHash) external {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        MandateState storage s = _mandates[id];
        if (index == 0) {
            if (!s.alarmed) revert NoAlarm(id, 0);
            s.alarmed = false;
            if (!proceed) s.status = MandateStatus.Cancelled;
        } else {
            Shipment memory sh = _get(s, id, index);
            if (!sh.alarmed) revert NoAlarm(id, index);
            sh.alarmed = false;
            if (!proceed) {
                s.verified -= sh.amount;
                sh.status = ShipmentStatus.Cancelled;
            }
            _put(s, id, index, sh);
        }
        s.openAlarms -= 1;
        emit AlarmCleared(id, index, proceed, reasonHash);
    }

    // -- anyone (the engine's keeper, the store)

    /// @notice Collects a verified shipment from the buyer for the mandate's store; a
    /// collection the buyer's allowance or balance does not cover is recorded as a default.
    /// @return collected whether the store was paid (or credited).
    function collect(Mandate calldata m, uint256 index) external returns (bool collected) {
        bytes32 id = mandateId(m);
        MandateState storage s = _mandates[id];
        Shipment memory sh = _get(s, id, index);
        if (sh.status != ShipmentStatus.Verified) revert NotCollectable(id, index, sh.status);
        if (block.timestamp > m.validUntil) revert MandateExpired(id, m.validUntil);
        if (s.status != MandateStatus.Active) revert MandateNotOpen(id, s.status);
        if (s.openAlarms != 0) revert AlarmOpen(id, s.openAlarms);
        sh.status = ShipmentStatus.Collected; // before any token call: a shipment is collected once
        _put(s, id, index, sh);
        uint256 amount = sh.amount;
        IERC20 token = IERC20(m.token);
        if (token.trySafeTransferFrom(m.buyer, m.store, amount)) {
            emit Collected(id, index, m.store, amount, false);
            return true;
        }
        if (_tryPull(token, m.buyer, amount)) {
            // the token refuses to pay the store (it blocks it): the store claims it later
            credits[m.token][m.store] += amount;
            emit Credited(m.store, m.token, amount);
            emit Collected(id, index, m.store, amount, true);
            return true;
        }
        sh.status = ShipmentStatus.Defaulted;
        _put(s, id, index, sh);
        emit CollectionDefaulted(id, index, m.buyer, amount);
        return false;
    }

    /// @dev A mandate's first verification: open, its token allowed, its store named, its buyer's signature.
    function _register(Mandate calldata m, bytes32 id, bytes calldata signature, MandateState storage s) internal {
        if (s.status != MandateStatus.Unseen) revert MandateNotOpen(id, s.status);
        if (!tokenAllowed[m.token]) revert TokenNotAllowed(m.token);
        if (m.store == address(0)) revert ZeroAddress();
        if (!SignatureChecker.isValidSignatureNow(m.buyer, id, signature)) revert BadSignature(m.buyer);
        s.status = MandateStatus.Active;
        emit MandateRegistered(id, m.buyer, m.store, m.token, m.maxAmount, m.orderHash, m.validUntil, m.nonce);
    }

    // -- views

    /// @notice The mandate's id: its EIP-712 digest under this contract's domain (what the buyer signs).
    function mandateId(Mandate calldata m) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    MANDATE_TYPEHASH, m.buyer, m.store, m.token, m.maxAmount, m.orderHash, m.validUntil, m.nonce
                )
            )
        );
    }

    function mandate(bytes32 id)
        external
        view
        returns (uint256 verified, uint256 openAlarms, uint256 shipments, MandateStatus status, bool alarmed)
    {
        MandateState storage s = _mandates[id];
        return (s.verified, s.openAlarms, s.shipments, s.status, s.alarmed);
    }

    function shipment(bytes32 id, uint256 index) external view returns (Shipment memory) {
        return _get(_mandates[id], id, index);
    }

    function _get(MandateState storage s, bytes32 id, uint256 index) internal view returns (Shipment memory) {
        if (index == 1) return Shipment(s.firstAmount, s.firstStatus, s.firstAlarmed);
        return _later[id][index];
    }

    function _put(MandateState storage s, bytes32 id, uint256 index, Shipment memory sh) internal {
        if (index == 1) {
            (s.firstAmount, s.firstStatus, s.firstAlarmed) = (sh.amount, sh.status, sh.alarmed);
        } else {
            _later[id][index] = sh;
        }
    }

    /// @dev Pulls exactly `amount` into this contract, or nothing (a shortfall token is refused).
    function _tryPull(IERC20 token, address from, uint256 amount) internal returns (bool) {
        uint256 before = token.balanceOf(address(this));
        if (!token.trySafeTransferFrom(from, address(this), amount)) return false;
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TransferShortfall(address(token), amount, received);
        return true;
    }
}
