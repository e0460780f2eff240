"""Waivers: accepted risks on the record, each with a reason, an owner and an expiry.

A waiver file lives with the maps (``--waivers FILE``, or ``audit-waivers.yaml`` in the
map's folder when present)::

    waivers:
      - map: patient-portal
        rule_id: HDF-009
        subject: view-results          # or: fingerprint: <hex>
        reason: Export is limited to the patient's own results.
        owner: privacy-officer@example.org
        expires: 2027-03-31

A waiver covers the finding of its map whose rule id and subject (or fingerprint) it
names. It is active up to and including its ``expires`` day. An active waiver marks the
finding ``waived``; an expired one leaves the finding counting and says so on it
(``finding.waiver["expired"]``); a waiver that covers no finding is stale.
:func:`apply_waivers` returns a new result whose :class:`WaiverReport` lists all of them.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Iterable

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from . import _yaml, clock
from .errors import ConfigError, Diagnostic, Location, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from .audit import AuditResult
    from .findings import Finding

WAIVER_FILE = "audit-waivers.yaml"
MAX_LIFETIME_DAYS = 365  # default: a waiver may not run longer than this from the day it is applied

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class _WaiverModel(BaseModel):
    """One entry of a waiver file, as written."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True, defer_build=True)

    map: Text
    rule_id: Text
    subject: Text | None = None
    fingerprint: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                                  pattern=r"^[0-9a-fA-F]{8,64}$")] | None = None
    reason: Text
    owner: Text
    expires: _dt.date

    @field_validator("map", "rule_id", "subject", "reason", "owner", mode="before")
    @classmethod
    def _text_only(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, str):
            raise ValueError(f"must be text, got {type(v).__name__}")
        return v

    @field_validator("expires", mode="before")
    @classmethod
    def _a_date(cls, v: Any) -> Any:
        if isinstance(v, _dt.datetime):
            return v.date()
        if isinstance(v, _dt.date):
            return v
        if isinstance(v, str):
            try:
                return _dt.date.fromisoformat(v.strip())
            except ValueError:
                pass
        raise ValueError(f"must be a date written YYYY-MM-DD, got '{v}'")


def _entry_problems(data: dict[str, Any], doc: _yaml.Document) -> list[Diagnostic]:
    """Each waiver names a subject or a fingerprint, not both, and no waiver repeats another
    (checked beside pydantic's checks, so that every problem of a file is reported at once)."""
    out = []
    entries = data.get("waivers")
    seen: dict[tuple, int] = {}
    for i, item in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(item, dict):
            continue
        where = doc.position(("waivers", i))
        if (item.get("subject") is None) == (item.get("fingerprint") is None):
            what = "not both" if item.get("subject") is not None else "one of them is required"
            out.append(Diagnostic(where, f"waivers[{i}]: give either 'subject' (with rule_id) or 'fingerprint'; {what}"))
        key = tuple(str(item.get(k, "")).strip().upper() for k in ("map", "rule_id", "subject", "fingerprint"))
        if key in seen:
            out.append(Diagnostic(where, f"this waiver duplicates the one at line {seen[key]} (map {item.get('map')}, "
                                         f"{item.get('rule_id')} {item.get('subject') or item.get('fingerprint')}); "
                                         "keep one"))
        else:
            seen[key] = where.line
    return out


class _WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    waivers: list[_WaiverModel] = Field(default_factory=list)


@dataclass(frozen=True)
class Waiver:
    """One entry of a waiver file, with where it is written."""

    map: str
    rule_id: str
    subject: str | None
    fingerprint: str | None
    reason: str
    owner: str
    expires: _dt.date
    file: str
    line: int
    column: int = 1

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.column)

    def active(self, today: _dt.date) -> bool:
        """Active on ``today`` when it expires that day or later."""
        return self.expires >= today

    def covers(self, finding: "Finding") -> bool:
        if finding.rule_id != self.rule_id:
            return False
        if self.fingerprint is not None:  # the whole fingerprint, or a prefix of at least 8 digits (as git)
            return finding.fingerprint.startswith(self.fingerprint)
        return finding.subject == self.subject

    def target(self) -> str:
        return f"{self.rule_id} {self.subject if self.subject is not None else self.fingerprint}"

    def mark(self, expired: bool) -> dict[str, Any]:
        """What a covered finding carries as ``finding.waiver``."""
        out: dict[str, Any] = {"reason": self.reason, "owner": self.owner, "expires": self.expires.isoformat(),
                               "file": self.file, "line": self.line}
        if expired:
            out["expired"] = True
        return out


