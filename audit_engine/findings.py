"""Step 5 of the pipeline: check activations become findings.

A rule reports at most one finding per subject. When several activations name the
same subject, the canonical one is chosen by content (never by the order the engine
fired in), so a finding's message and evidence do not change when a map's lists are
reordered. Evidence is the chain of derived facts that led to the match, deepest
first, followed by the rule's own evidence lines.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from ._template import render
from .engine.run import Evaluation, Match
from .errors import Location
from .packs.program import Program, holds

from .severity import RANK as SEVERITY_ORDER
from .severity import SEVERITIES, counts
MAX_EVIDENCE = 30


def fingerprint(map_id: str, rule_id: str, subject: str, kind: str | None = None) -> str:
    """Stable across versions: the map id, the rule id and the subject id, nothing else;
    ``kind`` only for a rule whose subjects are of several kinds (a flow and a touchpoint
    may share an id), so two findings of one run never share a fingerprint."""
    tail = f"\x00{kind}" if kind else ""
    return hashlib.sha256(f"audit-engine/v1\x00{map_id}\x00{rule_id}\x00{subject}{tail}".encode()).hexdigest()[:32]


def _subject_kind(program: Program, rule: Any, fact_type: str) -> str:
    """The kind of a match's subject: the entity its fact is, if the rule lists it."""
    entity = program.fact_types[fact_type].entity
    return entity if entity in rule.subject_kinds else rule.subject_kinds[0]


def grade(rule: Any, ex: "Explainer", m: Match) -> str:
    """The severity of a finding from this match: the first ``severity_when`` that holds."""
    for g in ex.p.grades.get(rule.id, ()):
        if all(holds(t, ex.values(m.fact_of(alias)).get(t.field)) for alias, t in g.tests):
            return g.severity
    return rule.severity


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str
    subject: str
    title: str
    message: str
    citation: str
    fingerprint: str
    location: Location
    evidence: list[str]
    pack: str = ""
    subject_kind: str = ""
    waived: bool = False
    waiver: dict[str, Any] | None = None
    previous_severity: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[int, str, str]:
        return (SEVERITY_ORDER[self.severity], self.rule_id, self.subject)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "subject": self.subject,
            "title": self.title,
            "message": self.message,
            "citation": self.citation,
            "fingerprint": self.fingerprint,
            "location": self.location.as_dict(),
            "evidence": list(self.evidence),
            "waived": self.waived,
            "pack": self.pack,
            "subject_kind": self.subject_kind,
            "citations": [dict(c) for c in self.citations],
        }
        if self.waiver is not None:
            d["waiver"] = self.waiver
        if self.previous_severity is not None:
            d["previous_severity"] = self.previous_severity
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Finding":
        loc = d.get("location") or {}
        known = {"rule_id", "severity", "subject", "title", "message", "citation", "fingerprint", "location",
                 "evidence", "waived", "pack", "subject_kind", "waiver", "previous_severity", "citations"}
        return cls(
            rule_id=d["rule_id"], severity=d["severity"], subject=d["subject"], title=d.get("title", ""),
            message=d.get("message", ""), citation=d.get("citation", ""), fingerprint=d["fingerprint"],
            location=Location(loc.get("file", ""), int(loc.get("line", 1)), int(loc.get("column", 1))),
            evidence=list(d.get("evidence", [])), pack=d.get("pack", ""), subject_kind=d.get("subject_kind", ""),
            waived=bool(d.get("waived", False)), waiver=d.get("waiver"), previous_severity=d.get("previous_severity"),
            citations=list(d.get("citations") or []),
            extra={k: v for k, v in d.items() if k not in known},
        )


