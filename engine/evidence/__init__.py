"""Signed order evidence: bundles, batches and their anchoring records (:mod:`.bundles`), and
the Merkle trees the anchor contract checks (:mod:`.merkle`)."""
