"""Commands about satisfaction call-backs: completions, the draw, jobs, the policy, the monthly report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ivr.cli.context import command_hotline
from ivr.cli.documents import publish_or_explain
from ivr.db.session import unit_of_work


@click.group()
def callbacks() -> None:
    """Satisfaction call-backs: completions, sampling policy, the daily draw, jobs (docs/callbacks.md)."""


@callbacks.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def callbacks_import(path: str) -> None:
    """Import field completions from a CSV file; rejected rows go to FILE.rejected.csv (exit 1 if any)."""
    from ivr.db.models import utcnow
    from ivr.surveys.completions import BadCsv, import_rows, read_csv, write_rejected
    from ivr.surveys.draws import live_policy

    source = Path(path)
    try:
        header, rows = read_csv(source)
    except BadCsv as error:
        click.echo(f"not imported: {error}", err=True)
        sys.exit(2)
    with unit_of_work(command_hotline().sessions) as session:
        service_types = set(live_policy(session).shares)
        with click.progressbar(rows, label=f"checking {len(rows)} row(s)", file=sys.stderr) as bar:
            report = import_rows(session, bar, service_types, utcnow())
    click.echo(f"imported: {report.imported}")
    click.echo(f"skipped duplicates: {len(report.duplicates)}")
    for line, external_id in report.duplicates:
        click.echo(f"    row {line}: {external_id} is already known")
    click.echo(f"rejected: {len(report.rejected)}")
    for row, problems in report.rejected:
        click.echo(f"    row {row.line}: {'; '.join(problems)}")
    if report.rejected:
        rejected_path = source.with_name(source.name + ".rejected.csv")
        write_rejected(rejected_path, header, report.rejected)
        click.echo(f"rejected rows written to {rejected_path}: fix them and import that file")
        sys.exit(1)


@callbacks.command("hotline")
def callbacks_hotline() -> None:
    """Make completions of the answered agent calls not yet made into one."""
    from ivr.surveys.completions import record_hotline_completions

    with unit_of_work(command_hotline().sessions) as session:
        click.echo(f"hotline call completions added: {record_hotline_completions(session)}")


@callbacks.command("select")
@click.option("--month", "month", default=None, help="Only this local month, YYYY-MM [default: every month].")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help="Seed [default: random].")
def callbacks_select(month: str | None, seed: int | None) -> None:
    """Draw the call-backs of every undecided completion from before today (the scheduler: every 15 min)."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from ivr.quality.report_month import MonthError
    from ivr.surveys.draws import draw_callbacks, month_figures

    hotline = command_hotline()
    zone = hotline.settings.local_timezone
    try:
        with unit_of_work(hotline.sessions) as session:
            report = draw_callbacks(session, timezone=zone, seed=seed, month=month)
            shown = [draw.month for draw in report.months] or ([month] if month else [])
            totals = [month_figures(session, name) for name in shown]
    except MonthError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    through = report.through.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    if not report.months:
        click.echo(f"nothing new to decide: every completion before {through} ({zone}) is decided already")
    else:
        click.echo(
            f"decided {report.decided} completion(s) before {through} ({zone}), "
            f"policy version {report.policy_version}, seed {report.seed}"
        )
    for draw in report.months:
        click.echo(f"{draw.month} (draw {draw.draw_id}): decided {draw.decided}")
        for service_type, count in sorted(draw.selected.items()):
            click.echo(f"    selected  {service_type}: {count}")
        for reason, count in sorted(draw.excluded.items()):
            click.echo(f"    excluded  {reason}: {count}")
    for figures in totals:
        click.echo(
            f"{figures.month} so far ({figures.draws} draw(s)): decided {figures.decided}, "
            f"selected {sum(figures.selected.values())}"
        )


