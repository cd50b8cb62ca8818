"""Commands about quality: the daily audit sample (draw, progress) and the monthly quality report."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from ivr.cli.context import command_hotline


@click.group()
def audit() -> None:
    """The daily quality-audit sample of recorded calls (docs/audit.md)."""


def _audit_day(day: datetime | None, timezone: str) -> date:
    """The day given, else yesterday in the hotline's time zone."""
    from ivr.db.models import utcnow
    from ivr.quality.audit_sampling import previous_local_day

    return day.date() if day else previous_local_day(utcnow(), timezone)


@audit.command("sample")
@click.option(
    "--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Local day to sample [default: yesterday]."
)
@click.option(
    "--min-duration",
    type=click.IntRange(min=0),
    default=None,
    help="Prefer calls at least this many seconds long (shorter ones only to reach the rate) [default: 0].",
)
@click.option(
    "--oversample",
    default=None,
    help="Intents drawn first within each agent's share, e.g. complaint,safety; none for none "
    "[default: complaint,safety].",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help="Seed [default: random].")
@click.option("--by", "author", default="cli", show_default=True, help="Who draws (kept with the sample).")
def audit_sample(
    day: datetime | None, min_duration: int | None, oversample: str | None, seed: int | None, author: str
) -> None:
    """Draw the audit sample of a local day, or show the one already drawn."""
    from ivr.jobs.tasks import draw_sample
    from ivr.quality.audit_sampling import AuditOptions, AuditRefused, describe_sample, parse_oversample

    hotline = command_hotline()
    try:
        wanted = None if oversample is None else parse_oversample(oversample)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--oversample") from None
    options = AuditOptions.from_settings(hotline.settings, min_duration=min_duration, oversample=wanted)
    the_day = _audit_day(day, hotline.settings.local_timezone)
    try:
        report = draw_sample(hotline, the_day, options, seed=seed, created_by=author)
    except AuditRefused as refused:
        click.echo(f"refused: {refused}", err=True)
        sys.exit(1)
    if report.sample_id is None:
        click.echo(f"{the_day}: no recorded calls, nothing drawn")
        return
    if report.created:
        click.echo(f"audit sample of {the_day} drawn")
    else:
        click.echo(
            f"audit sample of {the_day} already drawn (sample {report.sample_id}); it is not drawn again"
        )
        if min_duration is not None or oversample is not None or seed is not None:
            click.echo("    (the options given were not used: a day's sample never changes)")
    for line in describe_sample(report, hotline.settings.local_timezone):
        click.echo(line)


@audit.command("status")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="One local day [default: the last 7].")
def audit_status(day: datetime | None) -> None:
    """Audit progress: per day the sample, reviewed and pending calls, per agent."""
    from ivr.quality.audit_sampling import audit_status as status_of
    from ivr.quality.audit_sampling import describe_sample, verify_sample

    hotline = command_hotline()
    timezone = hotline.settings.local_timezone
    with hotline.sessions() as session:
        reports = status_of(day.date() if day else None, session=session)
        same = verify_sample(day.date(), session=session, timezone=timezone) if reports and day else None
    if not reports:
        click.echo(f"no audit sample for {day.date()}" if day else "no audit samples yet")
        return
    for report in reports:
        for line in describe_sample(report, timezone):
            click.echo(line)
    if day:
        click.echo(
            "    drawing again from the seed gives the same calls"
            if same
            else "    drawing again from the seed gives other calls: the day's recordings changed since"
        )


@click.command("quality")
@click.option("--month", "month_text", required=True, help="The local month, YYYY-MM.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder to write to [default: ./reports/YYYY-MM/].",
)
def quality_report(month_text: str, out_dir: str | None) -> None:
    """Write the monthly quality report: an HTML file (charts inline) and a CSV of its figures."""
    from ivr.quality.report_file import write_report_files
    from ivr.quality.report_month import Month, MonthError

    try:
        month = Month.parse(month_text)
    except MonthError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    folder = Path(out_dir) if out_dir else Path("reports") / str(month)
    for path in write_report_files(command_hotline(), month, folder):
        click.echo(str(path))