@dataclass(frozen=True)
class WaiverEntry:
    """A waiver as the report lists it: applied, expired, stale or not checked."""

    map: str
    rule_id: str
    subject: str | None
    fingerprint: str | None
    owner: str
    expires: str  # ISO date
    reason: str
    line: int
    expired: bool = False
    note: str | None = None  # why a stale waiver is stale, when it is not the plain case

    @classmethod
    def of(cls, w: Waiver, finding: "Finding | None" = None, expired: bool = False) -> "WaiverEntry":
        subject = w.subject if w.subject is not None else (finding.subject if finding is not None else None)
        return cls(w.map, w.rule_id, subject, w.fingerprint, w.owner, w.expires.isoformat(), w.reason, w.line, expired)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"map": self.map, "rule_id": self.rule_id}
        if self.subject is not None:
            out["subject"] = self.subject
        if self.fingerprint is not None:
            out["fingerprint"] = self.fingerprint
        out.update({"owner": self.owner, "expires": self.expires, "reason": self.reason, "line": self.line})
        if self.expired:
            out["expired"] = True
        if self.note:
            out["note"] = self.note
        return out

    def describe(self) -> str:
        """``HDF-009 view-results (owner x, expires 2027-03-31, line 4)``."""
        target = self.subject or self.fingerprint or ""
        note = f": {self.note}" if self.note else ""
        return f"{self.rule_id} {target} (owner {self.owner}, expires {self.expires}, line {self.line}){note}"


@dataclass(frozen=True)
class WaiverReport:
    """What one waiver file did to one audit."""

    file: str
    applied: tuple[WaiverEntry, ...] = ()
    expired: tuple[WaiverEntry, ...] = ()  # past their expiry: the findings count again
    stale: tuple[WaiverEntry, ...] = ()  # cover no finding of this map
    not_checked: tuple[WaiverEntry, ...] = ()  # their rule did not run (--only/--skip)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, **{k: [e.to_dict() for e in getattr(self, k)]
                                      for k in ("applied", "expired", "stale", "not_checked")}}


