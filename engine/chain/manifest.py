"""The deployment manifest ``deployments/<chain_id>.json`` written by ``scripts/deploy.py``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from engine.chain.abi import ErrorDecoder, EventDecoder, FunctionEncoder


class ManifestError(RuntimeError):
    """No usable deployment manifest."""


@dataclass(frozen=True)
class DeployedContract:
    """One contract of a deployment: name, address, deployment block and ABI."""

    name: str
    address: str  # lower-case hex
    block: int
    abi: list
    meta: dict = field(default_factory=dict, compare=False, hash=False)  # what else the deploy script recorded

    @cached_property
    def events(self) -> EventDecoder:
        return EventDecoder(self.abi)

    @cached_property
    def functions(self) -> FunctionEncoder:
        return FunctionEncoder(self.abi)


@dataclass(frozen=True)
class Manifest:
    """What was deployed on one chain (``deployments/<chain_id>.json``)."""

    chain_id: int
    contracts: dict[str, DeployedContract]
    path: Path | None = None

    @classmethod
    def load(cls, directory: str | Path, chain_id: int) -> Manifest:
        path = Path(directory) / f"{chain_id}.json"
        if not path.exists():
            raise ManifestError(
                f"no deployment for chain {chain_id}: {path} is missing "
                f"(deploy with `orderchain deploy` or `ape run deploy`)"
            )
        try:
            raw = json.loads(path.read_text())
            contracts = {
                name: DeployedContract(
                    name,
                    c["address"].lower(),
                    int(c["block"]),
                    c["abi"],
                    {k: v for k, v in c.items() if k not in ("address", "block", "abi")},
                )
                for name, c in raw["contracts"].items()
            }
            manifest = cls(int(raw["chain_id"]), contracts, path)
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"{path} is not a deployment manifest: {exc}") from exc
        if manifest.chain_id != chain_id:
            raise ManifestError(f"{path} is for chain {manifest.chain_id}, not {chain_id}")
        return manifest

    def contract(self, name: str) -> DeployedContract:
        try:
            return self.contracts[name]
        except KeyError:
            raise ManifestError(f"{name} is not deployed on chain {self.chain_id}") from None

    def error_decoder(self) -> ErrorDecoder:
        return ErrorDecoder(*(c.abi for c in self.contracts.values()))
