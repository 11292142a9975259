"""A GapReport -> text for a terminal, or one self-contained HTML page.

The page needs nothing from the network: its styles are inline, its charts are SVG drawn
here, it runs no script, and its Content-Security-Policy forbids loading anything, so it opens
offline and sends nothing anywhere. Every question is escaped: what people typed is shown as
text, never read as markup.
"""

from __future__ import annotations

import html
import textwrap

from bot.gaps import Gap, GapReport, day
from bot.render import visible

CHART_GAPS = 10  # groups in the bar chart
TABLE_OTHERS = 5


def _counts(g: Gap) -> str:
    why = [f"{n} {what}" for n, what in ((g.declined, "declined"), (g.voted_down, "voted down"),
                                        (g.low_score, "low score")) if n]
    return f"{g.asked} asked by {g.people} {'person' if g.people == 1 else 'people'} ({', '.join(why)})"


def render_gaps_text(report: GapReport, width: int = 88) -> str:
    head = (f"Docs gaps in {report.collection}, {day(report.since)} to {day(report.until)}: "
            f"{report.gap_questions} of {report.logged} questions were declined, voted down or answered with a low "
            f"score, in {report.groups} groups by meaning; the {len(report.gaps)} largest shown.")
    lines = textwrap.wrap(head, width)
    if not report.gaps:
        lines.append("No gaps: every logged question in this period was answered.")
    for n, g in enumerate(report.gaps, start=1):
        lines += ["", f"{n}. “{visible(g.representative)}”", f"   {_counts(g)}"]
        lines += [f"   also: “{visible(q)}”" for q in g.others]
        lines.append("   by week: " + ", ".join(f"{w} {c}" for w, c in g.weeks))
        if g.nearest:
            lines.append(f"   nearest in the docs: {visible(g.nearest)}")
            if g.nearest_url:
                lines.append(f"      {visible(g.nearest_url)}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- HTML


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:2em} svg{display:block;margin:.5em 0}
table{border-collapse:collapse;width:100%} th,td{border-bottom:1px solid #ddd;padding:.4em;vertical-align:top;text-align:left}
td.n{text-align:right;white-space:nowrap} ul{margin:.2em 0;padding-left:1.2em} .muted{color:#666}
.bar{fill:#2b7a78} .line{fill:none;stroke:#2b7a78;stroke-width:2} .dot{fill:#2b7a78} text{font-size:12px;fill:#333}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _bar_chart(gaps: tuple[Gap, ...]) -> str:
    shown = gaps[:CHART_GAPS]
    if not shown:
        return '<p class="muted">No gaps in this period.</p>'
    top = max(g.asked for g in shown)
    row, label_w, bar_w = 26, 330, 330
    parts = [f'<svg id="gap-chart" role="img" aria-label="Questions per gap" width="{label_w + bar_w + 60}" '
             f'height="{row * len(shown) + 10}" xmlns="http://www.w3.org/2000/svg">']
    for n, g in enumerate(shown):
        y = 5 + n * row
        width = max(2, round(bar_w * g.asked / top))
        label = g.representative if len(g.representative) <= 48 else g.representative[:47] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{_e(label)}</text>'
                     f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{width}" height="{row - 8}">'
                     f'<title>{_e(g.representative)}: {g.asked}</title></rect>'
                     f'<text x="{label_w + width + 6}" y="{y + 16}">{g.asked}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _line_chart(weeks: tuple[tuple[str, int], ...]) -> str:
    if not weeks:
        return '<p class="muted">No questions in this period.</p>'
    w, h, pad = 640, 180, 36
    top = max(n for _, n in weeks) or 1
    step = (w - 2 * pad) / max(1, len(weeks) - 1)
    points = [(pad + k * step, h - pad - (h - 2 * pad) * n / top) for k, (_, n) in enumerate(weeks)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts = [f'<svg id="week-chart" role="img" aria-label="Gap questions per week" width="{w}" height="{h}" '
             f'xmlns="http://www.w3.org/2000/svg"><polyline class="line" points="{path}"/>']
    for (week, n), (x, y) in zip(weeks, points):
        parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{_e(week)}: {n}</title></circle>'
                     f'<text x="{x:.1f}" y="{h - 12}" text-anchor="middle">{_e(week)}</text>'
                     f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_gaps_html(report: GapReport) -> str:
    rows = []
    for n, g in enumerate(report.gaps, start=1):
        others = "".join(f"<li>{_e(q)}</li>" for q in g.others[:TABLE_OTHERS])
        where = _e(g.nearest) if g.nearest else '<span class="muted">—</span>'
        if g.nearest and g.nearest_url:
            where = f'<a href="{_e(g.nearest_url)}" rel="noreferrer noopener">{where}</a>'
        weeks = ", ".join(f"{_e(w)}: {c}" for w, c in g.weeks)
        rows.append(f"<tr><td class=n>{n}</td><td><strong>{_e(g.representative)}</strong>"
                    f"{f'<ul>{others}</ul>' if others else ''}</td><td class=n>{g.asked}</td><td class=n>{g.people}</td>"
                    f"<td>{_e(_counts(g).split(' (', 1)[1].rstrip(')'))}</td><td>{weeks}</td><td>{where}</td></tr>")
    table = ("<table id=gaps><thead><tr><th>#</th><th>Question (and others like it)</th><th>asked</th><th>people</th>"
             "<th>why</th><th>by week</th><th>nearest in the docs</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>") if rows else '<p class="muted">No gaps in this period.</p>'
    title = f"Docs gaps: {report.collection}, {day(report.since)} to {day(report.until)}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_STYLE}</style></head>
<body><h1>{_e(title)}</h1>
<p>{report.gap_questions} of {report.logged} questions asked were declined, voted down or answered with a low score.
They fall into {report.groups} groups by meaning; the {len(report.gaps)} largest are shown, largest first.
Made by citebot from its question log.</p>
<h2>The largest gaps</h2>{_bar_chart(report.gaps)}
<h2>Gap questions per week</h2>{_line_chart(report.weeks)}
<h2>All groups</h2>{table}
</body></html>
"""
