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
names. It is active up to and including its ``expires`` day. An active waiver marks
the finding ``waived``; an expired one leaves the finding counting and says so on it
(``finding.waiver["expired"]``); a waiver for the map that covers no finding is stale.
:func:`apply_waivers` records all three on ``result.waiver_report``.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from . import _yaml
from .errors import ConfigError, Diagnostic, Location, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from .audit import AuditResult
    from .findings import Finding

WAIVER_FILE = "audit-waivers.yaml"

REQUIRED = ("map", "rule_id", "reason", "owner", "expires")
KEYS = ("map", "rule_id", "subject", "fingerprint", "reason", "owner", "expires")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HEX = re.compile(r"^[0-9a-fA-F]{8,64}$")


@dataclass(frozen=True)
class Waiver:
    """One entry of a waiver file."""

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
        if self.fingerprint is not None:
            return finding.fingerprint == self.fingerprint
        return finding.subject == self.subject

    def target(self) -> str:
        return f"{self.rule_id} {self.subject}" if self.subject is not None else f"{self.rule_id} {self.fingerprint}"

    def entry(self, finding: "Finding | None" = None, **extra: Any) -> dict[str, Any]:
        """The waiver as listed in ``waiver_report``."""
        out: dict[str, Any] = {"rule_id": self.rule_id}
        if self.subject is not None:
            out["subject"] = self.subject
        else:
            out["fingerprint"] = self.fingerprint
            if finding is not None:
                out["subject"] = finding.subject
        out.update({"owner": self.owner, "expires": self.expires.isoformat(), "reason": self.reason,
                    "line": self.line})
        out.update(extra)
        return out

    def on_finding(self, expired: bool) -> dict[str, Any]:
        """What a covered finding carries as ``finding.waiver``."""
        out: dict[str, Any] = {"reason": self.reason, "owner": self.owner, "expires": self.expires.isoformat(),
                               "file": self.file, "line": self.line}
        if expired:
            out["expired"] = True
        return out


