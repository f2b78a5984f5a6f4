// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @title ArbiterSchedule: arbiters announced ahead of time, one fixed per dispute
/// @notice The owner announces the next arbiter; it takes effect `ARBITER_DELAY` after the
/// announcement, and only for disputes raised from then on. A dispute keeps the arbiter in
/// effect when it was raised (its index here), so the owner can never name a new arbiter
/// for a dispute already running, least of all itself.
abstract contract ArbiterSchedule is Ownable2Step {
    /// @notice How long after its announcement a new arbiter takes effect.
    uint32 public immutable ARBITER_DELAY;
    /// @notice Every arbiter ever announced, with when it takes (took) effect.
    address[] public arbiters;
    uint40[] public arbiterFrom;

    event ArbiterAnnounced(address indexed arbiter, uint256 effectiveFrom);

    error NotArbiter(address caller, address arbiter);
    error NoArbiter();

    /// @param first The first arbiter (effective at once).
    /// @param delay Seconds from an announcement until the new arbiter takes effect.
    constructor(address first, uint32 delay) {
        if (first == address(0)) revert NoArbiter();
        ARBITER_DELAY = delay;
        arbiters.push(first);
        arbiterFrom.push(uint40(block.timestamp));
        emit ArbiterAnnounced(first, block.timestamp);
    }

    /// @notice Announces the next arbiter: it takes effect `ARBITER_DELAY` from now, for
    /// disputes raised from then on. Announcing again before then replaces the announcement.
    function announceArbiter(address arbiter_) external onlyOwner {
        if (arbiter_ == address(0)) revert NoArbiter();
        uint256 last = arbiters.length - 1;
        if (arbiterFrom[last] > block.timestamp) {
            arbiters.pop();
            arbiterFrom.pop();
        }
        uint40 from = uint40(block.timestamp + ARBITER_DELAY);
        arbiters.push(arbiter_);
        arbiterFrom.push(from);
        emit ArbiterAnnounced(arbiter_, from);
    }

    /// @notice The arbiter of disputes raised now.
    function arbiter() public view returns (address) {
        return arbiters[_arbiterIndex()];
    }

    /// @dev The index of the arbiter in effect now (a dispute raised now keeps it).
    function _arbiterIndex() internal view returns (uint32) {
        uint256 last = arbiters.length - 1;
        return uint32(arbiterFrom[last] <= block.timestamp ? last : last - 1);
    }

    /// @dev Only the arbiter a dispute was raised with decides it.
    function _onlyArbiter(uint32 index) internal view {
        address decider = arbiters[index];
        if (msg.sender != decider) revert NotArbiter(msg.sender, decider);
    }
}
