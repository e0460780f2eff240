"""Step 7 of the pipeline: reports. Each module renders results to a string; none prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import AuditResult

FORMATS = ("sarif", "junit", "markdown", "html")


def render_format(fmt: str, results: Sequence["AuditResult"], fail_on: str = "high", **options: Any) -> str:
    """Render ``results`` (one or several maps) as ``sarif``, ``junit``, ``markdown`` or ``html``.

    Several maps give one SARIF run, one JUnit testsuite, one Markdown or HTML section per map.
    ``options`` go to the renderer: ``gates=[GateOutcome...]`` (markdown, html, one per result),
    ``link_base=`` (markdown: prefix of the links to map lines), ``title=`` (html),
    ``history=[History | None, ...]`` (html, one per result: the stored versions, see
    ``report.history.read_histories``; without it the page has no diff or trend).
    """
    results = list(results)
    if fmt == "sarif":
        from . import sarif

        return sarif.render(results)
    if fmt == "junit":
        from . import junit

        return junit.render(results, fail_on=fail_on)
    if fmt == "markdown":
        from . import markdown

        return markdown.render(results, fail_on=fail_on, **options)
    if fmt == "html":
        from . import html

        return html.render(results, fail_on=fail_on, **options)
    if fmt == "json":
        from . import json_report

        return json_report.render(results)
    if fmt == "table":
        from . import table

        return table.render(results)
    from ..errors import UsageError, did_you_mean

    raise UsageError(f"unknown report format '{fmt}'", did_you_mean(fmt, [*FORMATS, "json", "table"]))
