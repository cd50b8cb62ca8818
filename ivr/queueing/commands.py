"""Commands about queueing: size Twilio's call queues, and how callers left since storm mode went on."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from ivr.cli.context import command_hotline


@click.group()
def queues() -> None:
    """Twilio's call queues (docs/twilio-setup.md, queues)."""


@queues.command("sync")
@click.option("--storm/--no-storm", default=None, help="Size for storm mode [default: as the switch is].")
def queues_sync(storm: bool | None) -> None:
    """Create the live menu's queues and their overflow queues, and grow them; exit 1 on a failure."""
    from ivr.jobs.tasks import size_queues

    hotline = command_hotline()
    if hotline.telephony is None:
        click.echo("IVR_TELEPHONY is not twilio: no call queues to size", err=True)
        sys.exit(1)
    changes = size_queues(hotline, storm)
    for change in changes:
        problem = f"  ({change.problem})" if change.problem else ""
        click.echo(f"{change.name:<24} {change.action:<8} MaxSize {change.max_size}{problem}")
    if any(change.action == "failed" for change in changes):
        sys.exit(1)


@click.command("storm")
@click.option("--since", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d"]), help="UTC [default: storm on].")
def storm_report(since: datetime | None) -> None:
    """How callers left since storm mode went on: announcement, booked call-back, agent, other."""
    from ivr.queueing.storm import storm_state
    from ivr.queueing.storm_outcomes import storm_outcomes

    with command_hotline().sessions() as session:
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
