"""The satisfaction report's charts as inline SVG: the score distributions, satisfaction per employee."""

from __future__ import annotations

import copy

import pygal
from markupsafe import Markup

from ivr.surveys.report import SCORES, TARGET_PERCENT, SatisfactionReport, satisfaction_text
from ivr.web.charts import CHART_STYLE, bar_chart, chart_height, chart_svg, make_chart

# The target as a red dashed guide across the per-employee chart (pygal draws "major" guides with it).
_TARGET_STYLE = copy.deepcopy(CHART_STYLE)
_TARGET_STYLE.major_guide_stroke_color = "#c62828"
_TARGET_STYLE.major_guide_stroke_dasharray = "8,4"
_MET, _NOT_MET = "#1a7f37", "#c62828"


def report_charts(built: SatisfactionReport) -> dict[str, Markup]:
    """The distributions of the scores and satisfaction per employee against the target, as inline SVG."""
    labels = [str(score) for score in SCORES]
    charts = {
        "attitude": bar_chart(
            make_chart(pygal.Bar, "服务态度评分分布 / Attitude scores", print_values=True),
            labels,
            built.total.attitude_counts,
        ),
        "ability": bar_chart(
            make_chart(pygal.Bar, "专业能力评分分布 / Ability scores", print_values=True),
            labels,
            built.total.ability_counts,
        ),
    }
    scored = [row for row in reversed(built.by_employee) if row.satisfaction_percent is not None]
    chart = make_chart(
        pygal.HorizontalBar,
        f"满意度 / Satisfaction per employee · target {TARGET_PERCENT} %",
        style=_TARGET_STYLE,
        print_values=True,
        range=(0, 100),
        height=chart_height(len(scored)),
    )
    chart.x_labels = [row.employee for row in scored]
    if scored:  # (pygal fails on labels for an empty chart)
        chart.y_labels = [0, 20, 40, 60, 80, TARGET_PERCENT]
        chart.y_labels_major = [TARGET_PERCENT]
        chart.add(
            "",
            [
                {
                    "value": float(satisfaction_text(row.satisfaction_percent)),
                    "color": _MET if row.target_met else _NOT_MET,
                }
                for row in scored
            ],
        )
    charts["employees"] = chart_svg(chart, has_data=bool(scored))
    return charts