@callbacks.command("try")
@click.argument("job_id", type=int)
@click.option("--keys", default=None, help='Scripted answers, e.g. "1,8,10,1,2,#" (1 starts; 10 = 1 then 0).')
@click.option(
    "--answered-by",
    type=click.Choice(["human", "machine_start", "machine_end_beep", "fax", "unknown"]),
    default="human",
    show_default=True,
    help="What machine detection reports.",
)
def callbacks_try(job_id: int, keys: str | None, answered_by: str) -> None:
    """Place one queued call-back now through the built-in simulator and answer its survey."""
    from ivr.cli.phone import survey_call

    sys.exit(survey_call(job_id=job_id, keys=keys, answered_by=answered_by))


@callbacks.command("schedule")
def callbacks_schedule() -> None:
    """Make a call-back job of every selected completion that has none (idempotent)."""
    from ivr.surveys.jobs import calling_rules, create_jobs

    hotline = command_hotline()
    with unit_of_work(hotline.sessions) as session:
        report = create_jobs(session, calling_rules(hotline.settings))
    click.echo(f"call-back jobs created: {report.created} (of which expired already: {report.expired})")


@callbacks.command("status")
def callbacks_status() -> None:
    """Call-back jobs by status."""
    from ivr.surveys.jobs import job_counts

    with unit_of_work(command_hotline().sessions) as session:
        counts = job_counts(session)
    for status in ("queued", "dialling", "completed", "partial", "refused", "unreachable", "expired"):
        click.echo(f"{status:12} {counts.get(status, 0)}")


@callbacks.group("policy")
def callbacks_policy() -> None:
    """The sampling policy: shares per service type, small-month rule, no-repeat period."""


@callbacks_policy.command("publish")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--by", "author", default="cli", show_default=True, help="Who publishes (kept with the version)."
)
def callbacks_policy_publish(path: str, author: str) -> None:
    """Validate a policy file (TOML or JSON) and make it the live version."""
    from ivr.surveys.draws import publish_policy
    from ivr.surveys.policy import load_policy_file

    version = publish_or_explain(
        path,
        lambda: load_policy_file(Path(path)),
        lambda session, doc: publish_policy(session, doc, created_by=author),
    )
    click.echo(f"sampling policy version {version} is live")


@callbacks_policy.command("show")
def callbacks_policy_show() -> None:
    """The live policy (the shipped default while none is published)."""
    from ivr.surveys.draws import live_policy

    with command_hotline().sessions() as session:
        policy = live_policy(session)
    origin = f"version {policy.version}" if policy.version else "the shipped default (none published)"
    click.echo(f"sampling policy: {origin}")
    click.echo(
        f"    every case when a service type had fewer than {policy.min_cases_for_sampling} in the month"
    )
    click.echo(f"    no customer called back again within {policy.recent_callback_days} days")
    for name, share in sorted(policy.shares.items()):
        click.echo(f"    {name:<26} {share:>6.0%}  {policy.labels[name]}")


@click.command("satisfaction")
@click.option("--month", "month_text", required=True, help="The local month of the completions, YYYY-MM.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False), help="Also write the rows as CSV.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="Also write the page as a file.")
def satisfaction_report(month_text: str, csv_file: str | None, html_file: str | None) -> None:
    """Print the month's satisfaction call-back figures, then each employee's; optionally CSV and HTML."""
    from ivr.quality.report_month import Month, MonthError
    from ivr.surveys.report import build_satisfaction_report, report_lines
    from ivr.surveys.report_file import write_report_files

    try:
        month = Month.parse(month_text)
    except MonthError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    hotline = command_hotline()
    with hotline.sessions() as session, session.begin():
        timezone = hotline.settings.local_timezone
        built = build_satisfaction_report(session=session, month=month, timezone=timezone)
    for line in report_lines(built):
        click.echo(line)
    paths = (Path(csv_file) if csv_file else None, Path(html_file) if html_file else None)
    for path in write_report_files(built, csv_path=paths[0], html_path=paths[1]):
        click.echo(f"written: {path}")
