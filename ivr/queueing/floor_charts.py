"""The floor pages' charts as inline SVG.

The history's (volume, service level, answer time, agents) and the staffing plan's (agents needed beside
agents scheduled)."""

from __future__ import annotations

from collections.abc import Sequence

import pygal
from markupsafe import Markup

from ivr.quality.answering import SERVICE_LEVEL_SECONDS, SERVICE_LEVEL_TARGET
from ivr.queueing.agent_states import STATES
from ivr.queueing.floor_figures import answering
from ivr.queueing.history import History
from ivr.web.charts import chart_svg, count_axis, make_chart
from ivr.web.labels import STATE_LABELS, label
from routing import erlang

HISTORY_CHART_WIDTH = 560  # two charts side by side at 1366 wide


def history_charts(report: History) -> dict[str, Markup]:
    """The history's charts as inline SVG."""
    labels = [row.key[5:] if report.by == "day" else row.key for row in report.rows]
    rows = [answering(row.figures) for row in report.rows]
    every = max(1, len(labels) // 15)
    major = labels[::every]
    charts: dict[str, Markup] = {}

    volume = make_chart(
        pygal.Bar,
        "进入队列的来电 / Calls offered to a queue",
        show_legend=True,
        x_labels_major=major,
        show_minor_x_labels=every == 1,
        width=HISTORY_CHART_WIDTH,
    )
    volume.x_labels = labels
    if any(r["offered"] for r in rows):
        volume.add("接听 / Answered", [r["answered"] for r in rows])
        volume.add("放弃 / Abandoned", [r["abandoned"] for r in rows])
        volume.add("其他 / Call-back, duty, other", [r["callback"] + r["duty"] + r["other"] for r in rows])
        count_axis(volume, [r["offered"] for r in rows])
    charts["volume"] = chart_svg(volume, has_data=any(r["offered"] for r in rows))

    level = make_chart(
        pygal.Line,
        f"服务水平 / Service level ({SERVICE_LEVEL_SECONDS} s), %",
        show_legend=True,
        range=(0, 100),
        x_labels_major=major,
        show_minor_x_labels=every == 1,
        width=HISTORY_CHART_WIDTH,
    )
    level.x_labels = labels
    if any(r["service_level"] is not None for r in rows):
        level.y_labels = list(range(0, 101, 20))
        level.add("服务水平 / Service level", [_pct(r["service_level"]) for r in rows])
        level.add("放弃率 / Abandonment", [_pct(r["abandonment"]) for r in rows])
        level.add(
            "目标 / Target",
            [SERVICE_LEVEL_TARGET * 100] * len(rows),
            show_dots=False,
            stroke_style={"dasharray": "4,4"},
        )
    charts["level"] = chart_svg(level, has_data=any(r["service_level"] is not None for r in rows))

    asa = make_chart(
        pygal.Bar,
        "平均应答时间（秒）/ Average time to answer (s)",
        x_labels_major=major,
        show_minor_x_labels=every == 1,
        width=HISTORY_CHART_WIDTH,
    )
    asa.x_labels = labels
    waits = [r["average_answer_seconds"] for r in rows]
    asa.add("", [None if w is None else round(w, 1) for w in waits])
    charts["asa"] = chart_svg(asa, has_data=any(w is not None for w in waits))

    staffed = make_chart(
        pygal.StackedBar,
        "坐席平均人数（不含离线）/ Mean agents by state (offline left out)",
        show_legend=True,
        x_labels_major=major,
        show_minor_x_labels=every == 1,
        width=HISTORY_CHART_WIDTH,
    )
    staffed.x_labels = labels
    means = [row.agents for row in report.rows]
    present = any((m.get(s) or 0) > 0 for m in means for s in STATES if s != "offline")
    if present:
        for state in STATES:
            if state != "offline":
                staffed.add(label(STATE_LABELS, state), [round(m[state] or 0, 2) for m in means])
    charts["agents"] = chart_svg(staffed, has_data=present)
    return charts


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def staffing_chart(
    labels: Sequence[str],
    plan: Sequence[erlang.Staffing],
    to_schedule: Sequence[int],
    scheduled: Sequence[int],
) -> Markup:
    """Agents needed on the phones, to put on the rota (shrinkage added) and scheduled, per half hour."""
    chart = make_chart(
        pygal.Line,
        "所需坐席与排班坐席 / Agents needed and agents scheduled",
        show_legend=True,
        x_labels_major=[label_ for label_ in labels if label_.endswith(":00") and int(label_[:2]) % 3 == 0],
        show_minor_x_labels=False,
        width=900,
    )
    chart.x_labels = list(labels)
    chart.add("在线所需 / Needed on the phones", [s.agents for s in plan])
    chart.add("应排班（含缩减）/ To schedule (with shrinkage)", list(to_schedule))
    chart.add("已排班 / Scheduled", list(scheduled))
    count_axis(chart, [*to_schedule, *scheduled])
    return chart_svg(chart)
