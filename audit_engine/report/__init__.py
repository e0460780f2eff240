"""Step 7 of the pipeline: reports. Each renderer returns a string (bytes for a PNG); none prints.

One table, :data:`RENDERERS`, says which function renders a view in a format; it is
plain data, read when a report is rendered (nothing registers itself on import), and the
CLI's ``--format`` choices come from it (:func:`formats`). Every renderer has one
signature, ``render(data, options: RenderOptions) -> str``; what ``data`` is depends on
the view:

| view | data | formats |
|---|---|---|
| audit | ``[AuditResult, ...]`` | table json sarif junit markdown html |
| gate | ``gate.GateReport`` | text json markdown html |
| diff | ``diff.FindingsDiff`` | table json markdown |
| history | store rows (``Store.history``) | table json |
| trend | the trend document (``Store.trend``) | table json svg png |
| rules | ``RuleSet`` | table json |
| retired | ``RuleSet`` | table json |
| rule | ``rules.RuleSheet`` | text |
| coverage | the coverage document (``coverage.coverage``) | table json |
| examples | ``[ExampleOutcome, ...]`` | text |
| explain | ``explain.Explanation`` | text json |
| checklist | ``checklist.ChecklistReport`` | table json |
| cli-docs | the click command tree | markdown |
| rule-docs | ``rule_docs.RuleReference`` | markdown |
"""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ._options import RenderOptions, RunInfo

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import AuditResult

__all__ = ["RENDERERS", "RenderOptions", "RunInfo", "formats", "render", "render_format", "renderer"]

# (view, format) -> "module:function" in this package; read-only.
RENDERERS: Mapping[tuple[str, str], str] = MappingProxyType({
    ("audit", "table"): "table:render",
    ("audit", "json"): "json_report:render",
    ("audit", "sarif"): "sarif:render",
    ("audit", "junit"): "junit:render",
    ("audit", "markdown"): "markdown:render",
    ("audit", "html"): "html:render",
    ("gate", "text"): "gate:render_text",
    ("gate", "json"): "gate:render_json",
    ("gate", "markdown"): "gate:render_markdown",
    ("gate", "html"): "gate:render_html",
    ("diff", "table"): "diff:render_table",
    ("diff", "json"): "diff:render_json",
    ("diff", "markdown"): "diff:render_markdown",
    ("history", "table"): "stored:render_history_table",
    ("history", "json"): "stored:render_history_json",
    ("trend", "table"): "stored:render_trend_table",
    ("trend", "json"): "stored:render_trend_json",
    ("trend", "svg"): "trend_chart:render_svg",
    ("trend", "png"): "trend_chart:render_png",
    ("rules", "table"): "rules:render_list",
    ("rules", "json"): "rules:render_list_json",
    ("retired", "table"): "rules:render_retired",
    ("retired", "json"): "rules:render_retired_json",
    ("rule", "text"): "rules:render_rule",
    ("coverage", "table"): "rules:render_coverage",
    ("coverage", "json"): "rules:render_coverage_json",
    ("examples", "text"): "rules:render_examples",
    ("explain", "text"): "explain:render_text",
    ("explain", "json"): "explain:render_json",
    ("checklist", "table"): "checklist:render_table",
    ("checklist", "json"): "checklist:render_json",
    ("cli-docs", "markdown"): "cli_docs:render_view",
    ("rule-docs", "markdown"): "rule_docs:render_view",
})

Renderer = Callable[[Any, RenderOptions], "str | bytes"]


def views() -> list[str]:
    return list(dict.fromkeys(v for v, _ in RENDERERS))


def formats(view: str) -> list[str]:
    """The formats of ``view``, in the table's order (the first is the default)."""
    out = [f for v, f in RENDERERS if v == view]
    if not out:
        from ..errors import UsageError, did_you_mean

        raise UsageError(f"unknown report view '{view}'", did_you_mean(view, views()))
    return out


def renderer(view: str, fmt: str) -> Renderer:
    """The function that renders ``view`` as ``fmt``; UsageError (with did-you-mean) if there is none."""
    target = RENDERERS.get((view, fmt))
    if target is None:
        from ..errors import UsageError, did_you_mean

        known = formats(view)
        raise UsageError(f"unknown report format '{fmt}' for {view}; use one of {', '.join(known)}",
                         did_you_mean(fmt, known))
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def render(view: str, fmt: str, data: Any, options: RenderOptions | None = None) -> "str | bytes":
    """Render ``data`` as the ``view`` in format ``fmt``."""
    return renderer(view, fmt)(data, options or RenderOptions())


def render_format(fmt: str, results: Sequence["AuditResult"], fail_on: str = "high", **options: Any) -> str:
    """Render audit ``results`` (one or several maps) as ``fmt`` (any format of the ``audit`` view).

    Kept for callers of 0.1: ``render("audit", fmt, results, RenderOptions(fail_on=..., ...))``.
    ``options`` are :class:`RenderOptions` fields, e.g. ``gates=[GateOutcome | None, ...]``
    (markdown, html), ``link_base=`` (markdown), ``title=`` and ``history=[History | None, ...]`` (html).
    """
    out = render("audit", fmt, list(results), RenderOptions(fail_on=fail_on, **options))
    assert isinstance(out, str)
    return out
