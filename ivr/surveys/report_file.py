"""The satisfaction report written as files: its CSV and/or the page as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

from ivr.surveys.report import SatisfactionReport
from ivr.surveys.report_context import page_context
from ivr.surveys.report_csv import report_csv
from ivr.web.report_file import render_report_file

TEMPLATES = Path(__file__).with_name("templates")


def write_report_files(
    built: SatisfactionReport, *, csv_path: Path | None, html_path: Path | None
) -> list[Path]:
    """Write the CSV and/or the self-contained HTML file of a report; the paths written."""
    written = []
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with csv_path.open("w", encoding="utf-8", newline="") as file:  # the CSV brings its own \r\n
            file.write(report_csv(built))
        written.append(csv_path)
    if html_path is not None:
        html = render_report_file(
            "satisfaction/report_file.html",
            templates=TEMPLATES,
            timezone=built.timezone,
            **page_context(built, standalone=True),
        )
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(html, encoding="utf-8")
        written.append(html_path)
    return written
