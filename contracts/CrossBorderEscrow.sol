// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ArbiterSchedule} from "./lib/ArbiterSchedule.sol";
import {CreditedPayouts} from "./lib/CreditedPayouts.sol";

/// @title CrossBorderEscrow: a notary escrow holding a cross-border order's price and target freight
/// @notice The buyer pays the goods' price plus the target freight (estimated from comparable
/// orders, converted at the operator's recorded rate: both are in the order snapshot whose
/// hash the order carries) and names the billing window it agreed to. While the goods travel,
/// the seller or the operator pays freight legs from the escrow to carriers, never more than
/// the freight held. On delivery the final bill settles the freight: the unused freight is
/// refunded to the buyer at once, or, if the freight exceeded the target, the buyer is asked
/// for a top-up by a deadline. The price waits out the return window, then goes to the
/// seller; within it the buyer may ask to return the goods, and the seller accepts (the price
/// is refunded, less the return freight if the order's policy puts it on the buyer) or
/// refuses with a reason, which the buyer may take to the arbiter.
///
/// Trust model: what each party can do, and what happens when it goes silent
/// - Buyer: pays (one order per quote: the same snapshot hash twice from one buyer is
///   refused); tops up when asked; asks for a return within the window; contests a refused
///   return; cancels, or escalates, an order the seller left unbilled past its billing
///   deadline. Silent buyer: a top-up not paid by its deadline goes to the arbiter (anyone
///   escalates; the lapse pays the seller all the escrow holds); the price goes to the
///   seller after the return window (anyone releases), and after a refused return once the
///   buyer's contest window passed. An order past its billing deadline waits for the buyer,
///   whose money it is; the seller may still bill it until the buyer acts.
/// - Seller (and the operator, for freight): pays legs, issues the final bill, answers a
///   return request. Silent seller: an order not billed by its billing deadline (payment +
///   the billing window the order states, 1 to 180 days) is cancelled by the buyer, who gets
///   the price and the unspent freight back (legs already paid to carriers stay paid), or
///   escalated by the buyer (the lapse pays the buyer all the escrow holds); a return request
///   unanswered within the response window goes to the arbiter (anyone escalates; the lapse
///   splits what the escrow holds in half). Accepting a return under the buyer-pays policy
///   keeps at most the order's billed freight (fixed before the buyer asked) as the return
///   freight; refusing one gives the buyer the response window to escalate (the lapse splits
///   in half, as for silence), and the price stays in escrow until that window ends.
/// - Arbiter: splits what the escrow holds of a dispute raised while it was the arbiter (the
///   dispute keeps it). Silent arbiter: after the arbitration window anyone ends the dispute
///   with the split fixed when it was raised.
/// - Owner: allow-lists tokens, names the operator, and announces arbiters, who take effect
///   after a delay and only for disputes raised from then on (`ArbiterSchedule`); it never
///   moves funds.
/// Every amount an order holds is summed in 256 bits, so no order is too large to end.
/// Every payout the token refuses is credited for the recipient to claim (`CreditedPayouts`).
contract CrossBorderEscrow is ArbiterSchedule, CreditedPayouts {
    enum Status {
        None,
        Paid, // in escrow, legs may be paid, the final bill is due by the billing deadline
        TopUpRequested, // final bill above the target: waiting for the buyer's top-up
        Billed, // freight settled; the price waits out the return window
        ReturnRequested, // the buyer asked to return the goods
        ReturnRefused, // the seller refused: the buyer may escalate within the response window
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
        uint40 deadline; // the billing deadline (Paid), the top-up deadline (TopUpRequested), the end of the return window (Billed)
        uint40 respondBy; // the seller's answer (ReturnRequested), the buyer's contest (ReturnRefused), the arbiter (Disputed)
        address seller;
        uint96 price;
        address token;
        uint96 owed; // the top-up asked for (TopUpRequested): at most the last leg
        uint96 freightHeld; // target freight paid in, plus any top-up
        uint96 freightPaid; // legs paid to carriers (beside freightHeld: a leg rewrites a slot in use)
        uint32 arbiterIndex; // the dispute's arbiter (Disputed), in `arbiters`
        Lapse lapse; // what a silent arbiter's dispute pays the seller (Disputed)
    }

    /// @notice The seller's share of what a disputed order holds when its arbiter stays silent
    /// (what it holds does not change while disputed, so the share is kept, not the amount).
    enum Lapse {
        Nothing,
        Half,
        All
    }

    /// @notice Ways an order ends with `Released` (a return accepted ends with `Returned`).
    uint8 internal constant RELEASED = 0;
    uint8 internal constant ARBITRATED = 1;
    uint8 internal constant ARBITRATION_LAPSED = 2;
    uint8 internal constant CANCELLED = 3;
    uint32 public constant MIN_WINDOW = 1 days;
    uint32 public constant MAX_WINDOW = 180 days;

    uint32 public immutable returnWindow;
    uint32 public immutable topUpWindow;
    uint32 public immutable responseWindow;
    uint32 public immutable arbitrationWindow;
    address public operator;
    uint256 public orderCount;
    mapping(uint256 orderId => Order) public orders;
    /// @notice The order a buyer paid for a quote (by its snapshot hash); 0 while none.
    mapping(address buyer => mapping(bytes32 snapshotHash => uint256 orderId)) public orderOfQuote;

    event OperatorSet(address indexed operator);
    event OrderPaid(
        uint256 indexed orderId,
        address indexed buyer,
        address indexed seller,
        address token,
        uint256 price,
        uint256 freightHeld,
        bytes32 snapshotHash,
        uint8 policy,
        uint256 billBy
    );
    event LegPaid(uint256 indexed orderId, address indexed carrier, uint256 amount, bytes32 waybillHash, uint256 freightPaid);
    event FinalBill(uint256 indexed orderId, uint256 freight, uint256 refunded, uint256 topUp, uint256 releaseAt);
    event ToppedUp(uint256 indexed orderId, uint256 amount, uint256 releaseAt);
    event ReturnRequested(uint256 indexed orderId, bytes32 reasonHash, uint256 respondBy);
    event ReturnRefused(uint256 indexed orderId, bytes32 reasonHash, uint256 contestBy);
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
    error ReturnFreightTooHigh(uint256 returnFreight, uint256 cap);
    error QuoteAlreadyPaid(bytes32 snapshotHash, uint256 orderId);
    error WindowOutOfRange(uint256 window, uint256 min, uint256 max);

    /// @param returnWindow_ Seconds after the final bill (or the top-up) during which the buyer may ask to return.
    /// @param topUpWindow_ Seconds the buyer has to pay a top-up the final bill asked for.
    /// @param responseWindow_ Seconds the seller has to answer a return, and the buyer to contest a refusal.
    /// @param arbitrationWindow_ Seconds the arbiter has to split a dispute.
    /// @param arbiterDelay Seconds from a new arbiter's announcement until it takes effect.
    constructor(
        address owner_,
        address operator_,
        address arbiter_,
        uint32 returnWindow_,
        uint32 topUpWindow_,
        uint32 responseWindow_,
        uint32 arbitrationWindow_,
        uint32 arbiterDelay
    ) Ownable(owner_) ArbiterSchedule(arbiter_, arbiterDelay) {
        if (operator_ == address(0)) revert ZeroAddress();
        _checkWindow(returnWindow_);
        _checkWindow(topUpWindow_);
        _checkWindow(responseWindow_);
        _checkWindow(arbitrationWindow_);
        _checkWindow(arbiterDelay);
        operator = operator_;
        returnWindow = returnWindow_;
        topUpWindow = topUpWindow_;
        responseWindow = responseWindow_;
        arbitrationWindow = arbitrationWindow_;
        emit OperatorSet(operator_);
    }

    function setOperator(address operator_) external onlyOwner {
        if (operator_ == address(0)) revert ZeroAddress();
        operator = operator_;
        emit OperatorSet(operator_);
    }

    // ----------------------------------------------------------------- buyer

    /// @notice Pays price + target freight into escrow for `seller` (the confirmation is this transaction).
    /// @param snapshotHash Hash of the order snapshot: goods, price, the freight quote, the exchange rate
    /// with its time and its signature's hash, the return policy, the billing window. A buyer pays a
    /// snapshot once.
    /// @param billingWindow Seconds from now by which the final bill is due (1 to 180 days); after
    /// them the buyer may cancel.
    function pay(address seller, address token, uint96 price, uint96 targetFreight, bytes32 snapshotHash,
        ReturnPolicy policy, uint32 billingWindow) external nonReentrant returns (uint256 orderId) {
        if (!tokenAllowed[token]) revert TokenNotAllowed(token);
        if (seller == address(0)) revert ZeroAddress();
        if (price == 0) revert InvalidAmount();
        _checkWindow(billingWindow);
        uint256 earlier = orderOfQuote[msg.sender][snapshotHash];
        if (earlier != 0) revert QuoteAlreadyPaid(snapshotHash, earlier);
        orderId = ++orderCount;
        orderOfQuote[msg.sender][snapshotHash] = orderId;
        uint40 billBy = uint40(block.timestamp) + billingWindow;
        orders[orderId] = Order(msg.sender, Status.Paid, policy, billBy, 0, seller, price, token, 0, targetFreight, 0,
            0, Lapse.Nothing);
        emit OrderPaid(orderId, msg.sender, seller, token, price, targetFreight, snapshotHash, uint8(policy), billBy);
        _pull(IERC20(token), msg.sender, uint256(price) + targetFreight);
    }

    /// @notice Pays the top-up the final bill asked for, before its deadline.
    function topUp(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, Status.TopUpRequested);
        if (msg.sender != o.buyer) revert NotParty(msg.sender);
        if (block.timestamp > o.deadline) revert TooLate(o.deadline);
        uint96 amount = o.owed;
        o.freightHeld += amount;
        o.owed = 0;
        o.status = Status.Billed;
        o.deadline = uint40(block.timestamp) + returnWindow;
        emit ToppedUp(orderId, amount, o.deadline);
        _pull(IERC20(o.token), msg.sender, amount);
        _settleFreight(orderId, o);
    }

    /// @notice Asks to return the goods, within the return window (once per order).
    function requestReturn(uint256 orderId, bytes32 reasonHash) external {
        Order storage o = _order(orderId, Status.Billed);
        if (msg.sender != o.buyer) revert NotParty(msg.sender);
        if (block.timestamp > o.deadline) revert TooLate(o.deadline);
        o.status = Status.ReturnRequested;
        o.respondBy = uint40(block.timestamp) + responseWindow;
        emit ReturnRequested(orderId, reasonHash, o.respondBy);
    }

    /// @notice The seller did not bill by the billing deadline: the buyer takes back the price
    /// and the freight not yet paid to carriers (legs paid stay paid).
    function cancel(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, Status.Paid);
        if (msg.sender != o.buyer) revert NotParty(msg.sender);
        if (block.timestamp <= o.deadline) revert TooEarly(o.deadline);
        _end(orderId, o, 0, CANCELLED);
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
    /// Allowed after the billing deadline too, until the buyer cancels or escalates.
    function finalBill(uint256 orderId, address carrier, uint96 lastLeg, bytes32 waybillHash) external nonReentrant {
        Order storage o = _order(orderId, Status.Paid);
        _onlyShipper(o);
        uint256 freight = uint256(o.freightPaid) + lastLeg;
        if (freight > type(uint96).max) revert InvalidAmount();
        _pendingLeg[orderId] = PendingLeg(carrier, lastLeg, waybillHash);
        if (freight > o.freightHeld) {
            o.owed = uint96(freight - o.freightHeld); // at most the last leg
            o.status = Status.TopUpRequested;
            o.deadline = uint40(block.timestamp) + topUpWindow;
            emit FinalBill(orderId, freight, 0, o.owed, o.deadline);
            return;
        }
        o.status = Status.Billed;
        o.deadline = uint40(block.timestamp) + returnWindow;
        emit FinalBill(orderId, freight, o.freightHeld - freight, 0, o.deadline);
        _settleFreight(orderId, o);
    }

    /// @notice The seller answers a return request: accept (the price is refunded, less the return
    /// freight when the policy puts it on the buyer: at most the order's billed freight) or refuse
    /// with a reason, which the buyer may take to the arbiter within the response window.
    function answerReturn(uint256 orderId, bool accept, uint96 returnFreight, bytes32 reasonHash)
        external
        nonReentrant
    {
        Order storage o = _order(orderId, Status.ReturnRequested);
        if (msg.sender != o.seller) revert NotParty(msg.sender);
        if (!accept) {
            o.status = Status.ReturnRefused;
            o.respondBy = uint40(block.timestamp) + responseWindow;
            emit ReturnRefused(orderId, reasonHash, o.respondBy);
            return;
        }
        uint256 cap;
        if (o.policy == ReturnPolicy.BuyerPaysReturn) cap = o.freightPaid < o.price ? o.freightPaid : o.price;
        if (returnFreight > cap) revert ReturnFreightTooHigh(returnFreight, cap);
        uint256 toBuyer = o.price - returnFreight;
        o.status = Status.Settled;
        o.price = 0;
        emit Returned(orderId, toBuyer, returnFreight);
        _pay(o.token, o.buyer, toBuyer);
        if (returnFreight > 0) _pay(o.token, o.seller, returnFreight);
    }

    // ----------------------------------------------------------------- anyone, arbiter

    /// @notice After the return window (or, after a refused return, the buyer's contest window),
    /// the price goes to the seller.
    function release(uint256 orderId) external nonReentrant {
        Order storage o = orders[orderId];
        uint256 until;
        if (o.status == Status.Billed) until = o.deadline;
        else if (o.status == Status.ReturnRefused) until = o.respondBy;
        else _order(orderId, Status.Billed); // reverts with the order's status
        if (block.timestamp <= until) revert TooEarly(until);
        uint256 price = o.price;
        o.status = Status.Settled;
        o.price = 0;
        emit Released(orderId, price, 0, RELEASED);
        _pay(o.token, o.seller, price);
    }

    /// @notice Takes an order to the arbiter; what a lapse (a silent arbiter) pays is fixed now.
    /// - An unpaid top-up, after its deadline (anyone): all the escrow holds to the seller, who
    ///   owes the carrier the whole freight.
    /// - An unanswered return, after the response window (anyone): half of it (halfway between
    ///   keeping the sale and undoing it).
    /// - A refused return, within the response window after the refusal (the buyer): half of it.
    /// - An order the seller left unbilled past its billing deadline (the buyer): all of it to
    ///   the buyer, as if cancelled.
    function escalate(uint256 orderId) external {
        Order storage o = orders[orderId];
        Status status = o.status;
        Lapse lapse;
        if (status == Status.TopUpRequested) {
            if (block.timestamp <= o.deadline) revert TooEarly(o.deadline);
            lapse = Lapse.All;
        } else if (status == Status.ReturnRequested) {
            if (block.timestamp <= o.respondBy) revert TooEarly(o.respondBy);
            lapse = Lapse.Half;
        } else if (status == Status.ReturnRefused) {
            if (msg.sender != o.buyer) revert NotParty(msg.sender);
            if (block.timestamp > o.respondBy) revert TooLate(o.respondBy);
            lapse = Lapse.Half;
        } else if (status == Status.Paid) {
            if (msg.sender != o.buyer) revert NotParty(msg.sender);
            if (block.timestamp <= o.deadline) revert TooEarly(o.deadline);
        } else {
            _order(orderId, Status.Paid); // reverts with the order's status
        }
        uint32 index = _arbiterIndex();
        o.status = Status.Disputed;
        o.respondBy = uint40(block.timestamp) + arbitrationWindow;
        o.arbiterIndex = index;
        o.lapse = lapse;
        emit Escalated(orderId, arbiters[index], _lapseToSeller(o), o.respondBy);
    }

    /// @notice The dispute's arbiter splits what the escrow holds of it.
    function resolve(uint256 orderId, uint256 toSeller) external nonReentrant {
        Order storage o = _order(orderId, Status.Disputed);
        _onlyArbiter(o.arbiterIndex);
        _end(orderId, o, toSeller, ARBITRATED);
    }

    /// @notice After the arbitration window, anyone ends a dispute with its lapse split.
    function endLapsed(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, Status.Disputed);
        if (block.timestamp <= o.respondBy) revert TooEarly(o.respondBy);
        _end(orderId, o, _lapseToSeller(o), ARBITRATION_LAPSED);
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

    /// @dev Ends an order: `toSeller` of what it holds to the seller, the rest to the buyer.
    function _end(uint256 orderId, Order storage o, uint256 toSeller, uint8 ending) internal {
        uint256 held = _held(o);
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

    /// @dev Summed in 256 bits: price and freight may each reach 2**96 - 1.
    function _held(Order storage o) internal view returns (uint256) {
        return uint256(o.price) + o.freightHeld - o.freightPaid;
    }

    function _lapseToSeller(Order storage o) internal view returns (uint256) {
        if (o.lapse == Lapse.All) return _held(o);
        return o.lapse == Lapse.Half ? _held(o) / 2 : 0;
    }

    function _order(uint256 orderId, Status wanted) internal view returns (Order storage o) {
        o = orders[orderId];
        if (o.status == Status.None) revert InvalidOrder(orderId);
        if (o.status != wanted) revert WrongStatus(orderId, o.status);
    }

    function _onlyShipper(Order storage o) internal view {
        if (msg.sender != o.seller && msg.sender != operator) revert NotParty(msg.sender);
    }

    function _checkWindow(uint32 window) internal pure {
        if (window < MIN_WINDOW || window > MAX_WINDOW) revert WindowOutOfRange(window, MIN_WINDOW, MAX_WINDOW);
    }

    function _pay(address token, address to, uint256 amount) internal {
        if (!_tryPay(IERC20(token), to, amount)) emit Credited(to, token, amount);
    }
}
