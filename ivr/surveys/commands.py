"""Commands about satisfaction call-backs: completions, the draw, jobs, the policy, the monthly report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ivr.cli.context import command_hotline
from ivr.cli.documents import publish_or_explain
from ivr.db.session import unit_of_work
from ivr.surveys.job_actions import STATUSES as JOB_STATUSES


@click.group()
def callbacks() -> None:
    """Satisfaction call-backs: completions, sampling policy, the daily draw, jobs (docs/callbacks.md)."""


@callbacks.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def callbacks_import(path: str) -> None:
    """Import field completions from a CSV file; rejected rows go to FILE.rejected.csv (exit 1 if any)."""
    from ivr.db.models import utcnow
    from ivr.surveys.completions import BadCsv, import_rows, read_csv, write_rejected
    from ivr.surveys.policy_store import live_policy

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
    for status in JOB_STATUSES:
        click.echo(f"{status:12} {counts.get(status, 0)}")


@callbacks.command("jobs")
@click.option("--status", type=click.Choice(JOB_STATUSES), default=None, help="Only jobs in this state.")
@click.option("--from", "due_from", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Due on or after.")
@click.option("--to", "due_to", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Due on or before.")
@click.option("--service-type", default=None, help="Only this service type.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True, help="50 jobs a page.")
def callbacks_jobs(status, due_from, due_to, service_type, page) -> None:  # type: ignore[no-untyped-def]
    """List call-back jobs, latest due first, with their tries (the console page: /console/callback-jobs)."""
    from ivr.surveys.job_actions import JobFilter, list_jobs
    from ivr.web.labels import local_time

    hotline = command_hotline()
    zone = hotline.settings.local_timezone
    wanted = JobFilter(
        status=status,
        due_from=due_from.date() if due_from else None,
        due_to=due_to.date() if due_to else None,
        service_type=service_type,
        page=page,
    )
    with hotline.sessions() as session:
        found = list_jobs(session, wanted, timezone=zone)
    click.echo(f"{found.total} job(s), page {found.page} of {found.pages}")
    for job in found.rows:
        tries = ", ".join(t.outcome or "under way" for t in job.tries) or "none"
        click.echo(
            f"{job.id:>7}  {job.status:<11} {job.service_type:<24} {job.phone:<16} "
            f"due {local_time(job.due_at, zone, seconds=False)}  tries: {tries}"
            + (f"  ({job.last_outcome})" if job.last_outcome else "")
        )


@callbacks.command("retry")
@click.argument("job_id", type=int)
@click.option("--note", default="", help="Why (kept in the change log).")
@click.option("--by", "author", default="cli", show_default=True, help="Who retries (the change log).")
def callbacks_retry(job_id: int, note: str, author: str) -> None:
    """Queue an unreachable, expired or cancelled job again, due now (exit 1 when refused)."""
    from ivr.db.models import utcnow
    from ivr.surveys.job_actions import JobRefused, retry_job
    from ivr.surveys.jobs import calling_rules

    hotline = command_hotline()
    try:
        with unit_of_work(hotline.sessions) as session:
            rules = calling_rules(hotline.settings)
            job = retry_job(session, job_id, who=author, rules=rules, now=utcnow(), note=note)
            due = job.due_at
    except JobRefused as refused:
        click.echo(f"not retried: {refused.message}", err=True)
        sys.exit(1)
    click.echo(f"job {job_id} queued again, due {due:%Y-%m-%d %H:%M} UTC")


@callbacks.command("cancel")
@click.argument("job_id", type=int)
@click.option("--reason", required=True, help="Why it is cancelled (required; the change log).")
@click.option("--by", "author", default="cli", show_default=True, help="Who cancels (the change log).")
def callbacks_cancel(job_id: int, reason: str, author: str) -> None:
    """Cancel a queued job with the reason (exit 1 when refused: a call under way, or over)."""
    from ivr.db.models import utcnow
    from ivr.surveys.job_actions import JobRefused, cancel_job

    try:
        with unit_of_work(command_hotline().sessions) as session:
            cancel_job(session, job_id, who=author, reason=reason, now=utcnow())
    except JobRefused as refused:
        click.echo(f"not cancelled: {refused.message}", err=True)
        sys.exit(1)
    click.echo(f"job {job_id} cancelled")


@callbacks.group("policy")
def callbacks_policy() -> None:
    """The sampling policy: shares per service type, small-month rule, no-repeat period."""


@callbacks_policy.command("publish")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--by", "author", default="cli", show_default=True, help="Who publishes (kept with the version)."
)
def callbacks_policy_publish(path: str, author: str) -> None:
    """Validate a policy file (TOML or JSON) and make it the live version (logged in the change log)."""
    from ivr.surveys.policy import load_policy_file
    from ivr.surveys.policy_changes import live_document, publish_as

    def store(session, document):  # type: ignore[no-untyped-def]
        # The same document as the live one is no new version (as on the settings page).
        version = publish_as(session, document, who=author, based_on=None, action="publish")
        return live_document(session)[0] if version is None else version

    version = publish_or_explain(path, lambda: load_policy_file(Path(path)), store)
    click.echo(f"sampling policy version {version} is live")


@callbacks_policy.command("show")
def callbacks_policy_show() -> None:
    """The live policy (the shipped default while none is published)."""
    from ivr.surveys.policy_store import live_policy

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
