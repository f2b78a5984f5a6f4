// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {CreditedPayouts} from "./lib/CreditedPayouts.sol";

/// @title CrossBorderEscrow: a notary escrow holding a cross-border order's price and target freight
/// @notice The buyer pays the goods' price plus the target freight (estimated from comparable
/// orders, converted at the operator's recorded rate: both are in the order snapshot whose
/// hash the order carries). While the goods travel, the seller or the operator pays freight
/// legs from the escrow to carriers, never more than the freight held. On delivery the final
/// bill settles the freight: the unused freight is refunded to the buyer at once, or, if the
/// freight exceeded the target, the buyer is asked for a top-up by a deadline. The price
/// waits out the return window, then goes to the seller; within it the buyer may ask to
/// return the goods, and the seller accepts (the price is refunded, less the return freight
/// if the order's policy puts it on the buyer) or refuses with a reason.
///
/// Trust model: what each party can do, and what happens when it goes silent
/// - Buyer: pays; tops up when asked; asks for a return within the window. Silent buyer: a
///   top-up not paid by its deadline goes to the arbiter (anyone escalates); the price goes
///   to the seller after the return window (anyone releases).
/// - Seller (and the operator, for freight): pays legs, issues the final bill, answers a
///   return request. Silent seller: a return request unanswered within the response window
///   goes to the arbiter (anyone escalates); the price stays in escrow meanwhile.
/// - Arbiter: splits what the escrow holds of a disputed order between seller and buyer.
///   Silent arbiter: after the arbitration window anyone ends the dispute with the split
///   fixed when it was raised (halfway between the two positions).
/// - Owner: allow-lists tokens and names the operator and the arbiter; it never moves funds.
/// Every payout the token refuses is credited for the recipient to claim (`CreditedPayouts`).
contract CrossBorderEscrow is CreditedPayouts {
    enum Status {
        None,
        Paid, // in escrow, legs may be paid
        TopUpRequested, // final bill above the target: waiting for the buyer's top-up
        Billed, // freight settled; the price waits out the return window
        ReturnRequested, // the buyer asked to return the goods
        Disputed, // with the arbiter
        Settled // nothing left in escrow
    }

    enum ReturnPolicy {
        SellerPaysReturn,
        BuyerPaysReturn
    }

    struct Order {
        address buyer;
        Status status;
        ReturnPolicy policy;
        address seller;
        uint40 releaseAt; // end of the return window (Billed) or the top-up deadline (TopUpRequested)
        uint40 respondBy; // the seller's answer to a return, or the arbiter's decision (Disputed)
        address token;
        uint96 price;
        uint96 freightHeld; // target freight paid in, plus any top-up
        uint96 freightPaid; // legs paid to carriers
        uint96 owed; // the top-up asked for (TopUpRequested), or the seller's share a lapse pays (Disputed)
        bytes32 snapshotHash;
    }

    uint40 public immutable returnWindow;
    uint40 public immutable topUpWindow;
    uint40 public immutable responseWindow;
    uint40 public immutable arbitrationWindow;
    address public operator;
    address public arbiter;
    uint256 public orderCount;
    mapping(uint256 orderId => Order) public orders;

    event OperatorSet(address indexed operator);
    event ArbiterSet(address indexed arbiter);
    event OrderPaid(
        uint256 indexed orderId,
        address indexed buyer,
        address indexed seller,
        address token,
        uint256 price,
        uint256 freightHeld,
        bytes32 snapshotHash,
        uint8 policy
    );
    event LegPaid(uint256 indexed orderId, address indexed carrier, uint256 amount, bytes32 waybillHash, uint256 freightPaid);
    event FinalBill(uint256 indexed orderId, uint256 freight, uint256 refunded, uint256 topUp, uint256 releaseAt);
    event ToppedUp(uint256 indexed orderId, uint256 amount, uint256 releaseAt);
    event ReturnRequested(uint256 indexed orderId, bytes32 reasonHash, uint256 respondBy);
    event ReturnRefused(uint256 indexed orderId, bytes32 reasonHash);
    event Returned(uint256 indexed orderId, uint256 toBuyer, uint256 toSeller);
    event Escalated(uint256 indexed orderId, address arbiter, uint256 lapseToSeller, uint256 decideBy);
    event Released(uint256 indexed orderId, uint256 toSeller, uint256 toBuyer, uint8 ending);
    event Credited(address indexed recipient, address token, uint256 amount);

    error InvalidOrder(uint256 orderId);
    error InvalidAmount();
    error NotParty(address caller);
    error WrongStatus(uint256 orderId, Status status);
    error OverFreight(uint256 orderId, uint256 available);
    error TooEarly(uint256 until);
    error TooLate(uint256 deadline);
    error SplitTooLarge(uint256 toSeller, uint256 held);

    constructor(
        address owner_,
        address operator_,
        address arbiter_,
        uint40 returnWindow_,
        uint40 topUpWindow_,
        uint40 responseWindow_,
        uint40 arbitrationWindow_
    ) Ownable(owner_) {
        if (operator_ == address(0) || arbiter_ == address(0)) revert ZeroAddress();
        operator = operator_;
        arbiter = arbiter_;
        returnWindow = returnWindow_;
        topUpWindow = topUpWindow_;
        responseWindow = responseWindow_;
        arbitrationWindow = arbitrationWindow_;
        emit OperatorSet(operator_);
        emit ArbiterSet(arbiter_);
    }

    function setOperator(address operator_) external onlyOwner {
        if (operator_ == address(0)) revert ZeroAddress();
        operator = operator_;
        emit OperatorSet(operator_);
    }

    function setArbiter(address arbiter_) external onlyOwner {
        if (arbiter_ == address(0)) revert ZeroAddress();
        arbiter = arbiter_;
        emit ArbiterSet(arbiter_);
    }

    // ----------------------------------------------------------------- buyer

    /// @notice Pays price + target freight into escrow for `seller` (the confirmation is this transaction).
    /// @param snapshotHash Hash of the order snapshot: goods, price, the freight quote, the exchange rate
    /// with its time and its signature's hash, the return policy.
    function pay(address seller, address token, uint96 price, uint96 targetFreight, bytes32 snapshotHash,
        ReturnPolicy policy) external nonReentrant returns (uint256 orderId) {
        if (!tokenAllowed[token]) revert TokenNotAllowed(token);
        if (seller == address(0)) revert ZeroAddress();
        if (price == 0) revert InvalidAmount();
        orderId = ++orderCount;
        orders[orderId] = Order(msg.sender, Status.Paid, policy, seller, 0, 0, token, price, targetFreight, 0, 0,
            snapshotHash);
        emit OrderPaid(orderId, msg.sender, seller, token, price, targetFreight, snapshotHash, uint8(policy));
        _pull(IERC20(token), msg.sender, uint256(price) + targetFreight);
    }

    /// @notice Pays the top-up the final bill asked for, before its deadline.
    function topUp(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, Status.TopUpRequested);
        if (msg.sender != o.buyer) revert NotParty(msg.sender);
        if (block.timestamp > o.releaseAt) revert TooLate(o.releaseAt);
        uint96 amount = o.owed;
        o.freightHeld += amount;
        o.owed = 0;
        o.status = Status.Billed;
        o.releaseAt = uint40(block.timestamp) + returnWindow;
        emit ToppedUp(orderId, amount, o.releaseAt);
        _pull(IERC20(o.token), msg.sender, amount);
        _settleFreight(orderId, o);
    }

    /// @notice Asks to return the goods, within the return window.
    function requestReturn(uint256 orderId, bytes32 reasonHash) external {
        Order storage o = _order(orderId, Status.Billed);
        if (msg.sender != o.buyer) revert NotParty(msg.sender);
        if (block.timestamp > o.releaseAt) revert TooLate(o.releaseAt);
        o.status = Status.ReturnRequested;
        o.respondBy = uint40(block.timestamp) + responseWindow;
        emit ReturnRequested(orderId, reasonHash, o.respondBy);
    }

    // ----------------------------------------------------------------- seller, operator

    /// @notice Pays a freight leg to a carrier from the freight held.
    function payLeg(uint256 orderId, address carrier, uint96 amount, bytes32 waybillHash) external nonReentrant {
        Order storage o = _order(orderId, Status.Paid);
        _onlyShipper(o);
        if (amount == 0 || carrier == address(0)) revert InvalidAmount();
        if (uint256(o.freightPaid) + amount > o.freightHeld) revert OverFreight(orderId, o.freightHeld - o.freightPaid);
        o.freightPaid += amount;
        emit LegPaid(orderId, carrier, amount, waybillHash, o.freightPaid);
        _pay(o.token, carrier, amount);
    }

    /// @notice On delivery: the last carrier's bill, if any, and so the actual freight. Below the
    /// freight held, the rest is refunded to the buyer now; above it, the buyer is asked to top up.
    function finalBill(uint256 orderId, address carrier, uint96 lastLeg, bytes32 waybillHash) external nonReentrant {
        Order storage o = _order(orderId, Status.Paid);
        _onlyShipper(o);
        uint256 freight = uint256(o.freightPaid) + lastLeg;
        if (freight > o.freightHeld) {
            o.owed = uint96(freight - o.freightHeld);
            o.status = Status.TopUpRequested;
            o.releaseAt = uint40(block.timestamp) + topUpWindow;
            o.respondBy = 0;
            _pendingLeg[orderId] = PendingLeg(carrier, lastLeg, waybillHash);
            emit FinalBill(orderId, freight, 0, o.owed, o.releaseAt);
            return;
        }
        o.status = Status.Billed;
        o.releaseAt = uint40(block.timestamp) + returnWindow;
        _pendingLeg[orderId] = PendingLeg(carrier, lastLeg, waybillHash);
        uint256 refund = o.freightHeld - freight;
        emit FinalBill(orderId, freight, refund, 0, o.releaseAt);
        _settleFreight(orderId, o);
    }

    /// @notice The seller answers a return request: accept (the price is refunded, less the return
    /// freight when the policy puts it on the buyer) or refuse with a reason.
    function answerReturn(uint256 orderId, bool accept, uint96 returnFreight, bytes32 reasonHash)
        external
        nonReentrant
    {
        Order storage o = _order(orderId, Status.ReturnRequested);
        if (msg.sender != o.seller) revert NotParty(msg.sender);
        if (!accept) {
            o.status = Status.Billed;
            emit ReturnRefused(orderId, reasonHash);
            return;
        }
        uint256 toSeller = o.policy == ReturnPolicy.BuyerPaysReturn ? returnFreight : 0;
        if (toSeller > o.price) revert SplitTooLarge(toSeller, o.price);
        uint256 toBuyer = o.price - toSeller;
        o.status = Status.Settled;
        o.price = 0;
        emit Returned(orderId, toBuyer, toSeller);
        _pay(o.token, o.buyer, toBuyer);
        if (toSeller > 0) _pay(o.token, o.seller, toSeller);
    }

    // ----------------------------------------------------------------- anyone, arbiter

    /// @notice After the return window, the price goes to the seller.
    function release(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, Status.Billed);
        if (block.timestamp <= o.releaseAt) revert TooEarly(o.releaseAt);
        uint256 price = o.price;
        o.status = Status.Settled;
        o.price = 0;
        emit Released(orderId, price, 0, 0);
        _pay(o.token, o.seller, price);
    }

    /// @notice A top-up unpaid by its deadline, or a return request unanswered within the response
    /// window, goes to the arbiter. What a lapse pays is fixed now: for an unpaid top-up, all the
    /// escrow holds goes to the seller (who owes the carrier the whole freight); for an unanswered
    /// return, half of it (halfway between keeping the sale and undoing it).
    function escalate(uint256 orderId) external {
        Order storage o = orders[orderId];
        uint256 held = uint256(o.price) + (o.freightHeld - o.freightPaid);
        uint256 lapseToSeller;
        if (o.status == Status.TopUpRequested) {
            if (block.timestamp <= o.releaseAt) revert TooEarly(o.releaseAt);
            lapseToSeller = held;
        } else if (o.status == Status.ReturnRequested) {
            if (block.timestamp <= o.respondBy) revert TooEarly(o.respondBy);
            lapseToSeller = held / 2;
        } else {
            revert WrongStatus(orderId, o.status);
        }
        o.status = Status.Disputed;
        o.owed = uint96(lapseToSeller);
        o.respondBy = uint40(block.timestamp) + arbitrationWindow;
        emit Escalated(orderId, arbiter, lapseToSeller, o.respondBy);
    }

    /// @notice The arbiter splits what the escrow holds of a disputed order.
    function resolve(uint256 orderId, uint96 toSeller) external nonReentrant {
        Order storage o = _order(orderId, Status.Disputed);
        if (msg.sender != arbiter) revert NotParty(msg.sender);
        _end(orderId, o, toSeller, 1);
    }

    /// @notice After the arbitration window, anyone ends a dispute with its lapse split.
    function endLapsed(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, Status.Disputed);
        if (block.timestamp <= o.respondBy) revert TooEarly(o.respondBy);
        _end(orderId, o, o.owed, 2);
    }

    // ----------------------------------------------------------------- internal

    struct PendingLeg {
        address carrier;
        uint96 amount;
        bytes32 waybillHash;
    }

    mapping(uint256 orderId => PendingLeg) internal _pendingLeg;

    /// @dev Pays the last leg and refunds the unused freight (the freight is then settled).
    function _settleFreight(uint256 orderId, Order storage o) internal {
        PendingLeg memory leg = _pendingLeg[orderId];
        delete _pendingLeg[orderId];
        uint256 unused = o.freightHeld - o.freightPaid - leg.amount;
        if (leg.amount > 0) {
            o.freightPaid += leg.amount;
            emit LegPaid(orderId, leg.carrier, leg.amount, leg.waybillHash, o.freightPaid);
            _pay(o.token, leg.carrier, leg.amount);
        }
        o.freightHeld = o.freightPaid;
        if (unused > 0) _pay(o.token, o.buyer, unused);
    }

    function _end(uint256 orderId, Order storage o, uint256 toSeller, uint8 ending) internal {
        uint256 held = o.price + (o.freightHeld - o.freightPaid);
        if (toSeller > held) revert SplitTooLarge(toSeller, held);
        delete _pendingLeg[orderId];   // an unpaid last leg is the seller's to settle with its carrier
        o.status = Status.Settled;
        o.price = 0;
        o.freightHeld = o.freightPaid;
        o.owed = 0;
        emit Released(orderId, toSeller, held - toSeller, ending);
        if (toSeller > 0) _pay(o.token, o.seller, toSeller);
        if (held > toSeller) _pay(o.token, o.buyer, held - toSeller);
    }

    function _order(uint256 orderId, Status wanted) internal view returns (Order storage o) {
        o = orders[orderId];
        if (o.status == Status.None) revert InvalidOrder(orderId);
        if (o.status != wanted) revert WrongStatus(orderId, o.status);
    }

    function _onlyShipper(Order storage o) internal view {
        if (msg.sender != o.seller && msg.sender != operator) revert NotParty(msg.sender);
    }

    function _pay(address token, address to, uint256 amount) internal {
        if (!_tryPay(IERC20(token), to, amount)) emit Credited(to, token, amount);
    }
}
