"""The pack language: pydantic models of a rule pack file (``rules/*.yaml``).

A pack is data, never code. It declares parameters, *derivations* (rules that assert
new facts, for forward chaining) and *checks* (rules that emit findings). Both have a
body: a list of conditions over facts, joined by shared values (``{ref: alias.field}``)
and negated with ``not:``. ``when_any`` lists alternative bodies (a disjunction).
See docs/packs.md for the language reference.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
NAME = r"^[a-z][a-z0-9_]*$"
ALIAS = r"^[a-z][a-z0-9_]{0,15}$"
RULE_ID = r"^[A-Z][A-Z0-9]*-[0-9]{3,4}$"
PACK_ID = r"^[a-z][a-z0-9-]{0,63}$"

Scalar = Union[StrictBool, StrictInt, StrictStr]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class Ref(_Strict):
    """The value of a field of an earlier condition's fact: ``{ref: alias.field}``."""

    ref: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")]

    @property
    def alias(self) -> str:
        return self.ref.split(".", 1)[0]

    @property
    def field(self) -> str:
        return self.ref.split(".", 1)[1]


class Param(_Strict):
    """A pack parameter, substituted when the pack is compiled: ``{param: name}``."""

    param: Annotated[str, Field(pattern=NAME)]


Operand = Union[Scalar, Ref, Param]


class Op(_Strict):
    """One test on one field. Exactly one key is set. An absent field fails every
    test except ``ne``, ``not_in`` and ``present: false``."""

    eq: Operand | None = None
    ne: Operand | None = None
    lt: Operand | None = None
    le: Operand | None = None
    gt: Operand | None = None
    ge: Operand | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    not_in: list[Scalar] | None = Field(default=None, min_length=1)
    present: StrictBool | None = None
    has: Scalar | None = None
    has_any: list[Scalar] | None = Field(default=None, min_length=1)
    any_of: list["Op"] | None = Field(default=None, min_length=2)
    all_of: list["Op"] | None = Field(default=None, min_length=2)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Op":
        keys = self.set_keys()
        if len(keys) != 1:
            raise ValueError(f"a field test has exactly one operator, got {len(keys)}: {', '.join(keys) or 'none'}")
        return self

    def set_keys(self) -> list[str]:
        return [("in" if k == "in_" else k) for k in type(self).model_fields if getattr(self, k) is not None]

    @property
    def name(self) -> str:
        return self.set_keys()[0]

    @property
    def operand(self) -> Any:
        return getattr(self, "in_" if self.name == "in" else self.name)


Test = Union[Scalar, Ref, Param, Op]


class Condition(_Strict):
    """A fact of type ``fact`` whose fields pass every test of ``where``."""

    fact: Annotated[str, Field(pattern=NAME)]
    as_: Annotated[str | None, Field(default=None, alias="as", pattern=ALIAS)] = None
    where: dict[Annotated[str, Field(pattern=NAME)], Test] = Field(default_factory=dict)


class Not(_Strict):
    """No fact matches the inner condition (it may refer to earlier aliases)."""

    not_: Condition = Field(alias="not")


Body = list[Union[Condition, Not]]


class Parameter(_Strict):
    default: StrictInt
    description: StrictStr
    minimum: StrictInt = 0


class Derivation(_Strict):
    """Asserts a fact of type ``fact`` with the fields of ``assert`` for each match."""

    id: Annotated[str, Field(pattern=PACK_ID)]
    fact: Annotated[str, Field(pattern=NAME)]
    when: Body | None = None
    when_any: list[Body] | None = Field(default=None, min_length=2)
    assert_: dict[Annotated[str, Field(pattern=NAME)], Union[Ref, Scalar]] = Field(alias="assert", min_length=1)
    because: StrictStr

    @model_validator(mode="after")
    def _one_body(self) -> "Derivation":
        _check_one_body(self.when, self.when_any)
        return self

    def bodies(self) -> list[Body]:
        return [self.when] if self.when is not None else list(self.when_any or [])


class Example(_Strict):
    """A small map fragment (merged into a minimal valid map) and the subjects the
    rule must report on it (``fires``) or must not (``passes``: none at all)."""

    name: StrictStr
    map: dict[str, Any]
    subjects: list[StrictStr] = Field(default_factory=list)
    params: dict[str, StrictInt] = Field(default_factory=dict)


class Examples(_Strict):
    fires: list[Example] = Field(min_length=1)
    passes: list[Example] = Field(min_length=1)

    @field_validator("fires")
    @classmethod
    def _fires_names_subjects(cls, v: list[Example]) -> list[Example]:
        # without subjects, an example that fires nothing would pass: a test that cannot fail
        for ex in v:
            if not ex.subjects:
                raise ValueError(f"the fires example '{ex.name}' lists no subjects: name the subjects the rule "
                                 "must report on its map")
        return v

    @field_validator("passes")
    @classmethod
    def _passes_names_none(cls, v: list[Example]) -> list[Example]:
        for ex in v:
            if ex.subjects:
                raise ValueError(f"the passes example '{ex.name}' lists subjects, but a passing example must "
                                 "report none: move it to fires")
        return v


SubjectKind = Literal[
    "map", "stakeholder", "stage", "system", "data", "control", "touchpoint",
    "failure_mode", "flow", "checkpoint", "training", "channel",
]
Severity = Literal["critical", "high", "medium", "low", "info"]
Basis = Literal["law", "accreditation", "guidance", "good_practice"]
Verification = Literal["V", "S", "U"]


