"""What every capability's action table is made of: a row names the contract function, who must send it, the request model and how the body becomes the arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class ContractAction:
    """One row of a contract's action table: the function, who must send it (in words), the
    request model (with the sender in ``sender``) and how the body becomes the arguments."""

    name: str
    function: str
    signer: str
    model: type[BaseModel]
    args: Callable[[BaseModel], tuple]
    summary: str

    @property
    def by(self) -> str:
        """Who sends it, in words: "the seller", "anyone"."""
        return self.signer if self.signer.startswith("any") else f"the {self.signer}"
