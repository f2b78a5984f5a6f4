// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestBlocklistToken: a 6-decimal token whose owner can blocklist accounts, like
/// the regulated stablecoins; for tests only.
/// @notice Transfers from or to a blocklisted account revert.
contract TestBlocklistToken is ERC20, Ownable {
    mapping(address account => bool) public blocked;

    error Blocklisted(address account);

    constructor(address owner_) ERC20("Blocklist USD", "bUSD") Ownable(owner_) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Creates `amount` base units for `to`.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Blocks or unblocks an account.
    function setBlocked(address account, bool isBlocked) external onlyOwner {
        blocked[account] = isBlocked;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert Blocklisted(from);
        if (blocked[to]) revert Blocklisted(to);
        super._update(from, to, value);
    }
}

/// @title TestFeeToken: a token that burns 1% of every transfer (fee-on-transfer); for tests only.
contract TestFeeToken is ERC20, Ownable {
    constructor(address owner_) ERC20("Fee USD", "fUSD") Ownable(owner_) {}

    /// @notice Creates `amount` base units for `to`.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value / 100;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
