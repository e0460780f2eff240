"""The trend chart of one map (``audit-engine trend MAP_ID --format svg|png``).

Stacked bars of unwaived findings per stored version (oldest first), the total above
each bar, the version and its ``+new / -resolved`` counts below it, and a legend beside
the plot (never over a bar) naming only the severities some version has findings of.

SVG is written here, from the same geometry as the HTML report's chart
(:func:`.history.chart`); PNG needs matplotlib (the ``charts`` extra). Version labels are
data: escaped in SVG, and never read as mathtext by matplotlib.
"""

from __future__ import annotations

import io
import warnings
from typing import Any
from xml.sax.saxutils import escape

from ..severity import SEVERITIES
from ._options import RenderOptions
from ._text import replace_controls
from .history import History, chart

COLORS = {"critical": "#8b0000", "high": "#d62728", "medium": "#ff9f1c", "low": "#1f77b4", "info": "#9e9e9e"}
LEGEND_WIDTH = 150


def present(data: dict[str, Any]) -> list[str]:
    """Severities with findings in at least one version (the others are left out of the legend)."""
    return [s for s in SEVERITIES if any(v.get(s, 0) for v in data["versions"])]


def _t(text: object) -> str:
    return escape(replace_controls(text))


def render_svg(data: dict[str, Any], options: RenderOptions) -> str:
    c = chart(History(str(data["map"]), "", list(data["versions"])))
    title = f"Unwaived findings of {data['map']} per version"
    title_h = 28
    width, height = c.width + LEGEND_WIDTH, c.height + title_h
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f"<title>{_t(title)}</title>",
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="{c.left}" y="18" font-size="14" font-weight="bold">{_t(title)}</text>',
           f'<g transform="translate(0,{title_h})">']
    right = c.width - 12
    for y, v in c.ticks:
        out.append(f'<line x1="{c.left}" x2="{right}" y1="{y}" y2="{y}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{c.left - 6}" y="{y + 4}" text-anchor="end" fill="#666">{v}</text>')
    for i, b in enumerate(c.bars):
        mid = round(b.x + b.width / 2, 2)
        out.append(f"<g><title>{_t(b.label)}: {b.total} unwaived, +{b.new} new, -{b.resolved} resolved</title>")
        for sev, y, hgt, _n in b.segments:
            out.append(f'<rect x="{b.x}" y="{y}" width="{b.width}" height="{hgt}" fill="{COLORS[sev]}"/>')
        out.append(f'<text x="{mid}" y="{b.top - 5}" text-anchor="middle" font-weight="bold">{b.total}</text>')
        if i % c.label_every == 0 or i == len(c.bars) - 1:
            out.append(f'<text x="{mid}" y="{c.plot_bottom + 18}" text-anchor="middle">{_t(b.short)}</text>')
            out.append(f'<text x="{mid}" y="{c.plot_bottom + 34}" text-anchor="middle" fill="#666">'
                       f"+{b.new} / \u2212{b.resolved}</text>")
        out.append("</g>")
    out.append(f'<line x1="{c.left}" x2="{right}" y1="{c.plot_bottom}" y2="{c.plot_bottom}" stroke="#666"/>')
    out.append(f'<text x="{c.left}" y="{c.height - 6}" fill="#666">versions, oldest first: +new / \u2212resolved'
               "</text>")
    lx = c.width + 4
    for k, sev in enumerate(reversed(present(data))):  # top to bottom as the bars stack
        y = c.plot_top + 4 + 20 * k
        out.append(f'<rect x="{lx}" y="{y}" width="12" height="12" fill="{COLORS[sev]}"/>')
        out.append(f'<text x="{lx + 18}" y="{y + 10}">{sev}</text>')
    out += ["</g>", "</svg>"]
    return "\n".join(out) + "\n"


def render_png(data: dict[str, Any], options: RenderOptions) -> bytes:
    """The same chart drawn by matplotlib (Agg); labels are plain text, never mathtext."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    versions = data["versions"]
    labels = [f"{replace_controls(v['version'])}\n+{v['new']} / \u2212{v['resolved']}" for v in versions]
    xs = list(range(len(versions)))
    buf = io.BytesIO()
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")  # shown as a box; no need to say
        fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(versions) + 3), 4.8))
        try:
            bottom = [0] * len(versions)
            for sev in present(data):
                vals = [v[sev] for v in versions]
                ax.bar(xs, vals, bottom=bottom, label=sev, color=COLORS[sev])
                bottom = [b + x for b, x in zip(bottom, vals)]
            for x, total in zip(xs, bottom):
                ax.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=9)
            ax.set_xticks(xs, labels)
            ax.set_title(replace_controls(f"Unwaived findings of {data['map']} per version"))
            ax.set_xlabel("version (oldest first): +new / \u2212resolved")
            ax.set_ylabel("findings")
            ax.set_ylim(0, max(bottom, default=0) * 1.15 + 1)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            if present(data):  # beside the plot, never over a bar; top to bottom as the bars stack
                handles, names = ax.get_legend_handles_labels()
                ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                          frameon=False)
            fig.tight_layout()
            fig.savefig(buf, format="png", bbox_inches="tight")
        finally:
            plt.close(fig)
    return buf.getvalue()
