"""The monthly quality report's charts, drawn by pygal as inline SVG (the page's and the file's)."""

from __future__ import annotations

import pygal
from markupsafe import Markup

from ivr.quality.answering import SERVICE_LEVEL_SECONDS
from ivr.quality.report import QualityReport
from ivr.quality.report_labels import (
    COMPLAINT_LABELS,
    DEADLINE_KIND_LABELS,
    INTENT_LABELS,
    QUEUE_RESULT_LABELS,
)
from ivr.quality.work_order_figures import WorkOrderFigures
from ivr.web.charts import bar_chart, chart_height, chart_svg, count_axis, make_chart
from ivr.web.figures import percent
from ivr.web.labels import label


def report_charts(report: QualityReport) -> dict[str, Markup]:
    """The report's charts as inline SVG, by name."""
    charts: dict[str, Markup] = {}
    charts["by_day"] = bar_chart(
        make_chart(
            pygal.Bar,
            "每日来电 / Calls per day",
            x_labels_major=["1", "5", "10", "15", "20", "25", "30"],
            show_minor_x_labels=False,
        ),
        [str(day.day) for day, _ in report.by_day],
        [n for _, n in report.by_day],
    )
    charts["by_hour"] = bar_chart(
        make_chart(
            pygal.Bar,
            "各时段来电 / Calls by hour (local time)",
            x_labels_major=[f"{hour:02d}" for hour in range(0, 24, 3)],
            show_minor_x_labels=False,
        ),
        [f"{hour:02d}" for hour in range(24)],
        report.by_hour,
    )
    charts["by_intent"] = bar_chart(
        make_chart(pygal.HorizontalBar, "来电类型 / Calls by intent", print_values=True),
        [label(INTENT_LABELS, key) for key, _ in report.by_intent],
        [n for _, n in report.by_intent],
        top_down=True,
    )
    queue = report.queue
    charts["answer_time"] = bar_chart(
        make_chart(
            pygal.Bar,
            f"接听等待 / Time to answer · SL {percent(queue.service_level)} in {SERVICE_LEVEL_SECONDS} s",
            print_values=True,
        ),
        [name for name, _ in queue.wait_buckets],
        [n for _, n in queue.wait_buckets],
    )
    charts["queue_results"] = bar_chart(
        make_chart(pygal.HorizontalBar, "进入队列的来电 / Calls offered to a queue", print_values=True),
        [QUEUE_RESULT_LABELS[key] for key in queue.results],
        list(queue.results.values()),
        top_down=True,
    )

    complaints = make_chart(
        pygal.StackedBar, "投诉及答复时限 / Complaints and their deadline", show_legend=True
    )
    complaints.x_labels = [label(COMPLAINT_LABELS, row.complaint_class) for row in report.complaints]
    if any(row.calls for row in report.complaints):
        complaints.add("按时 / Met", [row.met for row in report.complaints])
        complaints.add("超时 / Missed", [row.missed for row in report.complaints])
        complaints.add("未到期 / Open", [row.open for row in report.complaints])
        complaints.add("无时限 / No deadline", [row.no_deadline for row in report.complaints])
        count_axis(complaints, [row.calls for row in report.complaints])
    charts["complaints"] = chart_svg(complaints, has_data=any(row.calls for row in report.complaints))

    coverage = make_chart(pygal.Bar, "录音与抽检 / Recorded and sampled, per agent", show_legend=True)
    coverage.x_labels = [agent.name for agent in report.agents]
    if report.recorded or report.sampled:
        coverage.add("录音 / Recorded", [agent.recorded for agent in report.agents])
        coverage.add("抽检 / Sampled", [agent.sampled for agent in report.agents])
        count_axis(coverage, [max(agent.recorded, agent.sampled) for agent in report.agents])
    charts["coverage"] = chart_svg(coverage, has_data=bool(report.recorded or report.sampled))

    scored = [agent for agent in reversed(report.agents) if agent.reviewed]
    scores = make_chart(
        pygal.HorizontalBar,
        "质检平均分 / Mean review score per agent",
        print_values=True,
        range=(0, 100),
        height=chart_height(len(scored)),
    )
    scores.x_labels = [agent.name for agent in scored]
    if scored:  # (pygal fails on labels for an empty chart)
        scores.y_labels = list(range(0, 101, 20))
        scores.add("", [round(agent.mean_score or 0.0, 1) for agent in scored])
    charts["scores"] = chart_svg(scores, has_data=bool(scored))

    if report.work_orders is not None:
        charts.update(work_order_charts(report.work_orders))

    charts["findings"] = bar_chart(
        make_chart(
            pygal.HorizontalBar,
            "常见问题 / Most frequent findings (reviews)",
            print_values=True,
            width=1000,
            height=chart_height(len(report.findings)),
        ),
        [finding.text for finding in report.findings],
        [finding.reviews for finding in report.findings],
        top_down=True,
    )
    return charts


def work_order_charts(figures: WorkOrderFigures) -> dict[str, Markup]:
    """Deadlines on time, late and overdue per kind; open work orders per age band, overdue apart."""
    deadlines = make_chart(
        pygal.StackedBar, "工单时限 / Work-order deadlines due this month", show_legend=True
    )
    deadlines.x_labels = [label(DEADLINE_KIND_LABELS, row.key) for row in figures.by_kind]
    if any(row.decided for row in figures.by_kind):
        deadlines.add("按时 / On time", [row.on_time for row in figures.by_kind])
        deadlines.add("超时完成 / Late", [row.late for row in figures.by_kind])
        deadlines.add("已逾期 / Overdue", [row.overdue for row in figures.by_kind])
        count_axis(deadlines, [row.decided for row in figures.by_kind])
    ages = make_chart(pygal.StackedBar, "未关闭工单（按时长）/ Open work orders by age", show_legend=True)
    ages.x_labels = [bucket.label for bucket in figures.ages]
    if figures.open_orders:
        ages.add("未逾期 / Not overdue", [bucket.open - bucket.overdue for bucket in figures.ages])
        ages.add("已逾期 / Overdue", [bucket.overdue for bucket in figures.ages])
        count_axis(ages, [bucket.open for bucket in figures.ages])
    return {
        "deadlines": chart_svg(deadlines, has_data=any(row.decided for row in figures.by_kind)),
        "work_order_ages": chart_svg(ages, has_data=bool(figures.open_orders)),
    }