# --------------------------------------------------------------------------- reading


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read and check a waiver file; every problem is reported at once as a ConfigError."""
    file = str(path)
    doc = _yaml.read_settings(file, ConfigError)
    if doc is None or doc.data is None:
        return []
    if not isinstance(doc.data, dict):
        raise ConfigError(Diagnostic(doc.start, "a waiver file is a mapping with one key, 'waivers' (a list)"))
    if "waivers" not in doc.data and not doc.data:
        return []
    targets = _entry_problems(doc.data, doc)
    try:
        parsed = _WaiverFile.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, doc) + targets) from None
    if targets:
        raise ConfigError(targets)
    if "waivers" not in doc.data:
        raise ConfigError(Diagnostic(doc.start, "the file has no 'waivers' list"))
    positions = doc.item_positions(("waivers",))
    return [Waiver(m.map, m.rule_id, m.subject, m.fingerprint, m.reason, m.owner, m.expires, file, loc.line, loc.column)
            for m, loc in zip(parsed.waivers, positions)]


_KEYS = tuple(f.alias or n for n, f in _WaiverModel.model_fields.items())


def _problems(exc: ValidationError, doc: _yaml.Document) -> list[Diagnostic]:
    """Pydantic's errors as one plain line each, at the offending key or value."""
    out: list[Diagnostic] = []
    for e in exc.errors():
        loc = tuple(e["loc"])
        name = _yaml.path_str(loc)
        if e["type"] == "extra_forbidden":
            key = str(loc[-1])
            if len(loc) == 1:
                hint = " (did you mean 'waivers'?)" if did_you_mean(key, ["waivers"]) else ""
                msg = f"unknown key '{key}'{hint}; a waiver file has one key, 'waivers'"
            else:
                hints = did_you_mean(key, _KEYS)
                hint = f" (did you mean '{hints[0]}'?)" if hints else f" (known keys: {', '.join(_KEYS)})"
                msg = f"{_yaml.path_str(loc[:-1])}: unknown key '{key}'{hint}"
            out.append(Diagnostic(doc.key_position(loc), msg))
        elif e["type"] == "missing":
            out.append(Diagnostic(doc.position(loc[:-1]), f"{_yaml.path_str(loc[:-1])}: '{loc[-1]}' is required"))
        elif e["type"] in ("model_type", "model_attributes_type"):
            what = ("a waiver is a mapping with map, rule_id, subject or fingerprint, reason, owner and expires"
                    if len(loc) == 2 else "a mapping")
            out.append(Diagnostic(doc.position(loc), f"{name}: {what}"))
        elif e["type"] == "list_type":
            out.append(Diagnostic(doc.position(loc), "'waivers' must be a list of waivers"))
        elif e["type"] == "string_pattern_mismatch":
            out.append(Diagnostic(doc.position(loc), f"{name}: must be the hexadecimal fingerprint of a finding "
                                                     "(as in the JSON report), or at least its first 8 digits"))
        elif e["type"] == "string_too_short":
            out.append(Diagnostic(doc.position(loc), f"{name}: must be non-empty text"))
        else:
            msg = str(e["msg"]).removeprefix("Value error, ")
            out.append(Diagnostic(doc.position(loc), f"{name}: {msg}" if name else msg))
    return sorted(set(out))


def default_waiver_file(map_file: str | Path) -> Path | None:
    if str(map_file) in ("-", "<stdin>"):  # a map on standard input has no folder
        return None
    candidate = Path(map_file).parent / WAIVER_FILE
    return candidate if candidate.exists() else None  # a FIFO or folder is refused when read


# --------------------------------------------------------------------------- applying


def _known_rule_ids(result: "AuditResult") -> tuple[set[str], set[str]]:
    """(rule ids checked in this audit, every rule id of the loaded packs incl. skipped and retired ones)."""
    checked = set(result.ruleset.program.rules)
    every = set(checked)
    for lp in result.ruleset.packs:
        every.update(r.id for r in lp.all_rules)
        every.update(r.id for r in lp.pack.retired)
    return checked, every


