"""The monthly quality report as a page with charts, as a CSV, and as a self-contained HTML file.

Charts are drawn server-side by pygal as SVG and put inline in the page: nothing to load at view time,
so the file the command line writes is complete on its own (docs/quality-report.md says why pygal).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pygal
from flask import Blueprint, Response, render_template, request
from markupsafe import Markup
from pygal.style import Style

from ivr.db.models import utcnow
from ivr.hotline import Hotline, hotline
from ivr.people.auth import role_required
from ivr.quality.report import (
    ABANDONED,
    ANSWERED,
    AUDIT_COVERAGE_TARGET,
    CALLBACK,
    COMPLAINT_CLOSURE_TARGET,
    DUTY,
    NO_INTENT,
    OTHER,
    SERVICE_LEVEL_SECONDS,
    SERVICE_LEVEL_TARGET,
    UNCLASSIFIED,
    Month,
    MonthError,
    QualityReport,
    build_quality_report,
    report_csv,
)
from ivr.web.labels import INTENTS, label
from ivr.web.layout import STATIC_DIR

# pygal installs an import hook of its own (PluginImportFixer) that lacks find_spec: every later import
# then warns. It only serves pygal's own plugin imports, which we do not use, so take it out again.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

bp = Blueprint("reports", __name__, template_folder="templates")

REPORT_ROLES = ("supervisor", "quality", "admin")

INTENT_LABELS = {**INTENTS, NO_INTENT: "未选择 / None chosen"}
COMPLAINT_LABELS = {
    "service": "服务 / Service",
    "quality": "质量 / Quality",
    "safety": "安全 / Safety",
    UNCLASSIFIED: "未分类 / Unclassified",
}
QUEUE_RESULT_LABELS = {
    ANSWERED: "坐席接听 / Answered by an agent",
    ABANDONED: "放弃 / Abandoned (caller hung up)",
    CALLBACK: "改为回电 / Call-back instead",
    DUTY: "转值班工程师 / To the duty engineer",
    OTHER: "其他 / Other",
}

_STATIC_CSS = STATIC_DIR / "admin.css"
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


@bp.get("/reports/quality")
@role_required(*REPORT_ROLES)
def quality() -> tuple[str, int] | str:
    """The month's quality report with its charts (?month=YYYY-MM, default: the last complete month)."""
    report, error = _report()
    if report is None:
        return render_template("admin/error.html", title="400", message=error, detail=""), 400
    return render_template("reports/quality.html", **page_context(report))


@bp.get("/reports/quality.csv")
@role_required(*REPORT_ROLES)
def quality_csv() -> Response | tuple[str, int]:
    """The month's figures as CSV: section, key, metric, value."""
    report, error = _report()
    if report is None:
        return render_template("admin/error.html", title="400", message=error, detail=""), 400
    return csv_download(report_csv(report), f"quality-{report.month}.csv")


def requested_month(timezone: str) -> tuple[Month | None, str]:
    """The report month of ?month=YYYY-MM (default: the last complete month), or None and why not."""
    asked = request.args.get("month")
    try:
        return (Month.parse(asked) if asked else Month.last_complete(utcnow(), timezone)), ""
    except MonthError as error:
        return None, f"月份格式应为 YYYY-MM / {error}"


def csv_download(text: str, filename: str) -> Response:
    """A CSV answer the browser saves as `filename`."""
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _report() -> tuple[QualityReport | None, str]:
    h = hotline()
    timezone = h.settings.local_timezone
    month, error = requested_month(timezone)
    if month is None:
        return None, error
    with h.sessions() as session, session.begin():
        return build_quality_report(session=session, month=month, timezone=timezone), ""


def page_context(report: QualityReport) -> dict[str, Any]:
    """What both templates (the page and the standalone file) need."""
    return {
        "report": report,
        "charts": report_charts(report),
        "intent_label": lambda key: label(INTENT_LABELS, key),
        "complaint_label": lambda key: label(COMPLAINT_LABELS, key),
        "QUEUE_RESULT_LABELS": QUEUE_RESULT_LABELS,
        "SL_SECONDS": SERVICE_LEVEL_SECONDS,
        "SL_TARGET": SERVICE_LEVEL_TARGET,
        "COVERAGE_TARGET": AUDIT_COVERAGE_TARGET,
        "CLOSURE_TARGET": COMPLAINT_CLOSURE_TARGET,
        "percent": percent,
        "number": number,
    }


def standalone_html(report: QualityReport) -> str:
    """The report as one HTML file: styles and charts inline (call inside the app's context)."""
    css = _STATIC_CSS.read_text(encoding="utf-8")
    return render_template("reports/quality_file.html", inline_css=Markup(css), **page_context(report))


def percent(value: float | None) -> str:
    """0.805 -> "80.5 %"; no figure -> "—"."""
    return "—" if value is None else f"{value * 100:.1f} %"


def number(value: float | None, unit: str = "") -> str:
    """A figure with one decimal (and a unit); no figure -> "—"."""
    return "—" if value is None else f"{value:.1f}{unit}"


# ---------------------------------------------------------------- charts


def make_chart(kind: type[Any], title: str, **options: Any) -> Any:
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
        "no_data_text": "无数据 / No data",
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


def chart_svg(chart: Any) -> Markup:
    # pygal escapes every label and value (it writes the SVG through an XML tree); its one inline script
    # only holds the tooltip configuration, which without pygal's script files does nothing: left out.
    return Markup(_SCRIPT.sub("", chart.render(is_unicode=True)))


def bar_chart(chart: Any, labels: Sequence[str], counts: Sequence[int], *, top_down: bool = False) -> Markup:
    """One series of counts; an empty month shows pygal's "no data" (it needs every value None for that)."""
    if top_down:  # pygal stacks horizontal bars from the bottom: reverse to read from the top
        labels, counts = list(reversed(labels)), list(reversed(counts))
    chart.x_labels = list(labels)
    chart.add("", list(counts) if any(counts) else [None] * len(counts))
    count_axis(chart, counts)
    return chart_svg(chart)


def chart_height(rows: int) -> int:
    return 110 + 34 * max(rows, 3)


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
    charts["complaints"] = chart_svg(complaints)

    coverage = make_chart(pygal.Bar, "录音与抽检 / Recorded and sampled, per agent", show_legend=True)
    coverage.x_labels = [agent.name for agent in report.agents]
    if report.recorded or report.sampled:
        coverage.add("录音 / Recorded", [agent.recorded for agent in report.agents])
        coverage.add("抽检 / Sampled", [agent.sampled for agent in report.agents])
        count_axis(coverage, [max(agent.recorded, agent.sampled) for agent in report.agents])
    charts["coverage"] = chart_svg(coverage)

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
    charts["scores"] = chart_svg(scores)

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


def write_report_files(hotline: Hotline, month: Month, folder: Path) -> tuple[Path, Path]:
    """Write the month's report as quality-YYYY-MM.html (self-contained) and quality-YYYY-MM.csv."""
    from ivr.app import create_app

    timezone = hotline.settings.local_timezone
    with hotline.sessions() as session, session.begin():
        report = build_quality_report(session=session, month=month, timezone=timezone)
    with create_app(hotline=hotline).app_context():
        html = standalone_html(report)
    folder.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = folder / f"quality-{month}.html", folder / f"quality-{month}.csv"
    html_path.write_text(html, encoding="utf-8")
    with csv_path.open("w", encoding="utf-8", newline="") as file:  # the CSV brings its own \r\n
        file.write(report_csv(report))
    return html_path, csv_path