class Explainer:
    """Renders derivation chains with memoisation and bounded length."""

    def __init__(self, program: Program, ev: Evaluation):
        self.p, self.ev = program, ev
        self._chains: dict[int, tuple[list[str], int]] = {}
        self._depths: dict[int, int] | None = None

    def values(self, idx: int) -> dict[str, Any]:
        return self.ev.facts[idx].values

    def context(self, match: Match) -> dict[str, dict[str, Any]]:
        ctx = {alias: self.values(idx) for alias, idx in match.bindings}
        ctx["param"] = dict(self.p.params)  # type: ignore[assignment]
        return ctx

    @property
    def depths(self) -> dict[int, int]:
        """Per derived fact, the length of its shortest derivation (base facts are 0).

        Computed from the justifications alone, so the evidence chosen for a finding
        depends on the facts, never on the order or the engine states they came from.
        """
        if self._depths is None:
            just = self.ev.justifications
            depth: dict[int, int] = {}
            users: dict[int, list[int]] = {}
            for idx, matches in just.items():
                for m in matches:
                    for _, i in m.bindings:
                        if i in just:
                            users.setdefault(i, []).append(idx)
            todo = list(just)
            while todo:  # relax until stable: depth(f) = 1 + min over matches of max depth of the bound facts
                changed: list[int] = []
                for idx in todo:
                    best = min((1 + max((depth.get(i, 0 if i not in just else 1 << 30) for _, i in m.bindings),
                                        default=0)) for m in just[idx])
                    if best < depth.get(idx, 1 << 30):
                        depth[idx] = best
                        changed.append(idx)
                todo = list(dict.fromkeys(u for c in changed for u in users.get(c, ())))
            self._depths = depth
        return self._depths

    def match_key(self, match: Match) -> tuple:
        depths, just = self.depths, self.ev.justifications
        depth = max((depths.get(i, 1 << 30) if i in just else 0 for _, i in match.bindings), default=0)
        return (depth, self.p.bodies[match.body].alternative, match.body,
                tuple(self.ev.facts[i].key() for _, i in match.bindings))

    def canonical(self, idx: int) -> Match:
        return min(self.ev.justifications[idx], key=self.match_key)

    def chain(self, idx: int) -> tuple[list[str], int]:
        """Lines explaining derived fact ``idx`` (deepest first) and how many were omitted."""
        if idx in self._chains:
            return self._chains[idx]
        # iterative post-order over canonical justifications (chains can be 20,000 deep)
        stack: list[tuple[int, bool]] = [(idx, False)]
        while stack:
            node, ready = stack.pop()
            if node in self._chains:
                continue
            match = self.canonical(node)
            deps = [i for _, i in match.bindings if i in self.ev.justifications and i != node]
            if not ready:
                stack.append((node, True))
                stack.extend((d, False) for d in reversed(deps) if d not in self._chains)
                continue
            lines: list[str] = []
            omitted = 0
            for d in deps:
                sub, om = self._chains.get(d, ([], 0))
                omitted += om
                lines.extend(line for line in sub if line not in lines)
            body = self.p.bodies[match.body]
            _, derivation = self.p.derivations[body.owner]  # type: ignore[index]
            own = render(derivation.because, self.context(match))
            if own not in lines:
                lines.append(own)
            if len(lines) > MAX_EVIDENCE:
                omitted += len(lines) - MAX_EVIDENCE
                lines = lines[:10] + lines[-(MAX_EVIDENCE - 10):]
            self._chains[node] = (lines, omitted)
        return self._chains[idx]


def build_findings(program: Program, ev: Evaluation, map_id: str,
                   locate: Callable[[str, str], Location]) -> list[Finding]:
    """One finding per (rule, subject), sorted by severity, rule id, subject."""
    ex = Explainer(program, ev)
    # (rule, subject kind, subject) -> (canonical key, match); the most severe grade wins
    best: dict[tuple[str, str, str], tuple[tuple, Match]] = {}
    for m in ev.matches:
        body = program.bodies[m.body]
        _, rule = program.rules[body.owner]
        alias, fld = rule.subject.split(".", 1)
        subject = str(ex.values(m.fact_of(alias)).get(fld))
        key = (rule.id, _subject_kind(program, rule, body.alias_types[alias]), subject)
        mkey = (SEVERITY_ORDER[grade(rule, ex, m)], *ex.match_key(m))
        if key not in best or mkey < best[key][0]:
            best[key] = (mkey, m)
    out: list[Finding] = []
    for (rule_id, kind, subject), (mkey, m) in best.items():
        pack, rule = program.rules[rule_id]
        ctx = ex.context(m)
        evidence: list[str] = []
        omitted = 0
        for _, idx in m.bindings:
            if idx in ev.justifications:
                lines, om = ex.chain(idx)
                omitted += om
                evidence.extend(line for line in lines if line not in evidence)
        evidence.extend(render(t, ctx) for t in rule.evidence)
        if omitted:
            evidence.insert(10 if len(evidence) > 10 else 0, f"… {omitted} further derivation steps not shown …")
        severity = SEVERITIES[mkey[0]]
        if severity != rule.severity:
            evidence.append(f"graded {severity} (rule default {rule.severity})")
        out.append(Finding(
            rule_id=rule.id, severity=severity, subject=subject, title=rule.title,
            message=render(rule.message, ctx), citation=rule.citation,
            fingerprint=fingerprint(map_id, rule.id, subject, kind if len(rule.subject_kinds) > 1 else None),
            location=locate(kind, subject), evidence=evidence, pack=pack.pack, subject_kind=kind,
            citations=[c.model_dump(exclude_none=True) for c in rule.citations],
        ))
    out.sort(key=Finding.sort_key)
    return out


def summarize(findings: Iterable[Finding], include_waived: bool = False) -> dict[str, int]:
    """Counts per severity and in total, of the unwaived findings (or of all)."""
    return counts(f.severity for f in findings if include_waived or not f.waived)
