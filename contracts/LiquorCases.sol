// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {LiquorCasesLayout} from "./lib/LiquorCasesLayout.sol";

/// @notice ERC-5192: minimal soulbound interface, read by marketplaces for lock state.
interface IERC5192 {
    event Locked(uint256 tokenId);
    event Unlocked(uint256 tokenId);

    function locked(uint256 tokenId) external view returns (bool);
}

/// @title LiquorCases: cases of liquor in custody as ERC-721 tokens, one token per physical case
/// @notice A producer sells cases under a sale plan; the cases stay in the plan's custody
/// warehouse. A buyer (or a payer for it) buys under a custody agreement it signs; the
/// warehouse records each case's outbound with its case (box) code, which mints the token to
/// the buyer and pays that unit's price to the producer. Holders give cases away, pledge
/// them to lenders, or redeem them for delivery, which burns the token.
///
/// Trust model: what each party can do, and what happens when it goes silent
/// - Producer: creates sale plans (facts and custody terms as hashes, price, token,
///   warehouse, fulfilment window). Silent producer: nothing waits for it; its unit prices
///   are paid at outbound (credited if the token will not transfer to it).
/// - Buyer: signs the custody agreement (EIP-712 over plan, quantity, terms, loan terms,
///   nonce, deadline); holds, gives, pledges or redeems its cases. A signed request, agreement
///   or offer it no longer wants is voided with `invalidateNonce` before anyone relays it.
/// - Payer (the buyer, or a lender paying for it): pays the price into this contract. Silent
///   warehouse: units not assigned within the fulfilment window can be cancelled by the
///   payer, whose refund is credited for it to claim (never stuck).
/// - Warehouse (the plan's): records outbound with a case code never used before; publishes
///   its public key (checked against its address) so holders encrypt delivery addresses to
///   it; dispatches pickups and confirms delivery with the code given at the door, which
///   burns the token; returns a dispatched case to custody if delivery fails. A warehouse
///   silent on a pickup: the holder cancels the pickup until it is dispatched.
/// - Lender: offers loans against a case (EIP-712); the holder accepts, receiving the
///   principal, and the case is locked to the lender. Anyone repays for the holder until the
///   lender seizes, which it may do once the due date passed unpaid. Silent lender: the case
///   stays locked until repaid; repayment is credited to the lender if the token refuses it.
///   In a loan purchase the loan term runs from each case's outbound: a warehouse that ships
///   late (or in league with the lender) never shortens the buyer's time to repay.
/// - Relayers: a signed pickup request may be relayed by anyone, but only until its deadline,
///   so a stale request (an old address) cannot put a case into redemption weeks later.
/// - Owner: allow-lists payment tokens and sets the metadata base URI; it never moves funds
///   or cases.
/// Payment handling (allow-listed tokens, refusal of tokens that deliver less than sent,
/// credits for refused payouts) is `CreditedPayouts`, shared with the settlement contract.
/// A locked case (pledged, or being redeemed) cannot move except by its lender's seizure.
///
/// The views of its state (plans, purchases, cases, loans, the warehouses' keys, the signed
/// types, the EIP-712 domain) are `LiquorCasesReader`'s, on the same storage
/// (`LiquorCasesLayout`): a call this contract does not know is delegated to the reader, so
/// they are called here as if this contract had them, and it stays well under the code-size
/// limit without any action paying for it.
contract LiquorCases is LiquorCasesLayout, IERC5192 {
    using SafeERC20 for IERC20;


    event PlanCreated(
        uint256 indexed planId,
        address indexed producer,
        address indexed warehouse,
        address token,
        uint256 unitPrice,
        uint256 cases,
        bytes32 factsHash,
        bytes32 termsHash,
        uint256 fulfilmentWindow
    );
    event Purchased(
        uint256 indexed purchaseId,
        uint256 indexed planId,
        address indexed buyer,
        address payer,
        uint256 quantity,
        uint256 amount,
        bytes32 termsHash,
        address lender,
        uint256 interestPerCase,
        uint256 loanTerm
    );
    event PurchaseCancelled(uint256 indexed purchaseId, uint256 units, uint256 refund);
    event CaseOutbound(
        uint256 indexed tokenId, uint256 indexed purchaseId, uint256 indexed planId, bytes32 caseCode, address owner
    );
    event CaseGifted(uint256 indexed tokenId, address indexed from, address indexed to, bytes32 messageHash);
    event Pledged(
        uint256 indexed tokenId, address indexed lender, address holder, uint256 principal, uint256 interest,
        uint256 dueAt
    );
    event Repaid(uint256 indexed tokenId, address indexed lender, address by, uint256 amount);
    event Seized(uint256 indexed tokenId, address indexed lender, address from);
    event PickupRequested(uint256 indexed tokenId, address indexed holder, bytes ciphertext, bytes32 codeHash);
    event PickupCancelled(uint256 indexed tokenId);
    event PickupDispatched(uint256 indexed tokenId);
    event ReturnedToCustody(uint256 indexed tokenId);
    event Delivered(uint256 indexed tokenId, bytes32 caseCode);
    event WarehouseKeySet(address indexed warehouse, bytes publicKey);
    event NonceInvalidated(address indexed account, uint256 nonce);
    event Credited(address indexed recipient, address token, uint256 amount);

    error InvalidPlan(uint256 planId);
    error InvalidAmount(uint256 amount);
    error SoldOut(uint256 planId, uint256 available);
    error WindowOutOfRange(uint256 window);
    error NotWarehouse(address caller, address warehouse);
    error NotPayer(address caller, address payer);
    error NotHolder(address caller, address holder);
    error NotLender(address caller, address lender);
    error BadSignature(address signer);
    error Expired(uint256 deadline);
    error NothingToAssign(uint256 purchaseId);
    error CaseCodeUsed(bytes32 caseCode);
    error WindowOpen(uint256 until);
    error CaseLocked(uint256 tokenId, CaseState state);
    error InvalidCaseState(uint256 tokenId, CaseState state);
    error NotDue(uint256 tokenId, uint256 dueAt);
    error WrongPickupCode(uint256 tokenId);
    error BadCiphertext();
    error KeyNotOfSender(address caller);

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    /// @notice The reader of this contract's state: calls this contract does not know go there.
    address internal immutable _reader;
    bytes32 private immutable _cachedDomainSeparator;
    uint256 private immutable _cachedChainId;

    error NoReader();

    constructor(address owner_, address reader_) ERC721("Liquor Cases in Custody", "CASE") Ownable(owner_) {
        if (reader_.code.length == 0) revert NoReader();
        _reader = reader_;
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _domainSeparator();
    }

    /// @dev The views live in the reader: it runs on this contract's storage (never ether).
    fallback() external {
        address target = _reader;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }

    // ----------------------------------------------------------------- producer (S1)

    /// @notice Creates a sale plan; the caller is its producer.
    /// @param factsHash keccak-256 of the liquor's facts (name, producer, vintage, volume, ABV, bottles per case).
    /// @param cases Number of cases for sale.
    /// @param unitPrice Price of one case in `token` base units.
    /// @param warehouse The custody warehouse account that holds the cases.
    /// @param termsHash keccak-256 of the custody agreement's terms.
    /// @param fulfilmentWindow Seconds the warehouse has to assign a purchase's cases.
    function createPlan(
        bytes32 factsHash,
        uint32 cases,
        uint96 unitPrice,
        address token,
        address warehouse,
        bytes32 termsHash,
        uint32 fulfilmentWindow
    ) external returns (uint256 planId) {
        if (!tokenAllowed[token]) revert TokenNotAllowed(token);
        if (warehouse == address(0)) revert ZeroAddress();
        if (cases == 0 || unitPrice == 0) revert InvalidAmount(0);
        if (fulfilmentWindow == 0 || fulfilmentWindow > _MAX_FULFILMENT_WINDOW) revert WindowOutOfRange(fulfilmentWindow);
        planId = ++_planCount;
        _plans[planId] = Plan(msg.sender, warehouse, token, unitPrice, cases, 0, fulfilmentWindow, factsHash, termsHash);
        emit PlanCreated(
            planId, msg.sender, warehouse, token, unitPrice, cases, factsHash, termsHash, fulfilmentWindow
        );
    }

    // ----------------------------------------------------------------- buyer, payer (S2, S3, B)

    /// @notice Buys `r.quantity` cases of a plan for `r.buyer`, who signed the custody
    /// agreement; the caller pays the price into this contract. With a lender, the caller must
    /// be the lender and each case is minted pledged to it (a loan purchase).
    function buy(PurchaseRequest calldata r, bytes calldata buyerSignature)
        external
        nonReentrant
        returns (uint256 purchaseId)
    {
        Plan storage plan = _plans[r.planId];
        if (plan.producer == address(0)) revert InvalidPlan(r.planId);
        if (r.quantity == 0) revert InvalidAmount(0);
        if (plan.sold + r.quantity > plan.cases) revert SoldOut(r.planId, plan.cases - plan.sold);
        if (r.lender != address(0)) {
            if (msg.sender != r.lender) revert NotLender(msg.sender, r.lender);
            if (r.loanTerm == 0 || r.loanTerm > _MAX_LOAN_TERM) revert InvalidAmount(r.loanTerm);
        }
        if (block.timestamp > r.deadline) revert Expired(r.deadline);
        _checkCustodySignature(r, plan.termsHash, buyerSignature);
        plan.sold += r.quantity;
        purchaseId = ++_purchaseCount;
        _purchases[purchaseId] = Purchase(
            uint64(r.planId), r.buyer, msg.sender, r.quantity, 0, 0, uint40(block.timestamp), r.lender,
            r.interestPerCase, r.loanTerm
        );
        uint256 amount = uint256(plan.unitPrice) * r.quantity;
        emit Purchased(purchaseId, r.planId, r.buyer, msg.sender, r.quantity, amount, plan.termsHash, r.lender,
            r.interestPerCase, r.loanTerm);
        _pull(IERC20(plan.token), msg.sender, amount);
    }

    function _checkCustodySignature(PurchaseRequest calldata r, bytes32 termsHash, bytes calldata signature) internal {
        uint256 nonce = nonces[r.buyer]++;
        _checkSigned(r.buyer, keccak256(
            abi.encode(
                _CUSTODY_TYPEHASH, r.planId, r.quantity, termsHash, r.lender, r.interestPerCase, r.loanTerm, nonce,
                r.deadline
            )
        ), signature);
    }

    /// @notice After the fulfilment window, the payer cancels the units not yet assigned; the
    /// refund is credited to it.
    function cancelUnassigned(uint256 purchaseId) external nonReentrant {
        Purchase storage p = _purchases[purchaseId];
        if (msg.sender != p.payer) revert NotPayer(msg.sender, p.payer);
        Plan storage plan = _plans[p.planId];
        uint256 until = uint256(p.paidAt) + plan.fulfilmentWindow;
        if (block.timestamp < until) revert WindowOpen(until);
        uint32 units = p.quantity - p.assigned - p.cancelled;
        if (units == 0) revert NothingToAssign(purchaseId);
        p.cancelled += units;
        plan.sold -= units;
        uint256 refund = uint256(plan.unitPrice) * units;
        emit PurchaseCancelled(purchaseId, units, refund);
        _credit(plan.token, p.payer, refund);
    }

    // ----------------------------------------------------------------- warehouse (S4, S5, S6, S7)

    /// @notice Publishes the warehouse's secp256k1 public key (64 bytes, uncompressed without
    /// the prefix); it must be the caller's own key.
    function setWarehouseKey(bytes calldata publicKey) external {
        if (publicKey.length != 64 || address(uint160(uint256(keccak256(publicKey)))) != msg.sender) {
            revert KeyNotOfSender(msg.sender);
        }
        _warehouseKey[msg.sender] = publicKey;
        emit WarehouseKeySet(msg.sender, publicKey);
    }

    /// @notice Records the outbound of one case of a purchase with its case (box) code: the
    /// token is minted to the buyer (pledged to the lender of a loan purchase, due the loan
    /// term from now, so a late outbound never shortens the buyer's time to repay) and the
    /// unit's price goes to the producer.
    function outbound(uint256 purchaseId, bytes32 caseCode) external nonReentrant returns (uint256 tokenId) {
        Purchase storage p = _purchases[purchaseId];
        Plan storage plan = _plans[p.planId];
        if (msg.sender != plan.warehouse) revert NotWarehouse(msg.sender, plan.warehouse);
        if (p.assigned + p.cancelled >= p.quantity) revert NothingToAssign(purchaseId);
        if (_caseCodeUsed[caseCode] || caseCode == bytes32(0)) revert CaseCodeUsed(caseCode);
        _caseCodeUsed[caseCode] = true;
        unchecked {
            p.assigned += 1; // below its quantity (a uint32): checked just above
            tokenId = ++_caseCount;
        }
        bool loan = p.lender != address(0);
        emit CaseOutbound(tokenId, purchaseId, p.planId, caseCode, p.buyer);
        _mint(p.buyer, tokenId); // minted in custody; a loan purchase's case is pledged next
        _caseOf[tokenId] = CaseRecord(p.planId, uint64(purchaseId), loan ? CaseState.Pledged : CaseState.InCustody, caseCode);
        if (loan) {
            uint40 dueAt = uint40(block.timestamp) + p.loanTerm;
            _loanOf[tokenId] = Loan(p.lender, plan.unitPrice, p.interestPerCase, dueAt);
            emit Pledged(tokenId, p.lender, p.buyer, plan.unitPrice, p.interestPerCase, dueAt);
            emit Locked(tokenId);
        }
        _pay(plan.token, plan.producer, plan.unitPrice);
    }

    /// @notice The warehouse sends a case on its way: the holder can no longer cancel the pickup.
    function dispatch(uint256 tokenId) external {
        CaseRecord storage c = _warehouseCase(tokenId);
        if (c.state != CaseState.Redeeming) revert InvalidCaseState(tokenId, c.state);
        c.state = CaseState.Dispatched;
        emit PickupDispatched(tokenId);
    }

    /// @notice A delivery that failed: the case is back in custody, unlocked.
    function returnToCustody(uint256 tokenId) external {
        CaseRecord storage c = _warehouseCase(tokenId);
        if (c.state != CaseState.Dispatched) revert InvalidCaseState(tokenId, c.state);
        c.state = CaseState.InCustody;
        delete _pickupCodeHash[tokenId];
        emit ReturnedToCustody(tokenId);
        emit Unlocked(tokenId);
    }

    /// @notice The warehouse confirms delivery with the pickup code given at the door; the token is burned.
    function confirmDelivery(uint256 tokenId, bytes calldata pickupCode) external {
        CaseRecord storage c = _warehouseCase(tokenId);
        if (c.state != CaseState.Dispatched && c.state != CaseState.Redeeming) revert InvalidCaseState(tokenId, c.state);
        if (keccak256(pickupCode) != _pickupCodeHash[tokenId]) revert WrongPickupCode(tokenId);
        bytes32 code = c.caseCode;
        delete _pickupCodeHash[tokenId];
        c.state = CaseState.InCustody; // the record stays: the case code is never used again
        emit Delivered(tokenId, code);
        _burn(tokenId);
    }

    // ----------------------------------------------------------------- holder (A, C, S6)

    /// @notice Gives a case to `to`, with the hash of a message.
    function gift(uint256 tokenId, address to, bytes32 messageHash) external {
        address holder = ownerOf(tokenId);
        if (msg.sender != holder) revert NotHolder(msg.sender, holder);
        emit CaseGifted(tokenId, holder, to, messageHash);
        _safeTransfer(holder, to, tokenId, "");
    }

    /// @notice Accepts a lender's signed loan offer against a case: the principal moves from
    /// the lender to the holder and the case is locked to the lender.
    function pledge(
        uint256 tokenId,
        uint96 principal,
        uint96 interest,
        uint40 dueAt,
        address lender,
        uint256 deadline,
        bytes calldata lenderSignature
    ) external nonReentrant {
        address holder = ownerOf(tokenId);
        if (msg.sender != holder) revert NotHolder(msg.sender, holder);
        CaseRecord storage c = _caseOf[tokenId];
        if (c.state != CaseState.InCustody) revert CaseLocked(tokenId, c.state);
        if (block.timestamp > deadline) revert Expired(deadline);
        if (dueAt <= block.timestamp) revert NotDue(tokenId, dueAt);
        uint256 nonce = nonces[lender]++;
        _checkSigned(lender, keccak256(
            abi.encode(_LOAN_OFFER_TYPEHASH, tokenId, principal, interest, dueAt, lender, nonce, deadline)
        ), lenderSignature);
        c.state = CaseState.Pledged;
        _loanOf[tokenId] = Loan(lender, principal, interest, dueAt);
        emit Pledged(tokenId, lender, holder, principal, interest, dueAt);
        emit Locked(tokenId);
        IERC20(_plans[c.planId].token).safeTransferFrom(lender, holder, principal);
    }

    /// @notice Repays a pledged case's loan (anyone may, for the holder) until the lender
    /// seizes it: principal and interest go to the lender and the case is unlocked.
    function repay(uint256 tokenId) external nonReentrant {
        CaseRecord storage c = _caseOf[tokenId];
        if (c.state != CaseState.Pledged) revert InvalidCaseState(tokenId, c.state);
        Loan memory loan = _loanOf[tokenId];
        uint256 amount = uint256(loan.principal) + loan.interest;
        c.state = CaseState.InCustody;
        delete _loanOf[tokenId];
        emit Repaid(tokenId, loan.lender, msg.sender, amount);
        emit Unlocked(tokenId);
        IERC20 token = IERC20(_plans[c.planId].token);
        _pull(token, msg.sender, amount);
        _pay(address(token), loan.lender, amount);
    }

    /// @notice After the due date passed unpaid, the lender takes the case (unlocked).
    function seize(uint256 tokenId) external {
        CaseRecord storage c = _caseOf[tokenId];
        if (c.state != CaseState.Pledged) revert InvalidCaseState(tokenId, c.state);
        Loan memory loan = _loanOf[tokenId];
        if (msg.sender != loan.lender) revert NotLender(msg.sender, loan.lender);
        if (block.timestamp <= loan.dueAt) revert NotDue(tokenId, loan.dueAt);
        address holder = ownerOf(tokenId);
        c.state = CaseState.InCustody;
        delete _loanOf[tokenId];
        emit Seized(tokenId, loan.lender, holder);
        emit Unlocked(tokenId);
        _transfer(holder, loan.lender, tokenId);
    }

    /// @notice Asks for delivery (anyone may relay it until its deadline; the holder signs the
    /// request): the delivery address encrypted to the warehouse's key, and the hash of the
    /// pickup code.
    /// @param ciphertext The ECIES ciphertext of the delivery address, for the warehouse.
    /// @param codeHash keccak-256 of the pickup code only the recipient knows.
    /// @param deadline After it the signed request is void.
    function requestPickup(
        uint256 tokenId,
        bytes calldata ciphertext,
        bytes32 codeHash,
        uint256 deadline,
        bytes calldata holderSignature
    ) external {
        address holder = ownerOf(tokenId);
        CaseRecord storage c = _caseOf[tokenId];
        if (c.state != CaseState.InCustody) revert CaseLocked(tokenId, c.state);
        if (ciphertext.length == 0) revert BadCiphertext();
        if (block.timestamp > deadline) revert Expired(deadline);
        uint256 nonce = nonces[holder]++;
        _checkSigned(holder, keccak256(
            abi.encode(_PICKUP_TYPEHASH, tokenId, keccak256(ciphertext), codeHash, nonce, deadline)
        ), holderSignature);
        c.state = CaseState.Redeeming;
        _pickupCodeHash[tokenId] = codeHash;
        emit PickupRequested(tokenId, holder, ciphertext, codeHash);
        emit Locked(tokenId);
    }

    /// @notice The holder cancels a pickup the warehouse has not dispatched yet.
    function cancelPickup(uint256 tokenId) external {
        address holder = _ownerOf(tokenId); // none (a burned case): nobody is its holder
        if (msg.sender != holder) revert NotHolder(msg.sender, holder);
        CaseRecord storage c = _caseOf[tokenId];
        if (c.state != CaseState.Redeeming) revert InvalidCaseState(tokenId, c.state);
        c.state = CaseState.InCustody;
        delete _pickupCodeHash[tokenId];
        emit PickupCancelled(tokenId);
        emit Unlocked(tokenId);
    }

    /// @notice Voids the caller's signed request, agreement or offer not yet used (the one
    /// carrying its current nonce): nobody can relay it any more.
    function invalidateNonce() external {
        emit NonceInvalidated(msg.sender, nonces[msg.sender]++);
    }

    // ----------------------------------------------------------------- owner

    /// @notice The base of every case's metadata URI (the engine serves `.../cases/{id}/metadata`).
    function setBaseURI(string calldata base) external onlyOwner {
        _base = base;
    }

    // ----------------------------------------------------------------- views

    /// @inheritdoc IERC5192
    function locked(uint256 tokenId) external view returns (bool) {
        _requireOwned(tokenId);
        return _caseOf[tokenId].state != CaseState.InCustody;
    }

    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        return string.concat(_base, Strings.toString(tokenId), "/metadata");
    }

    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IERC5192).interfaceId || super.supportsInterface(interfaceId);
    }

    // ----------------------------------------------------------------- internal

    /// @dev A locked case moves only by its lender's seizure (`seize` unlocks first) or burn.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        // A case in custody (the usual one, and every one being minted) moves; a locked one is
        // only burned.
        if (to != address(0) && _caseOf[tokenId].state != CaseState.InCustody) {
            revert CaseLocked(tokenId, _caseOf[tokenId].state);
        }
        return super._update(to, tokenId, auth);
    }

    function _domainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256(bytes(EIP712_NAME)), keccak256(bytes(EIP712_VERSION)), block.chainid, address(this)
            )
        );
    }

    /// @dev The EIP-712 digest of a struct hash in this contract's domain (computed again after a fork changes the chain id).
    function _hashTypedDataV4(bytes32 structHash) internal view returns (bytes32) {
        bytes32 separator = block.chainid == _cachedChainId ? _cachedDomainSeparator : _domainSeparator();
        return MessageHashUtils.toTypedDataHash(separator, structHash);
    }

    /// @dev The EIP-712 digest of `structHash` must be signed by `signer` (an account or an ERC-1271 wallet).
    function _checkSigned(address signer, bytes32 structHash, bytes calldata signature) internal view {
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert BadSignature(signer);
        }
    }

    function _warehouseCase(uint256 tokenId) internal view returns (CaseRecord storage c) {
        _requireOwned(tokenId);
        c = _caseOf[tokenId];
        address warehouse = _plans[c.planId].warehouse;
        if (msg.sender != warehouse) revert NotWarehouse(msg.sender, warehouse);
    }

    /// @dev Pays now; if the token refuses (a blocked recipient), credits it instead.
    function _pay(address token, address to, uint256 amount) internal {
        if (!_tryPay(IERC20(token), to, amount)) emit Credited(to, token, amount);
    }

    function _credit(address token, address to, uint256 amount) internal {
        credits[token][to] += amount;
        emit Credited(to, token, amount);
    }
}
