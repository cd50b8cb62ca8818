"""Commands about calls: list the call records, why a call went where it went, publish the hosted fallback."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta

import click
from sqlalchemy import select

from ivr.cli.context import command_hotline


@click.command()
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Calls started on this day (UTC).")
@click.option("--intent", type=click.Choice(["billing", "safety", "repair", "complaint", "agent"]))
@click.option("--number", help="Caller number (or part of it).")
@click.option("--limit", default=20, show_default=True)
def calls(day: datetime | None, intent: str | None, number: str | None, limit: int) -> None:
    """List recent call records."""
    from ivr.db.models import Call
    from ivr.events.store import call_inputs

    query = select(Call).order_by(Call.started_at.desc()).limit(limit)
    if day:
        start = datetime.combine(date(day.year, day.month, day.day), datetime.min.time())
        query = query.where(Call.started_at >= start, Call.started_at < start + timedelta(days=1))
    if intent:
        query = query.where(Call.intent == intent)
    if number:
        query = query.where(Call.from_number.contains(number))
    with command_hotline().sessions() as session:
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


@click.command()
@click.argument("call_sid")
def why(call_sid: str) -> None:
    """Where a call went and why: its story, every routing decision, and an agent reached or why none."""
    from ivr.calls.call_story import call_story
    from ivr.db.models import RoutingDecision

    with command_hotline().sessions() as session:
        story = call_story(session, call_sid)
        decisions = session.scalars(
            select(RoutingDecision)
            .where(RoutingDecision.call_sid.startswith(story.call_sid if story else call_sid))
            .order_by(RoutingDecision.id)
        ).all()
    if story is None and not decisions:
        click.echo(f"no call {call_sid} (run.py calls lists the recent ones)", err=True)
        sys.exit(1)
    if story is not None:
        click.echo(f"call {story.call_sid}")
        for line in story.lines:
            click.echo(f"  {line}")
    click.echo("routing decisions:" if decisions else "routing decisions: none (no agent was looked for)")
    for d in decisions:
        call = d.inputs.get("call", {})
        click.echo(
            f"{d.at:%Y-%m-%d %H:%M:%S}  {d.call_sid}  rules v{d.rules_version}  filter={d.filter}  "
            f"step={d.step}  agent={d.agent_id}  {d.outcome}\n    {d.reason}\n    call: {call}\n"
            f"    candidates: {d.inputs.get('candidates', [])}"
        )
    if story is not None:
        click.echo(story.verdict)


@click.command("publish-fallback")
def publish_fallback() -> None:
    """Point the hotline number's fallback URL at the Twilio-hosted leak advice and duty engineer's dial."""
    from ivr.jobs.tasks import publish_fallback as publish
    from ivr.telephony.base import TelephonyError

    try:
        published = publish(command_hotline())
    except TelephonyError as error:
        click.echo(f"not published: {error}", err=True)
        sys.exit(1)
    state = "updated" if published.changed else "already in step"
    click.echo(f"{published.number}: hosted fallback {state} ({len(published.url)} characters)")
    click.echo(published.url)
