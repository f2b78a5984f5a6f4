"""A store's customisation catalogue, kept off chain: its QFD, its scheme list, the
departments' costs and the MOQs it sets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast
from uuid import UUID

from eth_utils import keccak
from eventsourcing.domain import Aggregate, event

from engine.group_buy.moq import moq
from engine.group_buy.schemes import Scheme, SchemeError, parameters_of, qfd, schemes
from engine.ids import derive

# -- the store's catalogue (off chain)


def scheme_hash(scheme: str) -> str:
    """A scheme's id on chain: keccak-256 of its id text."""
    return "0x" + keccak(text=scheme).hex()


class Catalogue(Aggregate):
    """A store's customisation catalogue: its QFD, its scheme list, department costs and MOQs."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Started: ClassVar[type[Any]]
        QfdRecorded: ClassVar[type[Any]]
        SchemesDefined: ClassVar[type[Any]]
        CostsSubmitted: ClassVar[type[Any]]
        MoqSet: ClassVar[type[Any]]

    @staticmethod
    def create_id(store_id: str) -> UUID:
        return derive("catalogue", store_id)

    @event("Started")
    def __init__(self, store_id: str):
        self.store_id = store_id
        self.qfd_input: dict | None = None
        self.scheme_input: dict | None = None
        self.costs: dict[str, list[dict]] = {}  # "scheme@term" -> one row per department
        self.overrides: dict[str, dict] = {}  # "scheme@term" -> {"moq", "reason"}

    def record_qfd(self, requirements: list[dict], attributes: list[str], relations: list[list], roof: list[list]):
        """Records the QFD matrices (checked first: :class:`SchemeError`)."""
        qfd(requirements, attributes, {(r, a): s for r, a, s in relations}, {(a, b): sign for a, b, sign in roof})
        self._qfd_recorded(requirements=requirements, attributes=attributes, relations=relations, roof=roof)

    @event("QfdRecorded")
    def _qfd_recorded(self, requirements: list[dict], attributes: list[str], relations: list[list], roof: list[list]):
        self.qfd_input = {"requirements": requirements, "attributes": attributes, "relations": relations, "roof": roof}

    def define_schemes(
        self,
        parameters: list[dict],
        ladder: list[list[int]],
        terms: list[int],
        term_discount_bps: dict,
        allowed: list[list[str]],
    ) -> tuple[list[Scheme], list[dict]]:
        """Sets the customisable parameters, ladder and terms; returns the schemes they give."""
        analysis = self.qfd()
        made = schemes(
            parameters_of(parameters),
            cast(list[tuple[int, int]], [tuple(r) for r in ladder]),
            terms,
            analysis["negative_pairs"] if analysis else (),
            cast(list[tuple[str, str]], [tuple(p) for p in allowed]),
            {int(t): b for t, b in term_discount_bps.items()},
        )
        if not made[0]:
            raise SchemeError("every combination of these options conflicts: no scheme is left")
        self._schemes_defined(
            parameters=parameters,
            ladder=ladder,
            terms=terms,
            term_discount_bps={str(t): b for t, b in term_discount_bps.items()},
            allowed=allowed,
        )
        self._scheme_cache: tuple[int, tuple[list[Scheme], list[dict]]] | None = None
        return made

    @event("SchemesDefined")
    def _schemes_defined(
        self,
        parameters: list[dict],
        ladder: list[list[int]],
        terms: list[int],
        term_discount_bps: dict,
        allowed: list[list[str]],
    ):
        self.scheme_input = {
            "parameters": parameters,
            "ladder": ladder,
            "terms": terms,
            "term_discount_bps": term_discount_bps,
            "allowed": allowed,
        }

    def submit_costs(self, scheme: str, term: int, department: str, fixed: int, variable: int):
        """A department's costs for a scheme and term (a department's later submission replaces its earlier)."""
        self.scheme(scheme, term)
        if fixed < 0 or variable < 0:
            raise SchemeError("costs are not negative")
        self._costs_submitted(scheme=scheme, term=term, department=department, fixed=fixed, variable=variable)

    @event("CostsSubmitted")
    def _costs_submitted(self, scheme: str, term: int, department: str, fixed: int, variable: int):
        rows = [r for r in self.costs.get(f"{scheme}@{term}", []) if r["department"] != department]
        self.costs[f"{scheme}@{term}"] = rows + [{"department": department, "fixed": fixed, "variable": variable}]

    def set_moq(self, scheme: str, term: int, moq_: int, reason: str):
        """A higher MOQ than the computed one, with its reason (checked: :class:`SchemeError`)."""
        found = self.scheme(scheme, term)
        moq(found, term, self.costs.get(f"{scheme}@{term}", []), {"moq": moq_, "reason": reason})
        self._moq_set(scheme=scheme, term=term, moq=moq_, reason=reason.strip())

    @event("MoqSet")
    def _moq_set(self, scheme: str, term: int, moq: int, reason: str):
        self.overrides[f"{scheme}@{term}"] = {"moq": moq, "reason": reason}

    # -- what it says

    def qfd(self) -> dict | None:
        q = self.qfd_input
        if q is None:
            return None
        return qfd(
            q["requirements"],
            q["attributes"],
            {(r, a): s for r, a, s in q["relations"]},
            {(a, b): sign for a, b, sign in q["roof"]},
        )

    def schemes(self) -> tuple[list[Scheme], list[dict]]:
        """The scheme list (and the combinations left out), made once per catalogue version."""
        cached = getattr(self, "_scheme_cache", None)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        s = self.scheme_input
        made: tuple[list[Scheme], list[dict]] = ([], [])
        if s is not None:
            analysis = self.qfd()
            made = schemes(
                parameters_of(s["parameters"]),
                [tuple(r) for r in s["ladder"]],
                s["terms"],
                analysis["negative_pairs"] if analysis else (),
                [tuple(p) for p in s["allowed"]],
                {int(t): b for t, b in s["term_discount_bps"].items()},
            )
        self._scheme_cache = (self.version, made)
        return made

    def scheme(self, scheme_id_: str, term: int | None = None) -> Scheme:
        """One scheme of the list (offered with ``term``, when given); :class:`SchemeError` if none."""
        found = next((s for s in self.schemes()[0] if s.id == scheme_id_), None)
        if found is None:
            raise SchemeError(f"no scheme {scheme_id_!r} in this catalogue")
        if term is not None and term not in found.terms:
            raise SchemeError(f"scheme {scheme_id_!r} is not offered with a term of {term} cycle(s)")
        return found

    def moq(self, scheme: Scheme, term: int) -> dict:
        key = f"{scheme.id}@{term}"
        return moq(scheme, term, self.costs.get(key, []), self.overrides.get(key))