def apply_waivers(result: "AuditResult", path: str | Path | None, today: _dt.date | None = None,
                  waivers: list[Waiver] | None = None,
                  max_lifetime_days: int = MAX_LIFETIME_DAYS) -> "AuditResult":
    """A copy of ``result`` with the findings active waivers cover marked, and its report.

    ``path`` is the waiver file; None means ``audit-waivers.yaml`` beside the map, if any.
    Without a waiver file the findings are left unwaived and the report is None.
    Raises ConfigError for an invalid file, a waiver naming a rule that does not exist, or
    one that runs longer than ``max_lifetime_days`` from ``today``.
    """
    today = today or clock.today()
    findings = [replace(f, waived=False, waiver=None) if f.waived or f.waiver else f for f in result.findings]
    file = Path(path) if path else default_waiver_file(result.loaded.file)
    if file is None:
        return replace(result, findings=tuple(findings), waivers=None)
    if waivers is None:
        waivers = load_waivers(file)
    checked, every = _known_rule_ids(result)
    upper = {r.upper(): r for r in every}
    problems: list[Diagnostic] = []
    normalised: list[Waiver] = []
    for w in waivers:
        rule_id = w.rule_id if w.rule_id in every else upper.get(w.rule_id.upper())
        if rule_id is None:
            hints = did_you_mean(w.rule_id, sorted(every))
            hint = f" (did you mean {' or '.join(repr(h) for h in hints)}?)" if hints else ""
            problems.append(Diagnostic(w.location, f"unknown rule id '{w.rule_id}'{hint}"))
            continue
        if (w.expires - today).days > max_lifetime_days:
            problems.append(Diagnostic(w.location, f"the waiver for {w.target()} runs until {w.expires.isoformat()}, "
                                                   f"more than {max_lifetime_days} days from today (waiver_max_days); "
                                                   "an accepted risk is reviewed again within that time: set an "
                                                   "earlier expiry"))
            continue
        normalised.append(replace(w, rule_id=rule_id))
    if problems:
        raise ConfigError(problems)
    mine = [w for w in normalised if w.map == result.map_id]
    claimed: dict[str, Waiver] = {}
    report: dict[str, list[WaiverEntry]] = {"applied": [], "expired": [], "stale": [], "not_checked": []}
    for w in mine:
        if w.rule_id not in checked:
            report["not_checked"].append(WaiverEntry.of(w))  # the rule did not run: neither applied nor stale
            continue
        hits = [i for i, f in enumerate(findings) if w.covers(f)]
        if w.fingerprint is not None and not hits:
            other = next((f for f in findings if f.fingerprint.startswith(w.fingerprint)), None)
            if other is not None:
                problems.append(Diagnostic(w.location, f"fingerprint {w.fingerprint} is the finding {other.rule_id} "
                                                       f"{other.subject}, not rule {w.rule_id}; "
                                                       "fix rule_id or fingerprint"))
                continue
        if len(hits) > 1 and w.fingerprint is not None:  # a short fingerprint that fits several findings
            problems.append(Diagnostic(w.location, f"fingerprint {w.fingerprint} fits {len(hits)} findings "
                                                   f"({', '.join(findings[i].fingerprint for i in hits[:3])}); "
                                                   "give more of its digits"))
            continue
        if not hits:
            report["stale"].append(WaiverEntry.of(w, expired=not w.active(today)))
            continue
        active = w.active(today)
        for hit in hits:  # a subject waiver covers the rule's finding of every kind of that subject (SENS-001)
            finding = findings[hit]
            if finding.fingerprint in claimed:
                first = claimed[finding.fingerprint]
                problems.append(Diagnostic(w.location, f"the waivers at lines {first.line} and {w.line} both cover "
                                                       f"{finding.rule_id} {finding.subject}; keep one"))
                continue
            claimed[finding.fingerprint] = w
            findings[hit] = replace(finding, waived=active, waiver=w.mark(expired=not active))
            report["applied" if active else "expired"].append(WaiverEntry.of(w, finding, expired=not active))
    if problems:
        raise ConfigError(problems)
    unknown_maps = [w for w in normalised if w.map != result.map_id]
    waiver_report = WaiverReport(str(file), *(tuple(report[k]) for k in ("applied", "expired", "stale", "not_checked")))
    return replace(result, findings=tuple(findings), waivers=waiver_report, other_map_waivers=tuple(unknown_maps))


def with_map_mismatches(results: Iterable["AuditResult"], today: _dt.date | None = None) -> list["AuditResult"]:
    """The results, each waiver report listing as stale the waivers of its file whose
    ``map`` names none of the maps audited together (with "did you mean").

    A waiver file often covers several maps of a folder, so a waiver for another map is
    normal while auditing one; it is stale only when no map audited together matches it.
    """
    results = list(results)
    ids = sorted({r.map_id for r in results})
    today = today or clock.today()
    out = []
    for r in results:
        if r.waivers is None:
            out.append(r)
            continue
        extra = []
        for w in r.other_map_waivers:
            if w.map in ids:
                continue
            hints = did_you_mean(w.map, ids)
            note = f"map '{w.map}' is none of the maps audited ({', '.join(ids)})" + (
                f"; did you mean '{hints[0]}'?" if hints else "")
            extra.append(replace(WaiverEntry.of(w, expired=not w.active(today)), note=note))
        out.append(replace(r, waivers=replace(r.waivers, stale=r.waivers.stale + tuple(extra))) if extra else r)
    return out
