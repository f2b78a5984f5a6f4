// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title EvidenceAnchor: batches of order-evidence hashes anchored as Merkle roots
/// @notice The operator's witness (the account the owner names) anchors the Merkle root of
/// a batch of evidence-bundle hashes; the block's time is the batch's timestamp. Anyone can
/// then prove that a bundle hash was anchored, and when, with its Merkle proof: leaves are
/// `keccak256(abi.encode(bundleHash))` and pairs are hashed sorted (OpenZeppelin's
/// `MerkleProof`).
///
/// Trust model: the owner names the witnesses; a witness anchors roots and can neither
/// change nor remove one once anchored (a root is anchored once). Nothing here holds funds.
/// A silent witness leaves bundles unanchored: the evidence stays verifiable by its
/// signatures alone, and anchored once a witness acts.
contract EvidenceAnchor is Ownable2Step {
    struct Batch {
        bytes32 root;
        uint32 count;
        uint40 anchoredAt;
        address witness;
    }

    mapping(uint256 batchId => Batch) public batches;
    mapping(bytes32 root => uint256 batchId) public batchOf;
    mapping(address account => bool) public witnesses;
    uint256 public batchCount;

    event WitnessSet(address indexed witness, bool allowed);
    event Anchored(uint256 indexed batchId, bytes32 indexed root, uint256 count, address indexed witness,
        uint256 anchoredAt);

    error NotWitness(address caller);
    error AlreadyAnchored(bytes32 root, uint256 batchId);
    error EmptyBatch();

    constructor(address owner_, address witness) Ownable(owner_) {
        witnesses[witness] = true;
        emit WitnessSet(witness, true);
    }

    /// @notice Names (or removes) an account that may anchor batches.
    function setWitness(address witness, bool allowed) external onlyOwner {
        witnesses[witness] = allowed;
        emit WitnessSet(witness, allowed);
    }

    /// @notice Anchors the Merkle root of `count` evidence-bundle hashes.
    function anchor(bytes32 root, uint32 count) external returns (uint256 batchId) {
        if (!witnesses[msg.sender]) revert NotWitness(msg.sender);
        if (root == bytes32(0) || count == 0) revert EmptyBatch();
        if (batchOf[root] != 0) revert AlreadyAnchored(root, batchOf[root]);
        batchId = ++batchCount;
        batches[batchId] = Batch(root, count, uint40(block.timestamp), msg.sender);
        batchOf[root] = batchId;
        emit Anchored(batchId, root, count, msg.sender, block.timestamp);
    }

    /// @notice Whether `bundleHash` is in an anchored batch, by its Merkle proof; with the
    /// batch and its time (0, 0 when not).
    function verify(bytes32 bundleHash, bytes32[] calldata proof)
        external
        view
        returns (uint256 batchId, uint256 anchoredAt)
    {
        bytes32 root = MerkleProof.processProofCalldata(proof, keccak256(abi.encode(bundleHash)));
        batchId = batchOf[root];
        if (batchId != 0) anchoredAt = batches[batchId].anchoredAt;
    }
}
