"""JUnit XML (``--format junit``) for CI test dashboards.

One ``testsuite`` per map, one ``testcase`` per rule checked (``classname`` the pack,
``name`` the rule id and title). Every unwaived finding at or above the fail threshold
is a ``failure`` element of its rule's test case; waived findings and findings below
the threshold are listed in the case's ``system-out`` and do not fail it. The counts
on ``testsuite``/``testsuites`` are those junitparser computes (one per failure element).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Sequence

from ..audit import ENGINE_VERSION, AuditResult
from ..findings import SEVERITY_ORDER, Finding

# Characters XML 1.0 cannot carry, even escaped.
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: object) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))


def _failing(f: Finding, fail_on: str) -> bool:
    return fail_on != "none" and not f.waived and SEVERITY_ORDER[f.severity] <= SEVERITY_ORDER[fail_on]


def _details(f: Finding) -> str:
    lines = [
        f"{f.severity.upper()} {f.rule_id} {f.subject}: {f.message}",
        f"location: {f.location}",
        f"citation: {f.citation}",
        f"fingerprint: {f.fingerprint}",
    ]
    if f.evidence:
        lines.append("evidence:")
        lines.extend(f"  - {e}" for e in f.evidence)
    return "\n".join(lines)


def _note(f: Finding, fail_on: str) -> str:
    if f.waived and f.waiver:
        why = (f"waived by {f.waiver.get('owner')} until {f.waiver.get('expires')}: {f.waiver.get('reason')}")
    elif f.waived:
        why = "waived"
    else:
        why = "below the fail threshold" + (f" ({fail_on})" if fail_on != "none" else " (--fail-on none)")
    extra = ""
    if f.waiver and f.waiver.get("expired"):
        extra = f" [waiver expired {f.waiver.get('expires')}]"
    return f"{f.severity} {f.rule_id} {f.subject} ({f.location}): {f.message} -- {why}{extra}"


def _suite(result: AuditResult, fail_on: str) -> tuple[ET.Element, int, int]:
    rules = result.ruleset.program.rules
    by_rule: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    rule_ids = sorted(set(rules) | set(by_rule))
    suite = ET.Element("testsuite")
    props = ET.SubElement(suite, "properties")
    for name, value in (("map.id", result.map_id), ("map.version", result.version), ("map.file", result.loaded.file),
                        ("fail_on", fail_on), ("engine.version", ENGINE_VERSION),
                        ("rules.digest", result.ruleset.digest)):
        ET.SubElement(props, "property", name=name, value=_clean(value))
    failures = 0
    for rid in rule_ids:
        pack, rule = rules[rid] if rid in rules else (None, None)
        found = sorted(by_rule.get(rid, []), key=Finding.sort_key)
        title = rule.title if rule is not None else (found[0].title if found else "")
        classname = pack.pack if pack is not None else (found[0].pack if found else "audit-engine")
        case = ET.SubElement(suite, "testcase", classname=_clean(classname), name=_clean(f"{rid} {title}".strip()),
                             file=_clean(result.loaded.file), time="0")
        notes = []
        for f in found:
            if _failing(f, fail_on):
                failures += 1
                el = ET.SubElement(case, "failure", message=_clean(f"{f.subject}: {f.message}"), type=f.severity)
                el.text = _clean(_details(f))
            else:
                notes.append(_note(f, fail_on))
        if notes:
            out = ET.SubElement(case, "system-out")
            out.text = _clean("\n".join(notes))
    suite.set("name", _clean(f"{result.map_id} {result.version}"))
    suite.set("tests", str(len(rule_ids)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    suite.set("time", f"{result.seconds:.3f}")
    suite.set("file", _clean(result.loaded.file))
    return suite, len(rule_ids), failures


def render(results: Sequence[AuditResult], fail_on: str = "high") -> str:
    root = ET.Element("testsuites", name="audit-engine")
    tests = failures = 0
    seconds = 0.0
    for r in results:
        suite, t, n = _suite(r, fail_on)
        root.append(suite)
        tests, failures, seconds = tests + t, failures + n, seconds + r.seconds
    root.set("tests", str(tests))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("skipped", "0")
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