class Citation(_Strict):
    """One source a rule relies on: the framework it belongs to (an id of
    ``rules/frameworks/*.yaml``, or a free word such as ``state-law``), the section
    within it, the text shown to people, and how far it was verified against the
    primary text (V verified, S secondary copy only, U not verified)."""

    framework: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
    section: StrictStr = ""
    text: Annotated[str, Field(min_length=3, max_length=400)]
    verified: Verification | None = None


class SeverityWhen(_Strict):
    """Grade a finding: ``severity`` applies when the matched facts pass ``where``
    (alias -> field tests, as in a condition; no refs). The first that holds wins."""

    severity: Severity
    where: dict[Annotated[str, Field(pattern=ALIAS)], dict[Annotated[str, Field(pattern=NAME)], Test]] = Field(
        min_length=1)


class Rule(_Strict):
    """A check: for each match, a finding about ``subject`` (at most one per subject)."""

    id: Annotated[str, Field(pattern=RULE_ID)]
    title: Annotated[str, Field(min_length=5, max_length=120)]
    severity: Severity
    severity_when: list[SeverityWhen] = Field(default_factory=list)
    subject: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")]
    subject_kind: SubjectKind | list[SubjectKind]
    basis: Basis = "law"
    citations: list[Citation] = Field(min_length=1)
    rationale: Annotated[str, Field(min_length=20, max_length=1200)]
    remediation: Annotated[str, Field(min_length=10, max_length=1200)]
    checklist: Annotated[int | None, Field(ge=1, le=7)] = None
    references: list[StrictStr] = Field(default_factory=list)
    when: Body | None = None
    when_any: list[Body] | None = Field(default=None, min_length=2)
    message: StrictStr
    evidence: list[StrictStr] = Field(default_factory=list)
    examples: Examples

    @model_validator(mode="before")
    @classmethod
    def _citation_string(cls, data: Any) -> Any:
        # Packs written before citations were data give one string: keep it as one citation.
        if isinstance(data, dict) and "citation" in data and "citations" not in data:
            text = data["citation"]
            data = {k: v for k, v in data.items() if k != "citation"}
            data["citations"] = [{"framework": "other", "text": text}]
        return data

    @model_validator(mode="after")
    def _one_body(self) -> "Rule":
        _check_one_body(self.when, self.when_any)
        if self.basis == "good_practice" and self.severity not in ("low", "info"):
            raise ValueError("a good-practice rule (basis: good_practice, no legal requirement behind it) "
                             f"must be low or info, not {self.severity}")
        if self.basis == "good_practice" and any(w.severity not in ("low", "info") for w in self.severity_when):
            raise ValueError("a good-practice rule cannot be graded above low")
        return self

    def bodies(self) -> list[Body]:
        return [self.when] if self.when is not None else list(self.when_any or [])

    @property
    def subject_alias(self) -> str:
        return self.subject.split(".", 1)[0]

    @property
    def subject_kinds(self) -> tuple[str, ...]:
        return tuple(self.subject_kind) if isinstance(self.subject_kind, list) else (self.subject_kind,)

    @property
    def citation(self) -> str:
        """All citations as one line (the ``citation`` of a finding)."""
        return "; ".join(c.text for c in self.citations)

    @property
    def severities(self) -> tuple[str, ...]:
        """Every severity a finding of this rule can have, highest first."""
        found = {self.severity, *(w.severity for w in self.severity_when)}
        return tuple(s for s in SEVERITIES if s in found)


class RetiredRule(_Strict):
    """A rule id that is no longer used: never reused, listed by ``rules list --retired`` and in the
    rule reference (``rules doc``)."""

    id: Annotated[str, Field(pattern=RULE_ID)]
    retired_in: Annotated[str, Field(min_length=1)]
    replaced_by: list[Annotated[str, Field(pattern=RULE_ID)]] = Field(default_factory=list)
    reason: Annotated[str, Field(min_length=10)]


class FactDoc(_Strict):
    """What a derived fact type means (``doc``) and, for explanations, what its absence
    means (``missing``: a template with ``{field}`` placeholders of the missing fact)."""

    doc: Annotated[str, Field(min_length=3)]
    missing: StrictStr | None = None


class Pack(_Strict):
    """One rule pack file."""

    pack: Annotated[str, Field(pattern=PACK_ID)]
    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]
    title: StrictStr
    description: StrictStr = ""
    parameters: dict[Annotated[str, Field(pattern=NAME)], Parameter] = Field(default_factory=dict)
    facts: dict[Annotated[str, Field(pattern=NAME)], FactDoc] = Field(default_factory=dict)
    derive: list[Derivation] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    retired: list[RetiredRule] = Field(default_factory=list)
    allow_cross_products: StrictBool = Field(
        False, description="Accept rules whose conditions are not all joined by equality (every combination of their "
        "facts is matched). Only for fact types known to stay small; the run-time limits still apply.")
    extends: list[Annotated[str, Field(pattern=NAME)]] = Field(
        default_factory=list, description="Built-in derived fact types this pack adds derivations to. Deriving more "
        "of a built-in fact can switch built-in rules off, so it is refused unless the type is listed here; every "
        "report then names the pack and the types.")

    @field_validator("rules")
    @classmethod
    def _unique_rule_ids(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for r in rules:
            if r.id in seen:
                raise ValueError(f"rule id {r.id} is used twice")
            seen.add(r.id)
        return rules


def _check_one_body(when: Body | None, when_any: list[Body] | None) -> None:
    if (when is None) == (when_any is None):
        raise ValueError("give exactly one of 'when' (a list of conditions) or 'when_any' (a list of alternatives)")
    for body in [when] if when is not None else list(when_any or []):
        if not body or not isinstance(body[0], Condition):
            raise ValueError("a body starts with a positive condition (a 'not' needs something to negate against)")
