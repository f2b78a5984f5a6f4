// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title CreditedPayouts: the money handling the escrow contracts share
/// @notice Tokens are allow-listed by the owner; what comes in is checked to be what was
/// sent (a fee-on-transfer token is refused); a payout the token refuses to transfer (it
/// blocklists the recipient) is credited instead, and the recipient claims its credit later
/// to an address it names. So one blocked recipient never holds up anybody else.
abstract contract CreditedPayouts is Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    mapping(address token => bool) public tokenAllowed;
    /// @notice Payouts and refunds waiting for their recipient to claim them.
    mapping(address token => mapping(address recipient => uint256)) public credits;

    event TokenAllowed(address indexed token, bool allowed);
    event CreditClaimed(address indexed recipient, address indexed to, address token, uint256 amount);

    error ZeroAddress();
    error TokenNotAllowed(address token);
    error TransferShortfall(address token, uint256 sent, uint256 received);
    error NothingToClaim(address token, address recipient);

    /// @notice Allows or disallows a token for new business; what is under way is unaffected.
    function setTokenAllowed(address token, bool allowed) external onlyOwner {
        if (token == address(0)) revert ZeroAddress();
        tokenAllowed[token] = allowed;
        emit TokenAllowed(token, allowed);
    }

    /// @notice Transfers the caller's credited payouts and refunds in `token` to `to`.
    function claimCredit(address token, address to) external nonReentrant {
        uint256 amount = credits[token][msg.sender];
        if (amount == 0) revert NothingToClaim(token, msg.sender);
        if (to == address(0)) revert ZeroAddress();
        credits[token][msg.sender] = 0;
        emit CreditClaimed(msg.sender, to, token, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @dev Pulls exactly `amount` from `from`; a token that delivers less is refused.
    function _pull(IERC20 token, address from, uint256 amount) internal {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TransferShortfall(address(token), amount, received);
    }

    /// @dev Pays now; if the token refuses (a blocked recipient), credits it. Returns whether it paid.
    function _tryPay(IERC20 token, address to, uint256 amount) internal returns (bool paid) {
        if (token.trySafeTransfer(to, amount)) return true;
        credits[address(token)][to] += amount;
        return false;
    }
}
