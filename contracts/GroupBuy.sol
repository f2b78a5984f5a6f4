// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {CreditedPayouts} from "./lib/CreditedPayouts.sol";

/// @title GroupBuy: MOQ crowdfunding of a customisation scheme's production cycle
/// @notice An enterprise opens a campaign for one scheme and one production cycle: unit
/// price, deposit per unit, the minimum order quantity (MOQ) that makes production worth
/// it, a maximum quantity, a target date and the payment token. Backers pledge quantities,
/// paying the deposit for each unit into this contract, with the hash of the order
/// confirmation they signed. The pledge that brings the pledged quantity to the MOQ
/// triggers production at once (`ProductionTriggered`); from then on the deposits are the
/// enterprise's, and pledges may go on up to the maximum until the target date. A campaign
/// still below its MOQ when the target date passes has failed, and every backer pulls its
/// refund.
///
/// Trust model: what each party can do, and what happens when it goes silent
/// - Enterprise: opens campaigns; while a campaign is open and below its MOQ it may lower
///   the MOQ (production triggers at once if the pledges already reach it) or extend the
///   target date, within the contract-wide bounds (never beyond `MAX_DURATION` after the
///   campaign opened); it may cancel a campaign that has not succeeded. It can never change
///   the price or the deposit. After success it collects the deposits; a token that refuses
///   to pay it credits the amount instead. Silent enterprise: the deposits wait for it in
///   the contract; backers lose nothing they were not committed to.
/// - Backer: pledges while the campaign is open (before its target date, not cancelled,
///   within the maximum). Silent backer: its pledge counts as committed; its refund of a
///   failed or cancelled campaign waits for it, forever, and blocks nobody (no loop over
///   backers anywhere; each pulls its own).
/// - Anyone: nothing is needed from a third party; a failed campaign is failed by the
///   clock alone (`status`), and `ProductionTriggered` is emitted by the pledge (or MOQ
///   change) that reaches the MOQ, exactly once.
/// - Owner: allow-lists payment tokens; it never moves deposits.
/// Payment handling (allow-listed tokens, refusal of tokens that deliver less than sent,
/// credits for refused payouts) is `CreditedPayouts`, shared with the other contracts.
contract GroupBuy is CreditedPayouts {
    enum Status {
        Open, // taking pledges, below the MOQ
        Succeeded, // the MOQ was reached: production triggered
        Failed, // the target date passed below the MOQ: refunds
        Cancelled // the enterprise cancelled before success: refunds
    }

    struct Campaign {
        address enterprise;
        uint40 openedAt;
        uint40 targetDate;
        bool succeeded;
        bool cancelled;
        address token;
        uint96 unitPrice;
        uint96 depositPerUnit;
        uint32 moq;
        uint32 maxQuantity;
        uint32 pledged;
        bytes32 schemeId;
        uint32 cycle;
        uint128 deposits; // every deposit taken
        uint128 settled; // collected by the enterprise, or refunded to backers
    }

    struct Backing {
        uint32 quantity;
        uint96 deposit;
        bool refunded;
    }

    /// @notice The latest a target date may be, counted from the campaign's opening.
    uint40 public constant MAX_DURATION = 365 days;

    mapping(uint256 campaignId => Campaign) internal _campaigns;
    mapping(uint256 campaignId => mapping(address backer => Backing)) public backings;
    uint256 public campaignCount;

    event CampaignOpened(
        uint256 indexed campaignId,
        address indexed enterprise,
        bytes32 indexed schemeId,
        uint256 cycle,
        address token,
        uint256 unitPrice,
        uint256 depositPerUnit,
        uint256 moq,
        uint256 maxQuantity,
        uint256 targetDate
    );
    event Pledged(
        uint256 indexed campaignId,
        address indexed backer,
        uint256 quantity,
        uint256 deposit,
        bytes32 confirmationHash,
        uint256 pledged
    );
    event ProductionTriggered(uint256 indexed campaignId, uint256 pledged, uint256 moq);
    event MoqLowered(uint256 indexed campaignId, uint256 previousMoq, uint256 moq);
    event TargetDateExtended(uint256 indexed campaignId, uint256 previousTargetDate, uint256 targetDate);
    event CampaignCancelled(uint256 indexed campaignId);
    event DepositsCollected(uint256 indexed campaignId, address indexed enterprise, uint256 amount, bool credited);
    event Refunded(uint256 indexed campaignId, address indexed backer, uint256 amount, bool credited);

    error InvalidCampaign(uint256 campaignId);
    error InvalidTerms();
    error NotEnterprise(address caller, address enterprise);
    error NotOpen(uint256 campaignId, Status status);
    error OverMaximum(uint256 campaignId, uint256 available);
    error TargetOutOfRange(uint256 targetDate, uint256 latest);
    error MoqNotLower(uint256 moq, uint256 current);
    error NotSucceeded(uint256 campaignId, Status status);
    error NoRefund(uint256 campaignId, address backer);
    error NothingToCollect(uint256 campaignId);

    constructor(address owner_) Ownable(owner_) {}

    // ----------------------------------------------------------------- enterprise

    /// @notice Opens a campaign for one scheme and production cycle; the caller is its enterprise.
    /// @param schemeId The customisation scheme (the engine's id of it).
    /// @param cycle The production cycle the campaign is for.
    /// @param unitPrice The price of one unit; the deposit is what is paid now.
    /// @param depositPerUnit What a backer pays into the contract per unit pledged (at most the price).
    /// @param moq The minimum order quantity that triggers production.
    /// @param maxQuantity The most units the cycle can take (at least the MOQ).
    /// @param targetDate Until when pledges are taken; below the MOQ by then, the campaign fails.
    function openCampaign(
        bytes32 schemeId,
        uint32 cycle,
        address token,
        uint96 unitPrice,
        uint96 depositPerUnit,
        uint32 moq,
        uint32 maxQuantity,
        uint40 targetDate
    ) external returns (uint256 campaignId) {
        if (!tokenAllowed[token]) revert TokenNotAllowed(token);
        if (depositPerUnit == 0 || depositPerUnit > unitPrice || moq == 0 || maxQuantity < moq) revert InvalidTerms();
        uint256 latest = block.timestamp + MAX_DURATION;
        if (targetDate <= block.timestamp || targetDate > latest) revert TargetOutOfRange(targetDate, latest);
        campaignId = ++campaignCount;
        Campaign storage c = _campaigns[campaignId];
        c.enterprise = msg.sender;
        c.openedAt = uint40(block.timestamp);
        c.targetDate = targetDate;
        c.token = token;
        c.unitPrice = unitPrice;
        c.depositPerUnit = depositPerUnit;
        c.moq = moq;
        c.maxQuantity = maxQuantity;
        c.schemeId = schemeId;
        c.cycle = cycle;
        emit CampaignOpened(
            campaignId, msg.sender, schemeId, cycle, token, unitPrice, depositPerUnit, moq, maxQuantity, targetDate
        );
    }

    /// @notice Lowers the MOQ of an open campaign (S3.2); production triggers at once if the
    /// pledges already reach the new MOQ.
    function lowerMoq(uint256 campaignId, uint32 moq) external {
        Campaign storage c = _enterprises(campaignId);
        _requireOpen(campaignId, c);
        if (moq == 0 || moq >= c.moq) revert MoqNotLower(moq, c.moq);
        emit MoqLowered(campaignId, c.moq, moq);
        c.moq = moq;
        _triggerIfReached(campaignId, c);
    }

    /// @notice Extends the target date of an open campaign (S3.2), never beyond
    /// `MAX_DURATION` after it opened.
    function extendTargetDate(uint256 campaignId, uint40 targetDate) external {
        Campaign storage c = _enterprises(campaignId);
        _requireOpen(campaignId, c);
        uint256 latest = uint256(c.openedAt) + MAX_DURATION;
        if (targetDate <= c.targetDate || targetDate > latest) revert TargetOutOfRange(targetDate, latest);
        emit TargetDateExtended(campaignId, c.targetDate, targetDate);
        c.targetDate = targetDate;
    }

    /// @notice Cancels a campaign that has not succeeded: every backer may take its refund.
    function cancel(uint256 campaignId) external {
        Campaign storage c = _enterprises(campaignId);
        _requireOpen(campaignId, c);
        c.cancelled = true;
        emit CampaignCancelled(campaignId);
    }

    /// @notice After success, pays the enterprise every deposit it has not collected yet.
    function collect(uint256 campaignId) external nonReentrant {
        Campaign storage c = _enterprises(campaignId);
        if (!c.succeeded) revert NotSucceeded(campaignId, _status(c));
        uint256 amount = c.deposits - c.settled;
        if (amount == 0) revert NothingToCollect(campaignId);
        c.settled = c.deposits;
        bool paid = _tryPay(IERC20(c.token), c.enterprise, amount);
        emit DepositsCollected(campaignId, c.enterprise, amount, !paid);
    }

    // ----------------------------------------------------------------- backers

    /// @notice Pledges `quantity` units, paying their deposits into the contract.
    /// @param confirmationHash The hash of the order confirmation the backer signed (its evidence).
    function pledge(uint256 campaignId, uint32 quantity, bytes32 confirmationHash) external nonReentrant {
        Campaign storage c = _campaigns[campaignId];
        if (c.enterprise == address(0)) revert InvalidCampaign(campaignId);
        Status s = _status(c);
        if (s != Status.Open && s != Status.Succeeded) revert NotOpen(campaignId, s);
        if (s == Status.Succeeded && block.timestamp > c.targetDate) revert NotOpen(campaignId, s);
        if (quantity == 0) revert InvalidTerms();
        if (uint256(c.pledged) + quantity > c.maxQuantity) revert OverMaximum(campaignId, c.maxQuantity - c.pledged);
        uint96 deposit = c.depositPerUnit * quantity;
        Backing storage b = backings[campaignId][msg.sender];
        b.quantity += quantity;
        b.deposit += deposit;
        c.pledged += quantity;
        c.deposits += deposit;
        emit Pledged(campaignId, msg.sender, quantity, deposit, confirmationHash, c.pledged);
        _triggerIfReached(campaignId, c);
        _pull(IERC20(c.token), msg.sender, deposit);
    }

    /// @notice A backer of a failed or cancelled campaign takes its deposits back (once).
    function refund(uint256 campaignId) external nonReentrant {
        Campaign storage c = _campaigns[campaignId];
        Status s = _status(c);
        Backing storage b = backings[campaignId][msg.sender];
        if ((s != Status.Failed && s != Status.Cancelled) || b.refunded || b.deposit == 0) {
            revert NoRefund(campaignId, msg.sender);
        }
        b.refunded = true;
        c.settled += b.deposit;
        bool paid = _tryPay(IERC20(c.token), msg.sender, b.deposit);
        emit Refunded(campaignId, msg.sender, b.deposit, !paid);
    }

    // ----------------------------------------------------------------- views

    /// @notice A campaign's terms and counters.
    function campaigns(uint256 campaignId) external view returns (Campaign memory) {
        return _campaigns[campaignId];
    }

    /// @notice Where a campaign stands now (a failure is the clock's doing: no call needed).
    function status(uint256 campaignId) external view returns (Status) {
        Campaign storage c = _campaigns[campaignId];
        if (c.enterprise == address(0)) revert InvalidCampaign(campaignId);
        return _status(c);
    }

    // ----------------------------------------------------------------- internal

    function _status(Campaign storage c) internal view returns (Status) {
        if (c.succeeded) return Status.Succeeded;
        if (c.cancelled) return Status.Cancelled;
        if (block.timestamp > c.targetDate) return Status.Failed;
        return Status.Open;
    }

    function _requireOpen(uint256 campaignId, Campaign storage c) internal view {
        Status s = _status(c);
        if (s != Status.Open) revert NotOpen(campaignId, s);
    }

    function _enterprises(uint256 campaignId) internal view returns (Campaign storage c) {
        c = _campaigns[campaignId];
        if (c.enterprise == address(0)) revert InvalidCampaign(campaignId);
        if (msg.sender != c.enterprise) revert NotEnterprise(msg.sender, c.enterprise);
    }

    function _triggerIfReached(uint256 campaignId, Campaign storage c) internal {
        if (!c.succeeded && c.pledged >= c.moq) {
            c.succeeded = true;
            emit ProductionTriggered(campaignId, c.pledged, c.moq);
        }
    }
}