# --------------------------------------------------------------------------- reading


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date(value: Any) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read and check a waiver file; every problem is reported at once as a ConfigError."""
    file = str(path)
    doc = _yaml.read_settings(file, ConfigError)
    if doc is None or doc.data is None:
        return []
    problems: list[Diagnostic] = []

    def bad(where: tuple, message: str, key: bool = False) -> None:
        loc = doc.key_position(where) if key else doc.position(where)
        problems.append(Diagnostic(loc, message))

    data = doc.data
    if not isinstance(data, dict):
        raise ConfigError(Diagnostic(doc.start, "a waiver file is a mapping with one key, 'waivers' (a list)"))
    for key in data:
        if key != "waivers":
            hint = " (did you mean 'waivers'?)" if did_you_mean(str(key), ["waivers"]) else ""
            bad((key,), f"unknown key '{key}'{hint}; a waiver file has one key, 'waivers'", key=True)
    entries = data.get("waivers")
    if entries is None:
        if "waivers" not in data:
            bad((), "the file has no 'waivers' list")
        if problems:
            raise ConfigError(problems)
        return []
    if not isinstance(entries, list):
        raise ConfigError(problems + [Diagnostic(doc.position(("waivers",)),
                                                 "'waivers' must be a list of waivers")])
    out: list[Waiver] = []
    for i, item in enumerate(entries):
        here = ("waivers", i)
        name = f"waivers[{i}]"
        if not isinstance(item, dict):
            bad(here, f"{name}: a waiver is a mapping with map, rule_id, subject or fingerprint, reason, owner "
                      "and expires")
            continue
        ok = True
        for key in item:
            if key not in KEYS:
                hints = did_you_mean(str(key), KEYS)
                hint = f" (did you mean '{hints[0]}'?)" if hints else f" (known keys: {', '.join(KEYS)})"
                bad(here + (key,), f"{name}: unknown key '{key}'{hint}", key=True)
                ok = False
        for key in REQUIRED:
            if key not in item or item[key] is None:
                bad(here, f"{name}: '{key}' is required")
                ok = False
        has_subject, has_fp = item.get("subject") is not None, item.get("fingerprint") is not None
        if has_subject == has_fp:
            what = "not both" if has_subject else "one of them is required"
            bad(here, f"{name}: give either 'subject' (with rule_id) or 'fingerprint'; {what}")
            ok = False
        values: dict[str, Any] = {}
        for key in ("map", "rule_id", "subject", "reason", "owner"):
            if item.get(key) is None:
                continue
            text = _text(item[key]) if isinstance(item[key], str) else None
            if text is None:
                kind = "an empty string" if isinstance(item[key], str) else type(item[key]).__name__
                bad(here + (key,), f"{name}.{key}: must be non-empty text, got {kind}")
                ok = False
            values[key] = text
        if item.get("fingerprint") is not None:
            fp = item["fingerprint"]
            if not isinstance(fp, str) or not _HEX.match(fp.strip()):
                bad(here + ("fingerprint",), f"{name}.fingerprint: must be the hexadecimal fingerprint of a finding "
                                             "(as in the JSON report)")
                ok = False
            else:
                values["fingerprint"] = fp.strip().lower()
        if item.get("expires") is not None:
            expires = _date(item["expires"])
            if expires is None:
                bad(here + ("expires",), f"{name}.expires: must be a date written YYYY-MM-DD, got "
                                         f"'{item['expires']}'")
                ok = False
            values["expires"] = expires
        if not ok:
            continue
        loc = doc.position(here)
        out.append(Waiver(map=values["map"], rule_id=values["rule_id"], subject=values.get("subject"),
                          fingerprint=values.get("fingerprint"), reason=values["reason"], owner=values["owner"],
                          expires=values["expires"], file=file, line=loc.line, column=loc.column))
    seen: dict[tuple, Waiver] = {}
    for w in out:
        key = (w.map, w.rule_id.upper(), w.subject, w.fingerprint)
        if key in seen:
            problems.append(Diagnostic(w.location, f"this waiver duplicates the one at line {seen[key].line} "
                                                   f"(map {w.map}, {w.target()}); keep one"))
        else:
            seen[key] = w
    if problems:
        raise ConfigError(problems)
    return out


# --------------------------------------------------------------------------- applying


def _known_rule_ids(result: "AuditResult") -> tuple[set[str], set[str]]:
    """(rule ids checked in this audit, every rule id of the loaded packs incl. ones skipped by --only/--skip)."""
    checked = set(result.ruleset.program.rules)
    every = set(checked)
    for lp in getattr(result.ruleset, "packs", []) or []:
        every.update(r.id for r in lp.pack.rules)
        data = getattr(getattr(lp, "document", None), "data", None)
        if isinstance(data, dict) and isinstance(data.get("rules"), list):
            every.update(r["id"] for r in data["rules"] if isinstance(r, dict) and isinstance(r.get("id"), str))
    return checked, every


def default_waiver_file(map_file: str | Path) -> Path | None:
    candidate = Path(map_file).parent / WAIVER_FILE
    return candidate if candidate.is_file() else None


def apply_waivers(result: "AuditResult", path: str | None, today: _dt.date | None = None) -> None:
    """Mark the findings of ``result`` that active waivers cover; fill ``result.waiver_report``.

    ``path`` is the waiver file; None means ``audit-waivers.yaml`` beside the map, if any.
    Without a waiver file the findings are left unwaived and ``waiver_report`` is None.
    Raises ConfigError for an invalid file or a waiver naming a rule that does not exist.
    """
    today = today or _dt.date.today()
    for f in result.findings:  # idempotent: a second call starts from scratch
        f.waived, f.waiver = False, None
    file = Path(path) if path else default_waiver_file(result.loaded.file)
    if file is None:
        result.waiver_report = None
        return
    waivers = load_waivers(file)
    checked, every = _known_rule_ids(result)
    upper = {r.upper(): r for r in every}
    problems: list[Diagnostic] = []
    normalised: list[Waiver] = []
    for w in waivers:
        if w.rule_id in every:
            normalised.append(w)
        elif w.rule_id.upper() in upper:
            normalised.append(replace(w, rule_id=upper[w.rule_id.upper()]))
        else:
            hints = did_you_mean(w.rule_id, sorted(every))
            hint = f" (did you mean {' or '.join(repr(h) for h in hints)}?)" if hints else ""
            problems.append(Diagnostic(w.location, f"unknown rule id '{w.rule_id}'{hint}"))
    if problems:
        raise ConfigError(problems)

    mine = [w for w in normalised if w.map == result.map_id]
    by_fp = {f.fingerprint: f for f in result.findings}
    claimed: dict[str, Waiver] = {}
    applied: list[dict[str, Any]] = []
    expired: list[dict[str, Any]] = []
    stale: list[dict[str, Any]] = []
    not_checked: list[dict[str, Any]] = []
    for w in mine:
        if w.rule_id not in checked:
            not_checked.append(w.entry())  # the rule did not run (--only/--skip): neither applied nor stale
            continue
        if w.fingerprint is not None and w.fingerprint in by_fp and by_fp[w.fingerprint].rule_id != w.rule_id:
            other = by_fp[w.fingerprint]
            problems.append(Diagnostic(w.location, f"fingerprint {w.fingerprint} is the finding {other.rule_id} "
                                                   f"{other.subject}, not rule {w.rule_id}; "
                                                   "fix rule_id or fingerprint"))
            continue
        hits = [f for f in result.findings if w.covers(f)]
        if not hits:
            stale.append(w.entry(expired=not w.active(today)))
            continue
        finding = hits[0]
        if finding.fingerprint in claimed:
            first = claimed[finding.fingerprint]
            problems.append(Diagnostic(w.location, f"the waivers at lines {first.line} and {w.line} both cover "
                                                   f"{finding.rule_id} {finding.subject}; keep one"))
            continue
        claimed[finding.fingerprint] = w
        if w.active(today):
            finding.waived, finding.waiver = True, w.on_finding(expired=False)
            applied.append(w.entry(finding))
        else:
            finding.waived, finding.waiver = False, w.on_finding(expired=True)
            expired.append(w.entry(finding, expired=True))
    if problems:
        for f in result.findings:
            f.waived, f.waiver = False, None
        raise ConfigError(problems)
    result.waiver_report = {"file": str(file), "applied": applied, "expired": expired, "stale": stale,
                            "not_checked": not_checked}


def describe(entry: dict[str, Any]) -> str:
    """``HDF-009 view-results (owner x, expires 2027-03-31)`` for one waiver_report entry."""
    target = entry.get("subject") or entry.get("fingerprint", "")
    return f"{entry['rule_id']} {target} (owner {entry['owner']}, expires {entry['expires']}, line {entry['line']})"


def waiver_entries(results: Iterable["AuditResult"], kind: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in results:
        rep = getattr(r, "waiver_report", None) or {}
        out.extend(rep.get(kind, []))
    return out
