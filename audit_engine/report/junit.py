"""JUnit XML (``--format junit``) for CI test dashboards.

One ``testsuite`` per map. Each unwaived finding at or above the fail threshold is a
failing ``testcase`` of its own (``classname`` the pack, ``name`` the rule id and the
subject), holding one ``failure`` (``type`` the severity, ``message`` the finding's
message, text its location, citation, fingerprint and evidence): a dashboard lists and
tracks each one, and ``failures`` counts them. A rule with no such finding is one passing
``testcase`` (``name`` the rule id and title). Waived findings and findings below the
threshold fail nothing; they are listed in the ``system-out`` of their rule's first case.
Rules left out by ``--only``/``--skip`` or a config are test cases with a ``skipped``
element. The suite's ``properties`` say how the run was configured (map, threshold and
where it came from, config file, skipped rules, notices, parameters that differ from
their defaults).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Sequence

from ..audit import ENGINE_VERSION, AuditResult
from ..findings import SEVERITY_ORDER, Finding
from ._options import RenderOptions, RunInfo
from ._text import replace_controls

# Characters XML 1.0 cannot carry, even escaped.
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: object) -> str:
    """Text XML can carry, with no control character but newline and tab (U+FFFD instead)."""
    return replace_controls(_INVALID_XML.sub("\ufffd", str(text)))


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


def _failure(case: ET.Element, f: Finding) -> None:
    el = ET.SubElement(case, "failure", message=_clean(f.message), type=f.severity)
    el.text = _clean(_details(f))


def _properties(suite: ET.Element, result: AuditResult, fail_on: str, info: RunInfo | None) -> None:
    props = ET.SubElement(suite, "properties")
    pairs: list[tuple[str, object]] = [
        ("map.id", result.map_id), ("map.version", result.version), ("map.file", result.loaded.file),
        ("fail_on", fail_on), ("engine.version", ENGINE_VERSION), ("rules.digest", result.ruleset.digest)]
    if info is not None:
        pairs += [("fail_on.from", info.fail_on_from), ("config.file", info.config_file or ""),
                  ("rules.skipped", ",".join(info.skipped_rules))]
        pairs += [(f"notice.{i}", text) for i, text in enumerate(info.notices, 1)]
        pairs += [(f"param.{k}", v) for k, v in info.params.items()]
    for name, value in pairs:
        ET.SubElement(props, "property", name=name, value=_clean(value))


def _suite(result: AuditResult, fail_on: str, info: RunInfo | None = None) -> tuple[ET.Element, int, int, int]:
    rules = result.ruleset.program.rules
    by_rule: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    rule_ids = sorted(set(rules) | set(by_rule))
    suite = ET.Element("testsuite")
    _properties(suite, result, fail_on, info)
    failures = cases = 0
    for rid in rule_ids:
        pack, rule = rules[rid] if rid in rules else (None, None)
        found = sorted(by_rule.get(rid, []), key=Finding.sort_key)
        title = rule.title if rule is not None else (found[0].title if found else "")
        classname = _clean(pack.pack if pack is not None else (found[0].pack if found else "audit-engine"))
        failing = [f for f in found if _failing(f, fail_on)]
        notes = [_note(f, fail_on) for f in found if not _failing(f, fail_on)]
        first: ET.Element | None = None
        for f in failing:
            case = ET.SubElement(suite, "testcase", classname=classname, name=_clean(f"{rid} {f.subject}"),
                                 file=_clean(result.loaded.file), line=str(f.location.line), time="0")
            _failure(case, f)
            first = first if first is not None else case
        if not failing:
            first = ET.SubElement(suite, "testcase", classname=classname, name=_clean(f"{rid} {title}".strip()),
                                  file=_clean(result.loaded.file), time="0")
        cases += max(1, len(failing))
        failures += len(failing)
        if notes and first is not None:
            out = ET.SubElement(first, "system-out")
            out.text = _clean("\n".join(notes))
    skipped = [(lp.pack.pack, rid) for lp in result.ruleset.packs for rid in lp.skipped]
    why = f"skipped by --skip/--only or the config {info.config_file}" if info and info.config_file else \
        "skipped by --skip/--only"
    for pack_id, rid in sorted(skipped, key=lambda x: x[1]):
        case = ET.SubElement(suite, "testcase", classname=_clean(pack_id), name=_clean(rid),
                             file=_clean(result.loaded.file), time="0")
        ET.SubElement(case, "skipped", message=_clean(why))
    suite.set("name", _clean(f"{result.map_id} {result.version}"))
    suite.set("tests", str(cases + len(skipped)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(len(skipped)))
    suite.set("time", f"{result.seconds:.3f}")
    suite.set("file", _clean(result.loaded.file))
    return suite, cases + len(skipped), failures, len(skipped)


def render(results: Sequence[AuditResult], options: RenderOptions) -> str:
    root = ET.Element("testsuites", name="audit-engine")
    tests = failures = skipped = 0
    seconds = 0.0
    for r in results:
        suite, t, n, k = _suite(r, options.fail_on, options.run_info)
        root.append(suite)
        tests, failures, skipped, seconds = tests + t, failures + n, skipped + k, seconds + r.seconds
    root.set("tests", str(tests))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("skipped", str(skipped))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
