// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {LiquorCasesLayout} from "./lib/LiquorCasesLayout.sol";

/// @title LiquorCasesReader: the views of `LiquorCases`' state
/// @notice `LiquorCases` delegates every call it does not know to this contract, which then
/// runs on its storage (the same `LiquorCasesLayout`): its plans, purchases, cases, loans,
/// pickup codes, warehouse keys, counters, signed types and EIP-712 domain are read at the
/// liquor contract's address as if it had these functions itself. Everything here is a view:
/// nothing called through the liquor contract can change its state here. Called at its own
/// address, it reads its own empty storage.
contract LiquorCasesReader is LiquorCasesLayout {
    constructor() ERC721("Liquor Cases in Custody (reader)", "CASE-R") Ownable(msg.sender) {}

    function plans(uint256 planId)
        external
        view
        returns (
            address producer,
            address warehouse,
            address token,
            uint96 unitPrice,
            uint32 cases,
            uint32 sold,
            uint32 fulfilmentWindow,
            bytes32 factsHash,
            bytes32 termsHash
        )
    {
        Plan storage p = _plans[planId];
        return (p.producer, p.warehouse, p.token, p.unitPrice, p.cases, p.sold, p.fulfilmentWindow, p.factsHash,
            p.termsHash);
    }

    function purchases(uint256 purchaseId)
        external
        view
        returns (
            uint64 planId,
            address buyer,
            address payer,
            uint32 quantity,
            uint32 assigned,
            uint32 cancelled,
            uint40 paidAt,
            address lender,
            uint96 interestPerCase,
            uint40 loanTerm
        )
    {
        Purchase storage p = _purchases[purchaseId];
        return (p.planId, p.buyer, p.payer, p.quantity, p.assigned, p.cancelled, p.paidAt, p.lender,
            p.interestPerCase, p.loanTerm);
    }

    function caseOf(uint256 tokenId)
        external
        view
        returns (uint64 planId, uint64 purchaseId, CaseState state, bytes32 caseCode)
    {
        CaseRecord storage c = _caseOf[tokenId];
        return (c.planId, c.purchaseId, c.state, c.caseCode);
    }

    function loanOf(uint256 tokenId)
        external
        view
        returns (address lender, uint96 principal, uint96 interest, uint40 dueAt)
    {
        Loan storage l = _loanOf[tokenId];
        return (l.lender, l.principal, l.interest, l.dueAt);
    }

    function pickupCodeHash(uint256 tokenId) external view returns (bytes32) {
        return _pickupCodeHash[tokenId];
    }

    function caseCodeUsed(bytes32 caseCode) external view returns (bool) {
        return _caseCodeUsed[caseCode];
    }

    /// @notice A warehouse's published public key (64 bytes; empty until it publishes one).
    function warehouseKey(address warehouse) external view returns (bytes memory) {
        return _warehouseKey[warehouse];
    }

    function planCount() external view returns (uint256) {
        return _planCount;
    }

    function purchaseCount() external view returns (uint256) {
        return _purchaseCount;
    }

    function caseCount() external view returns (uint256) {
        return _caseCount;
    }

    /// @notice What a buyer signs to buy under a plan's custody terms (lender 0: no loan).
    function CUSTODY_TYPEHASH() external pure returns (bytes32) {
        return _CUSTODY_TYPEHASH;
    }

    /// @notice What a lender signs to offer a loan against a case.
    function LOAN_OFFER_TYPEHASH() external pure returns (bytes32) {
        return _LOAN_OFFER_TYPEHASH;
    }

    /// @notice What a holder signs to ask for delivery (relayed by anyone until its deadline).
    function PICKUP_TYPEHASH() external pure returns (bytes32) {
        return _PICKUP_TYPEHASH;
    }

    function MAX_FULFILMENT_WINDOW() external pure returns (uint32) {
        return _MAX_FULFILMENT_WINDOW;
    }

    function MAX_LOAN_TERM() external pure returns (uint40) {
        return _MAX_LOAN_TERM;
    }

    /// @notice ERC-5267: the EIP-712 domain the liquor contract's signatures are checked in
    /// (at the liquor contract's address, through which this is called).
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", EIP712_NAME, EIP712_VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }
}
