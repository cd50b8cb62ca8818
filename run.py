"""Command line of the hotline: serve, scheduler, call, check-config, init-db, calls, spool, queues."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import click
from sqlalchemy import select

from ivr.config import development_token_problems, load_settings
from ivr.hotline import Hotline


def _hotline() -> Hotline:
    """The hotline for this command; its connections close when the command ends."""
    hotline = Hotline.build(load_settings())
    click.get_current_context().call_on_close(hotline.engine.dispose)
    return hotline


@click.group()
def cli() -> None:
    """Utility customer-service hotline on Twilio."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


@cli.command("init-db")
@click.option("--demo/--no-demo", default=False, help="Also load demo customers, agents and work orders.")
def init_db(demo: bool) -> None:
    """Create or migrate the database and store the default menu."""
    from ivr.setup import init_database

    for line in init_database(_hotline(), demo=demo):
        click.echo(line)


@cli.command("check-config")
@click.option(
    "--menu", "menu_file", type=click.Path(exists=True, dir_okay=False), help="A menu file to check."
)
@click.option("--no-db", is_flag=True, help="Do not check the live menu in the database.")
def check_config(menu_file: str | None, no_db: bool) -> None:
    """Validate prompts and menus; exit 1 naming every problem."""
    from ivr.setup import config_problems

    problems = development_token_problems(load_settings()) + config_problems(
        None if no_db else _hotline(), menu_file
    )
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo("configuration ok")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option(
    "--scheduler/--no-scheduler",
    default=None,
    help="Run the scheduled jobs beside the server [default: IVR_SCHEDULER_IN_PROCESS, on].",
)
@click.option("--debug", is_flag=True, help="Flask's development server, one process: never in production.")
def serve(host: str, port: int, scheduler: bool | None, debug: bool) -> None:
    """Serve the webhooks through gunicorn, with the scheduled jobs in a process beside it (by default)."""
    from ivr.app import create_app
    from ivr.jobs.scheduler import build_scheduler
    from ivr.setup import config_problems

    hotline = _hotline()
    settings = hotline.settings
    problems = development_token_problems(settings, listen_host=host) + config_problems(hotline)
    if problems:
        for problem in problems:
            click.echo(f"refusing to start: {problem}", err=True)
        sys.exit(1)
    with_scheduler = settings.scheduler_in_process if scheduler is None else scheduler
    click.echo(f"hotline answering on http://{host}:{port}/voice/incoming (telephony: {settings.telephony})")
    if debug:
        if with_scheduler:
            build_scheduler(hotline).start()
        create_app(hotline=hotline).run(host=host, port=port, threaded=True, use_reloader=False)
        return
    from ivr.serving import HotlineServer

    hotline.engine.dispose()  # the workers fork from this process: each opens its own connections
    command = [sys.executable, os.path.abspath(__file__), "scheduler"] if with_scheduler else None
    HotlineServer(settings, f"{host}:{port}", command).run()


@cli.command("scheduler")
def scheduler_process() -> None:
    """Run the scheduled jobs in their own process (when the web runs under gunicorn)."""
    from ivr.jobs.scheduler import build_scheduler

    hotline = _hotline()
    # The scheduler's call-backs hand Twilio URLs of this server: the same token rule as serve.
    problems = development_token_problems(hotline.settings)
    for problem in problems:
        click.echo(f"refusing to start: {problem}", err=True)
    if problems:
        sys.exit(1)
    # SIGTERM (from `serve`, or a process manager) and Ctrl-C: jobs running finish, none start, exit 0.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: sys.exit(0))
    build_scheduler(hotline, blocking=True).start()


@cli.command()
@click.option("--from", "caller", default="+8613800000001", show_default=True, help="The caller's number.")
@click.option("--to", "called", default="+864008888888", show_default=True, help="The hotline's number.")
@click.option(
    "--keys",
    default=None,
    help='Scripted input, comma-separated: "9,1,4", "123#", "s:燃气泄漏" (speech), "-" (silence).',
)
@click.option(
    "--url", default=None, help="Phone a running server (e.g. http://127.0.0.1:5000) instead of in-process."
)
@click.option(
    "--wait-loops", default=2, show_default=True, help="Queue announcements to hear before hanging up."
)
def call(caller: str, called: str, keys: str | None, url: str | None, wait_loops: int) -> None:
    """Phone the hotline through the built-in simulator and see where the call ends up."""
    from ivr.cli.phone import phone_call

    sys.exit(phone_call(caller=caller, called=called, keys=keys, url=url, wait_loops=wait_loops))


