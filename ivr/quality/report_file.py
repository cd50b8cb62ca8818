"""The monthly quality report written as files: quality-YYYY-MM.html (self-contained) and its CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ivr.quality.report import build_quality_report
from ivr.quality.report_context import page_context
from ivr.quality.report_csv import report_csv
from ivr.quality.report_month import Month
from ivr.web.report_file import render_report_file

if TYPE_CHECKING:  # the hotline is handed in; importing it would bring Flask along
    from ivr.hotline import Hotline

TEMPLATES = Path(__file__).with_name("templates")


def write_report_files(hotline: Hotline, month: Month, folder: Path) -> tuple[Path, Path]:
    """Write the month's report as quality-YYYY-MM.html (self-contained) and quality-YYYY-MM.csv."""
    timezone = hotline.settings.local_timezone
    with hotline.sessions() as session, session.begin():
        report = build_quality_report(session=session, month=month, timezone=timezone)
    html = render_report_file(
        "reports/quality_file.html", templates=TEMPLATES, timezone=timezone, **page_context(report)
    )
    folder.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = folder / f"quality-{month}.html", folder / f"quality-{month}.csv"
    html_path.write_text(html, encoding="utf-8")
    with csv_path.open("w", encoding="utf-8", newline="") as file:  # the CSV brings its own \r\n
        file.write(report_csv(report))
    return html_path, csv_path
