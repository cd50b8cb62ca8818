"""The reports' charts: pygal drawn server-side in the pages' look, put inline in the page as SVG.

Nothing is loaded at view time, so a page saved as a file is complete on its own (docs/quality-report.md
says why pygal). A chart with nothing to draw is a box of its size saying so in one line (`empty_chart`).
Used by the quality report, the satisfaction report and the floor's history and staffing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup
from pygal.style import Style

# pygal installs an import hook of its own (PluginImportFixer) that lacks find_spec: every later import
# then warns. It only serves pygal's own plugin imports, which we do not use, so take it out again.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

_FONTS = (
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", system-ui, -apple-system, '
    '"Segoe UI", Roboto, sans-serif'
)
CHART_STYLE = Style(
    font_family=_FONTS,
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2329",
    foreground_strong="#1d2329",
    foreground_subtle="#5f6b76",
    colors=("#1f6feb", "#c62828", "#8d6e00", "#1a7f37", "#6f42c1", "#5f6b76"),
    title_font_size=16,
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=12,
    legend_font_size=12,
)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)


def make_chart(kind: type[Any], title: str, **options: Any) -> Any:
    """A pygal chart of `kind` in the pages' look: 500×300, no legend, no script; `options` override."""
    config = {
        "style": CHART_STYLE,
        "js": [],  # no script from elsewhere: the page and the file stand alone
        "disable_xml_declaration": True,
        "explicit_size": True,  # drawn at its size (shrunk on narrow screens), never blown up
        "show_legend": False,
        "legend_at_bottom": True,
        "truncate_legend": -1,
        "truncate_label": -1,
        "width": 500,
        "height": 300,
        "no_data_text": NO_DATA,  # (not shown: chart_svg draws an empty chart as `empty_chart`)
        "print_values": False,
        **options,
    }
    chart = kind(**config)
    chart.title = title
    return chart


def count_axis(chart: Any, counts: Sequence[int | float]) -> None:
    """Whole-number ticks for counts (pygal would otherwise mark 0.2, 0.4, ...)."""
    top = int(max(counts, default=0))
    if top:
        step = max(1, -(-top // 8))
        chart.y_labels = list(range(0, top + step, step))


NO_DATA = "无数据 / No data"


def chart_svg(chart: Any, *, has_data: bool = True) -> Markup:
    """The chart as inline SVG, without pygal's script; with nothing to draw, `empty_chart` instead."""
    if not has_data:
        return empty_chart(chart)
    # pygal escapes every label and value (it writes the SVG through an XML tree); its one inline script
    # only holds the tooltip configuration, which without pygal's script files does nothing: left out.
    return Markup(_SCRIPT.sub("", chart.render(is_unicode=True)))


def empty_chart(chart: Any) -> Markup:
    """A chart with nothing to draw: a box of the chart's size, its title and one muted "no data" line.

    pygal's own "no data" text is drawn at the title's size across the plot, and overflows a narrow box;
    this stays one line inside the box at any width (styled inline: the standalone report files too).
    """
    width, height = int(chart.config.width), int(chart.config.height)
    line = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:100%;margin:0"
    return Markup(
        f'<div class="chart-empty" role="img" aria-label="{escape(chart.title or "")}: {NO_DATA}" '
        f'style="box-sizing:border-box;width:{width}px;max-width:100%;aspect-ratio:{width}/{height};'
        'display:flex;flex-direction:column;padding:.5rem .7rem;overflow:hidden">'
        '<p class="chart-empty-title" style="margin:0;font-weight:600;text-align:center">'
        f"{escape(chart.title or '')}</p>"
        f'<p class="chart-empty-note" style="{line};margin:auto;color:#5f6b76;font-size:.9rem">{NO_DATA}</p>'
        "</div>"
    )


def bar_chart(chart: Any, labels: Sequence[str], counts: Sequence[int], *, top_down: bool = False) -> Markup:
    """One series of counts; all zero (or none): the empty chart's box."""
    if not any(counts):
        return empty_chart(chart)
    if top_down:  # pygal stacks horizontal bars from the bottom: reverse to read from the top
        labels, counts = list(reversed(labels)), list(reversed(counts))
    chart.x_labels = list(labels)
    chart.add("", list(counts))
    count_axis(chart, counts)
    return chart_svg(chart)


def chart_height(rows: int) -> int:
    """The height of a horizontal bar chart with `rows` bars (room for at least three)."""
    return 110 + 34 * max(rows, 3)