@cli.command()
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Calls started on this day (UTC).")
@click.option("--intent", type=click.Choice(["billing", "safety", "repair", "complaint", "agent"]))
@click.option("--number", help="Caller number (or part of it).")
@click.option("--limit", default=20, show_default=True)
def calls(day: datetime | None, intent: str | None, number: str | None, limit: int) -> None:
    """List recent call records."""
    from ivr.db.models import Call

    query = select(Call).order_by(Call.started_at.desc()).limit(limit)
    if day:
        start = datetime.combine(date(day.year, day.month, day.day), datetime.min.time())
        query = query.where(Call.started_at >= start, Call.started_at < start + timedelta(days=1))
    if intent:
        query = query.where(Call.intent == intent)
    if number:
        query = query.where(Call.from_number.contains(number))
    from ivr.events.store import call_inputs

    with _hotline().sessions() as session:
        rows = session.scalars(query).all()
        inputs = {row.call_sid: call_inputs(session, row.call_sid) for row in rows}
    if not rows:
        click.echo("no calls")
    for row in rows:
        keys = " ".join(str(i.get("digits") or i.get("speech") or "·") for i in inputs[row.call_sid])
        flag = " EMERGENCY" if row.emergency else ""
        click.echo(
            f"{row.started_at:%Y-%m-%d %H:%M:%S}  {row.call_sid[:14]}…  {row.from_number:<15} "
            f"{row.language}  v{row.menu_version}  intent={row.intent or '-'}  queue={row.queue or '-'}  "
            f"outcome={row.outcome or '-'}  status={row.status or 'live'}  {row.duration_seconds or 0}s  "
            f"keys=[{keys}]{flag}"
        )


def _publish_or_explain(path: str, load: Callable[[], Any], store: Callable[[Any, Any], Any]) -> int:
    """Load a document and store it as a new version in one transaction; exit 1 naming every problem."""
    try:
        document = load()
        with _hotline().sessions() as session, session.begin():
            return int(store(session, document))
    except ValueError as error:  # the Invalid* errors of every document kind are ValueErrors with .problems
        problems = getattr(error, "problems", None)
        if problems is None:
            click.echo(f"not published: {path} cannot be read ({error})", err=True)
        else:
            for problem in problems:
                click.echo(f"problem: {problem}", err=True)
            click.echo(f"not published: {len(problems)} problem(s)", err=True)
        sys.exit(1)


