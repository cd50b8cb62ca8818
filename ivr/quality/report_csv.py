"""The monthly quality report as CSV: one figure per row (section, key, metric, value), rates in percent."""

from __future__ import annotations

import csv
import io

from ivr.quality.answering import QUEUE_RESULTS, SERVICE_LEVEL_SECONDS, SERVICE_LEVEL_TARGET
from ivr.quality.report import QualityReport
from ivr.quality.work_order_figures import CLOSURE_TARGET, WorkOrderFigures

CSV_HEADER = ("section", "key", "metric", "value")


def _number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def report_rows(report: QualityReport) -> list[tuple[str, str, str, str]]:
    """The report as (section, key, metric, value) rows: one figure per row, rates in percent."""
    rows: list[tuple[str, str, str, str]] = [
        ("report", str(report.month), "time_zone", report.timezone),
        ("report", str(report.month), "generated_utc", report.generated_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("volume", "all", "calls", str(report.calls)),
    ]
    rows += [("volume_by_intent", intent, "calls", str(n)) for intent, n in report.by_intent]
    rows += [("volume_by_day", day.isoformat(), "calls", str(n)) for day, n in report.by_day]
    rows += [("volume_by_hour", f"{hour:02d}", "calls", str(n)) for hour, n in enumerate(report.by_hour)]
    queue = report.queue
    rows += [
        ("answering", "all", "offered", str(queue.offered)),
        *(("answering", "all", result, str(queue.results[result])) for result in QUEUE_RESULTS),
        ("answering", "all", f"answered_within_{SERVICE_LEVEL_SECONDS}s", str(queue.answered_within)),
        ("answering", "all", "service_level_pct", _percent(queue.service_level)),
        ("answering", "all", "service_level_target_pct", _percent(SERVICE_LEVEL_TARGET)),
        ("answering", "all", "abandonment_rate_pct", _percent(queue.abandonment_rate)),
        ("answering", "all", "average_answer_seconds", _number(queue.average_answer_seconds)),
        ("answering", "all", "after_hours_callback_requests", str(queue.after_hours)),
    ]
    rows += [("answer_time", label, "answered", str(n)) for label, n in queue.wait_buckets]
    rows += [
        ("handling", "all", "agent_calls_completed", str(report.handled)),
        ("handling", "all", "average_handling_seconds", _number(report.average_handling_seconds)),
    ]
    for row in [*report.complaints, report.complaint_total]:
        key = row.complaint_class
        rows += [
            ("complaints", key, "calls", str(row.calls)),
            ("complaints", key, "deadline_met", str(row.met)),
            ("complaints", key, "deadline_missed", str(row.missed)),
            ("complaints", key, "open", str(row.open)),
            ("complaints", key, "no_deadline", str(row.no_deadline)),
            ("complaints", key, "closure_rate_pct", _percent(row.closure_rate)),
            ("complaints", key, "mean_minutes_to_answer", _number(row.mean_minutes_to_answer)),
        ]
    for agent in report.agents:
        key = f"{agent.name} (#{agent.agent_id})" if agent.agent_id is not None else agent.name
        rows += [
            ("agents", key, "answered", str(agent.answered)),
            ("agents", key, "average_handling_seconds", _number(agent.average_handling_seconds)),
            ("agents", key, "recorded", str(agent.recorded)),
            ("agents", key, "sampled", str(agent.sampled)),
            ("agents", key, "coverage_pct", _percent(agent.coverage)),
            ("agents", key, "reviewed", str(agent.reviewed)),
            ("agents", key, "mean_score", _number(agent.mean_score)),
            ("agents", key, "min_score", _number(agent.min_score)),
            ("agents", key, "auto_failed", str(agent.auto_failed)),
        ]
    rows += [
        ("audit", "all", "recorded", str(report.recorded)),
        ("audit", "all", "sampled", str(report.sampled)),
        ("audit", "all", "coverage_pct", _percent(report.coverage)),
        ("audit", "all", "reviewed", str(report.reviewed)),
        ("audit", "all", "mean_score", _number(report.mean_score)),
    ]
    rows += [("top_findings", finding.text, "reviews", str(finding.reviews)) for finding in report.findings]
    for question in report.failed_questions:
        rows += [
            ("failed_questions", question.question, "failed", str(question.failed)),
            ("failed_questions", question.question, "answered", str(question.answered)),
        ]
    if report.work_orders is not None:
        rows += work_order_rows(report.work_orders)
    return rows


def work_order_rows(figures: WorkOrderFigures) -> list[tuple[str, str, str, str]]:
    """The work-order figures: deadlines on time per kind, class, desk and owner; complaint closure; open
    work orders by age (docs/work-orders.md, "Reports")."""
    rows = [("work_orders", "all", "as_of_utc", figures.as_of.strftime("%Y-%m-%d %H:%M:%S"))]
    groups = (
        ("deadlines_by_kind", [*figures.by_kind, figures.all_deadlines]),
        ("deadlines_by_class", figures.by_class),
        ("deadlines_by_desk", figures.by_desk),
        ("deadlines_by_owner", figures.by_owner),
    )
    for section, on_time_rows in groups:
        for row in on_time_rows:
            rows += [
                (section, row.key, "on_time", str(row.on_time)),
                (section, row.key, "late", str(row.late)),
                (section, row.key, "overdue", str(row.overdue)),
                (section, row.key, "pending", str(row.pending)),
                (section, row.key, "on_time_rate_pct", _percent(row.rate)),
            ]
    for closure in figures.closure:
        rows += [
            ("complaint_closure", closure.key, "taken", str(closure.taken)),
            ("complaint_closure", closure.key, "closed_on_time", str(closure.closed_on_time)),
            ("complaint_closure", closure.key, "closed_late", str(closure.closed_late)),
            ("complaint_closure", closure.key, "open", str(closure.open)),
            ("complaint_closure", closure.key, "open_overdue", str(closure.open_overdue)),
            ("complaint_closure", closure.key, "closure_rate_pct", _percent(closure.closure_rate)),
            ("complaint_closure", closure.key, "on_time_closure_rate_pct", _percent(closure.on_time_rate)),
        ]
    rows.append(("complaint_closure", "all", "target_pct", _percent(CLOSURE_TARGET)))
    for bucket in figures.ages:
        rows += [
            ("open_work_orders_by_age", bucket.label, "open", str(bucket.open)),
            ("open_work_orders_by_age", bucket.label, "overdue", str(bucket.overdue)),
        ]
    return rows


def report_csv(report: QualityReport) -> str:
    """The CSV export (with a byte-order mark, so spreadsheet programs read the Chinese names right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(report_rows(report))
    return out.getvalue()
