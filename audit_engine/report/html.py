"""A standalone HTML page (``--format html``): the journey on one page.

Per map: a summary (counts by severity, gate, checklist score), the history when the
store knows earlier versions (diff and an inline SVG trend chart), the journey as a
swimlane with touchpoint cards coloured by their worst unwaived finding, and a findings
table filterable by severity, pack and stakeholder. The page data is prepared by
:mod:`.html_view` (with :mod:`.swimlane` and :mod:`.history`); Jinja2 renders
``templates/report.html.j2`` with autoescaping on, so nothing from a map can inject
markup. Control characters in map text are shown as U+FFFD.

No network at view time: CSS, script and SVG are inline, and the Content-Security-Policy
allows nothing else (the one script by its hash). Without script the content is all
there; only filtering, the findings panel of a card and the flow lines need it. Printing
drops the interactive parts and keeps severity labels, so black and white stays readable.

Size: above ``swimlane.SWIMLANE_MAX_TOUCHPOINTS`` (400) touchpoints, or 40 stages, the
swimlane collapses to per-stage and per-stakeholder counts and each rule's remediation
and sources are listed once instead of under every finding. Measured on the generated
15,000-touchpoint map (``benchmarks/genmap.py big_map(15000)``: 18,320 findings, 83,173
evidence lines): 14.1 MB (rendered in about 6 s); ``tests/report/test_html_report.py`` holds it under
:data:`MAX_PAGE_BYTES`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ..audit import ENGINE_VERSION, AuditResult
from ..findings import SEVERITY_ORDER
from . import html_view
from ._options import RenderOptions
from ._text import CONTROL as _CONTROL
from .swimlane import SWIMLANE_MAX_STAGES, SWIMLANE_MAX_TOUCHPOINTS, TONES

TEMPLATES = Path(__file__).parent / "templates"
MAX_PAGE_BYTES = 15_000_000  # the 15,000-touchpoint map's page stays under this (measured: 14.1 MB)
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029",
                  **{chr(c): f"\\u{c:04x}" for c in range(0x7f, 0xa0)}}


def _finalize(value: Any) -> Any:
    """Control characters from a map are shown as U+FFFD, never written raw into the page."""
    if isinstance(value, Markup):  # the page's own CSS, script and script-safe JSON
        return value
    return _CONTROL.sub("\ufffd", value) if isinstance(value, str) else value


def script_json(data: Any) -> Markup:
    """``data`` as JSON safe inside ``<script>``: no ``<``, ``>`` or ``&`` (so no ``</script>``
    or ``<!--``), no U+2028/U+2029, no control characters (all written as ``\\uXXXX``)."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Markup("".join(_SCRIPT_UNSAFE.get(c, c) for c in text))


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      finalize=_finalize, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["script_json"] = script_json
    return env


def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def render(results: Sequence[AuditResult], options: RenderOptions) -> str:
    """The page for ``results``; ``options.gates`` and ``options.history`` are optional, one per result."""
    results = list(results)
    fail_on, title = options.fail_on, options.title
    gates = list(options.gates or []) + [None] * len(results)
    histories = list(options.history or []) + [None] * len(results)
    maps = [html_view.build(r, i, g, h) for i, (r, g, h) in enumerate(zip(results, gates, histories))]
    if title is None:
        title = "audit-engine report: " + ", ".join(f"{r.map_id} {r.version}" for r in results)
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return _env().get_template("report.html.j2").render(
        title=title, maps=maps, severities=list(SEVERITY_ORDER), tones=list(TONES), fail_on=fail_on,
        engine_version=ENGINE_VERSION, css=Markup(_asset("report.css")), script=Markup(script),
        script_hash=f"sha256-{digest}", max_touchpoints=SWIMLANE_MAX_TOUCHPOINTS, max_stages=SWIMLANE_MAX_STAGES,
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), run_info=options.run_info,
    )