@cli.command()
@click.argument("kind", type=click.Choice(["menu", "rules"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--by", "author", default="cli", show_default=True, help="Who publishes (kept with the version)."
)
@click.option("--note", default="", help="Why (kept with the version).")
def publish(kind: str, path: str, author: str, note: str) -> None:
    """Validate a menu or routing rules file (TOML or JSON) and make it the live version."""
    from pathlib import Path

    from ivr.configuration.menus.store import publish as publish_menu
    from ivr.configuration.menus.validation import load_menu_file
    from ivr.configuration.rules.store import publish_rules
    from ivr.configuration.rules.validation import load_rules_file

    load, store = (load_menu_file, publish_menu) if kind == "menu" else (load_rules_file, publish_rules)
    version = _publish_or_explain(
        path, lambda: load(Path(path)), lambda session, doc: store(session, doc, created_by=author, note=note)
    )
    click.echo(f"{kind} version {version} is live (calls in progress keep the version they started with)")
    if kind == "menu":
        _republish_fallback()


def _republish_fallback() -> None:
    """After a menu publish: the hosted fallback speaks the new advice (else the scheduler catches up)."""
    from ivr.calls.hosted_fallback import publish_fallback
    from ivr.telephony.base import TelephonyError

    hotline = _hotline()
    if hotline.telephony is None:
        return
    try:
        published = publish_fallback(hotline)
    except TelephonyError as error:
        click.echo(f"warning: hosted fallback not republished ({error}); the scheduler retries", err=True)
        return
    if published.changed:
        click.echo(f"hosted fallback of {published.number} republished")


@cli.command("publish-fallback")
def publish_fallback_command() -> None:
    """Point the hotline number's fallback URL at the Twilio-hosted leak advice and duty engineer's dial."""
    from ivr.calls.hosted_fallback import publish_fallback
    from ivr.telephony.base import TelephonyError

    hotline = _hotline()
    try:
        published = publish_fallback(hotline)
    except TelephonyError as error:
        click.echo(f"not published: {error}", err=True)
        sys.exit(1)
    state = "updated" if published.changed else "already in step"
    click.echo(f"{published.number}: hosted fallback {state} ({len(published.url)} characters)")
    click.echo(published.url)


@cli.command()
@click.argument("call_sid")
def why(call_sid: str) -> None:
    """Why a caller went where they went: every routing decision for the call, with its inputs."""
    from ivr.db.models import RoutingDecision

    with _hotline().sessions() as session:
        decisions = session.scalars(
            select(RoutingDecision)
            .where(RoutingDecision.call_sid.startswith(call_sid))
            .order_by(RoutingDecision.id)
        ).all()
    if not decisions:
        click.echo("no routing decisions for that call")
        sys.exit(1)
    for d in decisions:
        call = d.inputs.get("call", {})
        click.echo(
            f"{d.at:%Y-%m-%d %H:%M:%S}  {d.call_sid}  rules v{d.rules_version}  filter={d.filter}  "
            f"step={d.step}  agent={d.agent_id}  {d.outcome}\n    {d.reason}\n    call: {call}\n"
            f"    candidates: {d.inputs.get('candidates', [])}"
        )


@cli.command("spool-replay")
def spool_replay() -> None:
    """Write call events kept in the local spool while the database was down."""
    from ivr.jobs.scheduler import replay_spool

    hotline = _hotline()
    written = replay_spool(hotline)
    click.echo(f"{written} events written; {len(hotline.spool.pending())} still waiting")


@cli.command("create-user")
@click.option("--username", required=True)
@click.option("--role", required=True, help="admin, supervisor, shift_lead, quality or agent.")
@click.option("--agent-id", type=int, default=None, help="The agent (seat) an agent user works as.")
@click.option(
    "--password", default=None, help="Asked for (twice, hidden) when not given; avoid shell history."
)
def create_user_command(username: str, role: str, agent_id: int | None, password: str | None) -> None:
    """Add a user who can log in; prints their API token once."""
    from ivr.db.session import unit_of_work
    from ivr.people.users import UserRefused, check_new_user, create_user

    hotline = _hotline()
    days = hotline.settings.api_token_days
    try:
        with unit_of_work(hotline.sessions) as session:
            # Checked before asking for a password nobody will use.
            check_new_user(session, username=username, role=role, agent_id=agent_id)
            if password is None:
                password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
            user, token = create_user(
                session, username=username, role=role, password=password, agent_id=agent_id, token_days=days
            )
    except UserRefused as refused:
        click.echo(f"refused: {refused}", err=True)
        sys.exit(1)
    seat = f", agent {user.agent_id}" if user.agent_id else ""
    click.echo(f"user {user.username} created (role {user.role}{seat})")
    click.echo(f"API token (shown only now; keep it safe): {token}")
    click.echo(f"it expires in {days} days (IVR_API_TOKEN_DAYS); `run.py api-token new` gives another")


def _change_user(change: Callable[[Any], Any]) -> Any:
    """Run one change to users in a transaction; exit 1 with the reason when it is refused."""
    from ivr.db.session import unit_of_work
    from ivr.people.users import UserRefused

    try:
        with unit_of_work(_hotline().sessions) as session:
            return change(session)
    except UserRefused as refused:
        click.echo(f"refused: {refused}", err=True)
        sys.exit(1)


@cli.command("deactivate-user")
@click.argument("username")
def deactivate_user_command(username: str) -> None:
    """The user can no longer log in: every session of theirs ends and their API token is revoked."""
    from ivr.people.users import deactivate_user

    _change_user(lambda session: deactivate_user(session, username=username))
    click.echo(f"user {username} deactivated; their sessions and API token no longer work")


@cli.group("api-token")
def api_token() -> None:
    """API tokens (docs/agent-api.md): a new one for a user, or revoke theirs."""


@api_token.command("new")
@click.argument("username")
def api_token_new(username: str) -> None:
    """Give the user a new API token (their old one stops working); printed once."""
    from ivr.people.users import issue_api_token

    days = load_settings().api_token_days
    token = _change_user(lambda session: issue_api_token(session, username=username, token_days=days))
    click.echo(f"API token of {username} (shown only now; keep it safe): {token}")
    click.echo(f"it expires in {days} days; the user's previous token no longer works")


@api_token.command("revoke")
@click.argument("username")
def api_token_revoke(username: str) -> None:
    """The user's API token stops working now."""
    from ivr.people.users import revoke_api_token

    _change_user(lambda session: revoke_api_token(session, username=username))
    click.echo(f"API token of {username} revoked")


@cli.group()
def audit() -> None:
    """The daily quality-audit sample of recorded calls (docs/audit.md)."""


def _audit_day(day: datetime | None, hotline: Hotline) -> date:
    from ivr.db.models import utcnow
    from ivr.quality.audit_sampling import previous_local_day

    return day.date() if day else previous_local_day(utcnow(), hotline.settings.local_timezone)


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
    from ivr.quality.audit_sampling import (
        AuditOptions,
        AuditRefused,
        describe_sample,
        draw_sample,
        parse_oversample,
    )

    hotline = _hotline()
    try:
        wanted = None if oversample is None else parse_oversample(oversample)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--oversample") from None
    options = AuditOptions.from_settings(hotline.settings, min_duration=min_duration, oversample=wanted)
    the_day = _audit_day(day, hotline)
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
def audit_status_command(day: datetime | None) -> None:
    """Audit progress: per day the sample, reviewed and pending calls, per agent."""
    from ivr.quality.audit_sampling import audit_status, describe_sample, verify_sample

    hotline = _hotline()
    reports = audit_status(hotline, day.date() if day else None)
    if not reports:
        click.echo(f"no audit sample for {day.date()}" if day else "no audit samples yet")
        return
    for report in reports:
        for line in describe_sample(report, hotline.settings.local_timezone):
            click.echo(line)
    if day:
        same = verify_sample(hotline, day.date())
        click.echo(
            "    drawing again from the seed gives the same calls"
            if same
            else "    drawing again from the seed gives other calls: the day's recordings changed since"
        )


@cli.group()
def report() -> None:
    """Reports for supervisors and quality staff (docs/quality-report.md)."""


@report.command("quality")
@click.option("--month", "month_text", required=True, help="The local month, YYYY-MM.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder to write to [default: ./reports/YYYY-MM/].",
)
def report_quality(month_text: str, out_dir: str | None) -> None:
    """Write the monthly quality report: an HTML file (charts inline) and a CSV of its figures."""
    from pathlib import Path

    from ivr.quality.report import Month, MonthError
    from ivr.quality.report_pages import write_report_files

    try:
        month = Month.parse(month_text)
    except MonthError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    folder = Path(out_dir) if out_dir else Path("reports") / str(month)
    for path in write_report_files(_hotline(), month, folder):
        click.echo(str(path))


@report.command("satisfaction")
@click.option("--month", "month_text", required=True, help="The local month of the completions, YYYY-MM.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False), help="Also write the rows as CSV.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="Also write the page as a file.")
def report_satisfaction(month_text: str, csv_file: str | None, html_file: str | None) -> None:
    """Print the month's satisfaction call-back figures, then each employee's; optionally CSV and HTML."""
    from pathlib import Path

    from ivr.quality.report import Month, MonthError
    from ivr.surveys.report import build_satisfaction_report, report_lines
    from ivr.surveys.report_pages import write_report_files as write_satisfaction_files

    try:
        month = Month.parse(month_text)
    except MonthError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    hotline = _hotline()
    with hotline.sessions() as session, session.begin():
        timezone = hotline.settings.local_timezone
        built = build_satisfaction_report(session=session, month=month, timezone=timezone)
    for line in report_lines(built):
        click.echo(line)
    paths = (Path(csv_file) if csv_file else None, Path(html_file) if html_file else None)
    for path in write_satisfaction_files(hotline, built, csv_path=paths[0], html_path=paths[1]):
        click.echo(f"written: {path}")


@cli.group()
def callbacks() -> None:
    """Satisfaction call-backs: completions, sampling policy, the daily draw, jobs (docs/callbacks.md)."""


@callbacks.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def callbacks_import(path: str) -> None:
    """Import field completions from a CSV file; rejected rows go to FILE.rejected.csv (exit 1 if any)."""
    from pathlib import Path

    from ivr.db.models import utcnow
    from ivr.db.session import unit_of_work
    from ivr.surveys.completions import BadCsv, import_rows, read_csv, write_rejected
    from ivr.surveys.draws import live_policy

    source = Path(path)
    try:
        header, rows = read_csv(source)
    except BadCsv as error:
        click.echo(f"not imported: {error}", err=True)
        sys.exit(2)
    with unit_of_work(_hotline().sessions) as session:
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
    from ivr.db.session import unit_of_work
    from ivr.surveys.completions import record_hotline_completions

    with unit_of_work(_hotline().sessions) as session:
        click.echo(f"hotline call completions added: {record_hotline_completions(session)}")


@callbacks.command("select")
@click.option("--month", "month", default=None, help="Only this local month, YYYY-MM [default: every month].")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help="Seed [default: random].")
def callbacks_select(month: str | None, seed: int | None) -> None:
    """Draw the call-backs of every completion not yet decided from before today (the scheduler does it
    every 15 minutes); a second run decides nothing new and says so."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from ivr.db.session import unit_of_work
    from ivr.quality.report import MonthError
    from ivr.surveys.draws import draw_callbacks, month_figures

    hotline = _hotline()
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
    from ivr.db.session import unit_of_work
    from ivr.surveys.jobs import calling_rules, create_jobs

    hotline = _hotline()
    with unit_of_work(hotline.sessions) as session:
        report = create_jobs(session, calling_rules(hotline.settings))
    click.echo(f"call-back jobs created: {report.created} (of which expired already: {report.expired})")


@callbacks.command("status")
def callbacks_status() -> None:
    """Call-back jobs by status."""
    from ivr.db.session import unit_of_work
    from ivr.surveys.jobs import job_counts

    with unit_of_work(_hotline().sessions) as session:
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
    from pathlib import Path

    from ivr.surveys.draws import publish_policy
    from ivr.surveys.policy import load_policy_file

    version = _publish_or_explain(
        path,
        lambda: load_policy_file(Path(path)),
        lambda session, doc: publish_policy(session, doc, created_by=author),
    )
    click.echo(f"sampling policy version {version} is live")


@callbacks_policy.command("show")
def callbacks_policy_show() -> None:
    """The live policy (the shipped default while none is published)."""
    from ivr.surveys.draws import live_policy

    with _hotline().sessions() as session:
        policy = live_policy(session)
    origin = f"version {policy.version}" if policy.version else "the shipped default (none published)"
    click.echo(f"sampling policy: {origin}")
    click.echo(
        f"    every case when a service type had fewer than {policy.min_cases_for_sampling} in the month"
    )
    click.echo(f"    no customer called back again within {policy.recent_callback_days} days")
    for name, share in sorted(policy.shares.items()):
        click.echo(f"    {name:<26} {share:>6.0%}  {policy.labels[name]}")


@cli.group()
def queues() -> None:
    """Twilio's call queues (docs/twilio-setup.md, queues)."""


@queues.command("sync")
@click.option("--storm/--no-storm", default=None, help="Size for storm mode [default: as the switch is].")
def queues_sync(storm: bool | None) -> None:
    """Create the live menu's queues and their overflow queues, and grow them; exit 1 on a failure."""
    from ivr.queueing.queue_sizing import size_queues

    hotline = _hotline()
    if hotline.telephony is None:
        click.echo("IVR_TELEPHONY is not twilio: no call queues to size", err=True)
        sys.exit(1)
    changes = size_queues(hotline, storm)
    for change in changes:
        problem = f"  ({change.problem})" if change.problem else ""
        click.echo(f"{change.name:<24} {change.action:<8} MaxSize {change.max_size}{problem}")
    if any(change.action == "failed" for change in changes):
        sys.exit(1)


@report.command("storm")
@click.option("--since", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d"]), help="UTC [default: storm on].")
def report_storm(since: datetime | None) -> None:
    """How callers left since storm mode went on: announcement, booked call-back, agent, other."""
    from ivr.queueing.storm import storm_state
    from ivr.queueing.storm_outcomes import storm_outcomes

    with _hotline().sessions() as session:
        switch = storm_state(session)
        if since is None:
            if not switch.on or switch.set_at is None:
                click.echo("storm mode is off: give --since", err=True)
                sys.exit(1)
            since = switch.set_at
        outcomes = storm_outcomes(session, since)
    click.echo(f"callers since {since:%Y-%m-%d %H:%M} UTC")
    for label, count in (
        ("announcement, then hung up", outcomes.announcement),
        ("call-back booked", outcomes.callback),
        ("answered by an agent", outcomes.agent),
        ("other", outcomes.other),
        ("gas leak (not in the share)", outcomes.gas_leak),
        ("still on the line", outcomes.on_the_line),
    ):
        click.echo(f"  {label:<30} {count:>7}")
    share = outcomes.no_agent_share
    shown = "no caller has left yet" if share is None else f"{share:.0%} of {outcomes.left}"
    click.echo(f"left with an announcement or a booked call-back: {shown}")


if __name__ == "__main__":
    cli()
