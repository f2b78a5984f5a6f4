// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {CreditedPayouts} from "./CreditedPayouts.sol";

/// @title LiquorCasesLayout: the state of `LiquorCases`, shared with its reader
/// @notice The types, constants and storage of the liquor contract. `LiquorCases` (the
/// actions) and `LiquorCasesReader` (the views, which it serves by delegating calls it does
/// not know itself) both build on it, so the reader reads the contract's own storage.
abstract contract LiquorCasesLayout is ERC721, CreditedPayouts {
    string internal constant EIP712_NAME = "LiquorCases";
    string internal constant EIP712_VERSION = "1";

    enum CaseState {
        InCustody,
        Pledged,
        Redeeming,
        Dispatched
    }

    struct Plan {
        address producer;
        address warehouse;
        address token;
        uint96 unitPrice;
        uint32 cases;
        uint32 sold;
        uint32 fulfilmentWindow;
        bytes32 factsHash;
        bytes32 termsHash;
    }

    struct Purchase {
        uint64 planId;
        address buyer;
        address payer;
        uint32 quantity;
        uint32 assigned;
        uint32 cancelled;
        uint40 paidAt;
        address lender; // a loan purchase: each case is minted pledged to this lender
        uint96 interestPerCase;
        uint40 loanTerm; // seconds from each case's outbound until its loan is due
    }

    /// @notice A purchase as the buyer signed it (lender 0: the payer is not lending).
    struct PurchaseRequest {
        uint256 planId;
        uint32 quantity;
        address buyer;
        address lender;
        uint96 interestPerCase;
        uint40 loanTerm;
        uint256 deadline;
    }

    struct CaseRecord {
        uint64 planId;
        uint64 purchaseId;
        CaseState state;
        bytes32 caseCode;
    }

    struct Loan {
        address lender;
        uint96 principal;
        uint96 interest;
        uint40 dueAt;
    }

    /// @notice What a buyer signs to buy under a plan's custody terms (lender 0: no loan).
    bytes32 internal constant _CUSTODY_TYPEHASH = keccak256(
        "CustodyAgreement(uint256 planId,uint256 quantity,bytes32 termsHash,address lender,uint256 interestPerCase,"
        "uint256 loanTerm,uint256 nonce,uint256 deadline)"
    );
    /// @notice What a lender signs to offer a loan against a case.
    bytes32 internal constant _LOAN_OFFER_TYPEHASH = keccak256(
        "LoanOffer(uint256 tokenId,uint256 principal,uint256 interest,uint256 dueAt,address lender,uint256 nonce,"
        "uint256 deadline)"
    );
    /// @notice What a holder signs to ask for delivery (relayed by anyone until its deadline).
    bytes32 internal constant _PICKUP_TYPEHASH = keccak256(
        "PickupRequest(uint256 tokenId,bytes32 ciphertextHash,bytes32 codeHash,uint256 nonce,uint256 deadline)"
    );
    uint32 internal constant _MAX_FULFILMENT_WINDOW = 365 days;
    uint40 internal constant _MAX_LOAN_TERM = 3650 days;

    mapping(uint256 planId => Plan) internal _plans;
    mapping(uint256 purchaseId => Purchase) internal _purchases;
    mapping(uint256 tokenId => CaseRecord) internal _caseOf;
    mapping(uint256 tokenId => Loan) internal _loanOf;
    mapping(uint256 tokenId => bytes32) internal _pickupCodeHash;
    mapping(bytes32 caseCode => bool) internal _caseCodeUsed;
    mapping(address account => uint256) public nonces; // read by every signer
    mapping(address warehouse => bytes) internal _warehouseKey;
    uint256 internal _planCount;
    uint256 internal _purchaseCount;
    uint256 internal _caseCount;
    string internal _base;
}
