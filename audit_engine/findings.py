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
from typing import Any, Callable, Iterable, Mapping, NamedTuple

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


_UNREACHED = 1 << 30  # the depth of a derived fact no finite derivation reaches


class Explainer:
    """Renders derivation chains with memoisation and bounded length."""

    def __init__(self, program: Program, ev: Evaluation, needed: Iterable[int] | None = None):
        """``needed``: the derived facts whose depths will be asked for (with everything they
        are derived from); depths are then computed for those alone until another is asked."""
        self.p, self.ev = program, ev
        self._chains: dict[int, tuple[list[str], int]] = {}
        self._depths: dict[int, int] | None = None
        self._scope: set[int] | None = None
        if needed is not None:
            self._scope = _derived_from(ev.justifications, needed)
        self._keys: dict[int, tuple] = {}  # fact -> Fact.key(), for ties
        self._alternative = {name: b.alternative for name, b in program.bodies.items()}
        self._params = dict(program.params)
        # derivation body -> its derivation's "because" line (a template)
        self._because = {name: program.derivations[b.owner][1].because  # type: ignore[index]
                         for name, b in program.bodies.items() if b.kind == "derive"}

    def values(self, idx: int) -> dict[str, Any]:
        return self.ev.facts[idx].values

    def context(self, match: Match) -> dict[str, dict[str, Any]]:
        facts = self.ev.facts
        ctx = {alias: facts[idx].values for alias, idx in zip(match.aliases, match.facts)}
        ctx["param"] = self._params  # type: ignore[assignment]
        return ctx

    @property
    def depths(self) -> dict[int, int]:
        """Per derived fact, the length of its shortest derivation (base facts are 0).

        Computed from the justifications alone, so the evidence chosen for a finding
        depends on the facts, never on the order or the engine states they came from.
        (Knuth's generalisation of Dijkstra's algorithm: a derivation's length is known once
        its last derived fact is, and facts are settled in order of length.)
        """
        if self._depths is None or self._scope is not None:
            self._scope = None
            self._depths = _shortest_derivations(self.ev.justifications)
        return self._depths

    def depth(self, match: Match) -> int:
        """The depth of the match's deepest derived fact (base facts count 0)."""
        depths, just, scope = self._depths, self.ev.justifications, self._scope
        if depths is None:
            depths = self._depths = _shortest_derivations(just, scope)
        deepest = 0
        for i in match.facts:
            if i in just:
                d = depths.get(i)
                if d is None:
                    if scope is not None and i not in scope:
                        return self._depth_everywhere(match)
                    d = _UNREACHED
                if d > deepest:
                    deepest = d
        return deepest

    def _depth_everywhere(self, match: Match) -> int:
        """``depth`` of a match outside the facts computed so far: compute them all first."""
        depths, just = self.depths, self.ev.justifications
        return max((depths.get(i, _UNREACHED) if i in just else 0 for i in match.facts), default=0)

    def _fact_keys(self, match: Match) -> tuple:
        keys, facts = self._keys, self.ev.facts
        out = []
        for i in match.facts:
            k = keys.get(i)
            if k is None:
                k = keys[i] = facts[i].key()
            out.append(k)
        return tuple(out)

    def canonical(self, idx: int) -> Match:
        """The justification of ``idx`` that is least by derivation depth, alternative and
        body name (its facts' keys compared only between justifications that tie on those)."""
        matches = self.ev.justifications[idx]
        if len(matches) == 1:
            return matches[0]
        alternative = self._alternative
        best: list[Match] = []
        best_key: tuple = ()
        for m in matches:
            k = (self.depth(m), alternative[m.body], m.body)
            if not best or k < best_key:
                best, best_key = [m], k
            elif k == best_key:
                best.append(m)
        return best[0] if len(best) == 1 else min(best, key=self._fact_keys)

    def chain(self, idx: int) -> tuple[list[str], int]:
        """Lines explaining derived fact ``idx`` (deepest first) and how many were omitted."""
        if idx in self._chains:
            return self._chains[idx]
        just = self.ev.justifications
        # iterative post-order over canonical justifications (chains can be 20,000 deep)
        stack: list[tuple[int, bool]] = [(idx, False)]
        while stack:
            node, ready = stack.pop()
            if node in self._chains:
                continue
            match = self.canonical(node)
            deps = [i for i in match.facts if i in just and i != node]
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
            own = render(self._because[match.body], self.context(match))
            if own not in lines:
                lines.append(own)
            if len(lines) > MAX_EVIDENCE:
                omitted += len(lines) - MAX_EVIDENCE
                lines = lines[:10] + lines[-(MAX_EVIDENCE - 10):]
            self._chains[node] = (lines, omitted)
        return self._chains[idx]


def _derived_from(just: Mapping[int, list[Match]], roots: Iterable[int]) -> set[int]:
    """The derived facts among ``roots`` and every derived fact their justifications bind, transitively."""
    todo = [i for i in roots if i in just]
    seen = set(todo)
    while todo:
        for m in just[todo.pop()]:
            for i in m.facts:
                if i not in seen and i in just:
                    seen.add(i)
                    todo.append(i)
    return seen


