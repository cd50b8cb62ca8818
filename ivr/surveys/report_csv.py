"""The monthly satisfaction report as CSV: one line per employee × service type, employee, type and month."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from ivr.surveys.report import (
    SCORES,
    TARGET_PERCENT,
    SatisfactionReport,
    mean_text,
    rate_text,
    satisfaction_text,
)

CSV_HEADER = (
    "month",
    "level",
    "employee",
    "service_type",
    "jobs",
    "pending",
    "answered",
    "refused",
    "unreachable_expired",
    "no_score",
    "response_rate_pct",
    "mean_attitude",
    "mean_ability",
    "satisfaction_pct",
    "target_pct",
    "target_met",
    "top_box_pct",
    *(f"attitude_{score}" for score in SCORES),
    *(f"ability_{score}" for score in SCORES),
)


def _blank(text: str) -> str:
    return "" if text == "—" else text


def csv_rows(report: SatisfactionReport) -> Iterable[list[str]]:
    """One line per row of the report (employee × type, employee, type, month); no figure -> empty cell."""
    for level, figures in report.all_rows():
        met = figures.target_met
        yield [
            str(report.month),
            level,
            figures.employee or "",
            figures.service_type or "",
            *(
                str(n)
                for n in (
                    figures.jobs,
                    figures.pending,
                    figures.answered,
                    figures.refused,
                    figures.unreachable,
                    figures.no_score,
                )
            ),
            _blank(rate_text(figures.response_rate)),
            _blank(mean_text(figures.mean_attitude)),
            _blank(mean_text(figures.mean_ability)),
            _blank(satisfaction_text(figures.satisfaction_percent)),
            str(TARGET_PERCENT),
            "" if met is None else ("yes" if met else "no"),
            _blank(rate_text(figures.top_box_share)),
            *(str(n) for n in figures.attitude_counts),
            *(str(n) for n in figures.ability_counts),
        ]


def report_csv(report: SatisfactionReport) -> str:
    """The CSV export (with a byte-order mark, so spreadsheet programs read the Chinese names right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(report))
    return out.getvalue()