def _shortest_derivations(just: Mapping[int, list[Match]], scope: set[int] | None = None) -> dict[int, int]:
    """depth(f) = 1 + min over f's justifications of the max depth of their derived facts
    (facts without justifications count 0); facts no finite derivation reaches are left out.
    With ``scope`` (closed under "is derived from"), only for the facts in it."""
    heads_of: Iterable[tuple[int, list[Match]]] = just.items() if scope is None else \
        ((i, just[i]) for i in sorted(scope))
    items = list(heads_of)
    first: list[int] = []  # facts with a justification that binds no derived fact: depth 1
    for idx, matches in items:
        for m in matches:
            if not any(i in just for i in m.facts):
                first.append(idx)
                break
    settled_early = set(first)
    waiting: list[int] = []  # per registered justification: its derived facts not settled yet
    heads: list[int] = []
    users: dict[int, list[int]] = {}  # derived fact -> justifications that bind it (once each)
    for idx, matches in items:
        if idx in settled_early:
            continue  # nothing can make it shallower than 1
        for m in matches:
            needed = [i for i in m.facts if i in just]
            if len(needed) > 1:
                needed = list(dict.fromkeys(needed))
            j = len(heads)
            heads.append(idx)
            waiting.append(len(needed))
            for i in needed:
                users.setdefault(i, []).append(j)
    buckets: dict[int, list[int]] = {1: first} if first else {}  # tentative depth -> facts
    depth: dict[int, int] = {}
    d = 1
    while buckets:
        todo = buckets.pop(d, None)
        if todo is None:
            d += 1
            continue
        for idx in todo:
            if idx in depth:
                continue
            depth[idx] = d  # the least tentative depth: settled
            for j in users.get(idx, ()):
                waiting[j] -= 1
                if not waiting[j] and heads[j] not in depth:
                    buckets.setdefault(d + 1, []).append(heads[j])
    return depth


class _RuleView(NamedTuple):
    """What turning one check body's matches into findings needs, computed once per body."""

    rule: Any
    pack: Any
    position: int  # of the subject's alias among the body's positive aliases
    field: str  # the subject's field
    kind: str
    grades: tuple
    citations: list[dict[str, Any]]


def _rule_views(program: Program) -> dict[str, _RuleView]:
    """Per check body, what its findings need; made once per program (kept on it)."""
    made = program.__dict__.get("_finding_views")
    if made is not None:
        return made
    out: dict[str, _RuleView] = {}
    citations: dict[str, list[dict[str, Any]]] = {}
    for name, body in program.bodies.items():
        if body.kind != "check":
            continue
        pack, rule = program.rules[body.owner]
        alias, fld = rule.subject.split(".", 1)
        if rule.id not in citations:
            citations[rule.id] = [c.model_dump(exclude_none=True) for c in rule.citations]
        grades = tuple((SEVERITY_ORDER[g.severity], tuple((body.aliases.index(a), t) for a, t in g.tests))
                       for g in program.grades.get(rule.id, ()))
        out[name] = _RuleView(rule, pack, body.aliases.index(alias), fld,
                              _subject_kind(program, rule, body.alias_types[alias]), grades, citations[rule.id])
    program.__dict__["_finding_views"] = out
    return out


def build_findings(program: Program, ev: Evaluation, map_id: str,
                   locate: Callable[[str, str], Location]) -> list[Finding]:
    """One finding per (rule, subject), sorted by severity, rule id, subject."""
    ex = Explainer(program, ev, needed=(i for m in ev.matches for i in m.facts))
    views = _rule_views(program)
    facts, just = ev.facts, ev.justifications
    alternative = ex._alternative
    # (rule, subject kind, subject) -> [(severity rank, depth, alternative, body), match, ties];
    # the most severe grade wins, then the canonical match (fact keys compared only on ties)
    best: dict[tuple[str, str, str], list] = {}
    for m in ev.matches:
        v = views[m.body]
        bound = m.facts
        subject = str(facts[bound[v.position]].values.get(v.field))
        rank = SEVERITY_ORDER[v.rule.severity]
        for g_rank, tests in v.grades:
            if all(holds(t, facts[bound[pos]].values.get(t.field)) for pos, t in tests):
                rank = g_rank
                break
        cheap = (rank, ex.depth(m), alternative[m.body], m.body)
        key = (v.rule.id, v.kind, subject)
        held = best.get(key)
        if held is None or cheap < held[0]:
            best[key] = [cheap, m]
        elif cheap == held[0] and ex._fact_keys(m) < ex._fact_keys(held[1]):
            held[1] = m
    out: list[Finding] = []
    params = dict(program.params)
    for (_, kind, subject), (cheap, m) in best.items():
        v = views[m.body]
        rule = v.rule
        ctx: dict[str, Any] = {alias: facts[idx].values for alias, idx in zip(m.aliases, m.facts)}
        ctx["param"] = params
        evidence: list[str] = []
        omitted = 0
        for idx in m.facts:
            if idx in just:
                lines, om = ex.chain(idx)
                omitted += om
                evidence.extend(line for line in lines if line not in evidence)
        evidence.extend(render(t, ctx) for t in rule.evidence)
        if omitted:
            evidence.insert(10 if len(evidence) > 10 else 0, f"… {omitted} further derivation steps not shown …")
        severity = SEVERITIES[cheap[0]]
        if severity != rule.severity:
            evidence.append(f"graded {severity} (rule default {rule.severity})")
        out.append(Finding(
            rule_id=rule.id, severity=severity, subject=subject, title=rule.title,
            message=render(rule.message, ctx), citation=rule.citation,
            fingerprint=fingerprint(map_id, rule.id, subject, kind if len(rule.subject_kinds) > 1 else None),
            location=locate(kind, subject), evidence=evidence, pack=v.pack.pack, subject_kind=kind,
            citations=[dict(c) for c in v.citations],
        ))
    out.sort(key=Finding.sort_key)
    return out


def summarize(findings: Iterable[Finding], include_waived: bool = False) -> dict[str, int]:
    """Counts per severity and in total, of the unwaived findings (or of all)."""
    return counts(f.severity for f in findings if include_waived or not f.waived)
