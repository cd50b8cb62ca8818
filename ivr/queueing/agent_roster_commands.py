"""`hotline agents ...`: the roster from the command line (docs/agents.md).

List, add, edit, take out of service and back, import a CSV roster."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from ivr.cli.context import command_hotline
from ivr.db.models import Agent
from ivr.db.session import unit_of_work
from ivr.queueing.agent_csv import RosterFileRefused, format_skills, import_roster, parse_skills, split_list
from ivr.queueing.agent_roster import (
    InvalidAgent,
    RosterRefused,
    add_agent,
    deactivate_agent,
    edit_agent,
    reactivate_agent,
    roster,
)

BY = "cli"  # the change log's "who" for the command line


@click.group("agents")
def agents() -> None:
    """The agents (seats) routing offers calls to (docs/agents.md)."""


@agents.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per agent.")
def list_command(as_json: bool) -> None:
    """Every agent: id, in service, state, name, groups, skills, languages, how they are dialled."""
    with command_hotline().sessions() as session:
        rows = roster(session)
    for agent in rows:
        if as_json:
            from ivr.queueing.agent_roster_api import agent_json

            click.echo(json.dumps(agent_json(agent), ensure_ascii=False))
            continue
        service = "in service" if agent.active else "OUT OF SERVICE"
        client = f"client:{agent.client_identity}" if agent.client_identity else ""
        dialled = " ".join(part for part in (agent.phone, client) if part)
        wrap = f" wrap-up {agent.wrap_up_seconds}s" if agent.wrap_up_seconds is not None else ""
        click.echo(
            f"#{agent.id} {agent.name} [{service}, {agent.state}]"
            f" groups {','.join(agent.groups or []) or '-'}"
            f" skills {format_skills(agent.skills or {}) or '-'} languages {','.join(agent.languages or [])}"
            f" {dialled}{wrap}"
        )


def _field_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--name"),
        click.option("--phone", help="E.164, e.g. +8613700000011."),
        click.option("--client-identity", help="The browser client identity (Twilio Client)."),
        click.option("--groups", help="Separated by ';', e.g. 'billing;general'."),
        click.option("--skills", help="skill:level, separated by ';', e.g. 'billing:5;general:4'."),
        click.option("--languages", help="Separated by ';', e.g. 'zh-CN;en-US'."),
        click.option("--wrap-up-seconds", help="Overrides the group's wrap-up; '' for the group's."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _given(**options: str | None) -> dict[str, Any]:
    """The options given, as the roster's fields."""
    values: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key in ("groups", "languages"):
            values[key] = split_list(value)
        elif key == "skills":
            try:
                values[key] = parse_skills(value)
            except ValueError as bad:
                raise click.BadParameter(str(bad), param_hint="--skills") from None
        else:
            values[key] = value
    return values


def _change(change: Callable[[Session, Any], Agent], done: str) -> None:
    """Run one roster change in a transaction; exit 1 with every problem when it is refused."""
    hotline = command_hotline()
    try:
        with unit_of_work(hotline.sessions) as session:
            agent = change(session, hotline.rules.live())
            click.echo(f"{done}: #{agent.id} {agent.name}")
    except InvalidAgent as invalid:
        click.echo("refused:", err=True)
        for problem in invalid.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    except RosterRefused as refused:
        click.echo(f"refused: {refused}", err=True)
        sys.exit(1)


@agents.command("add")
@_field_options
def add_command(**options: str | None) -> None:
    """Add an agent (in service, offline until they go available)."""
    values = _given(**options)
    _change(lambda session, rules: add_agent(session, values=values, rules=rules, by=BY), "added")


@agents.command("edit")
@click.argument("agent_id", type=int)
@_field_options
def edit_command(agent_id: int, **options: str | None) -> None:
    """Change the fields given; the others stay as they are."""
    values = _given(**options)
    _change(
        lambda session, rules: edit_agent(
            session, agent_id=agent_id, values=values, rules=rules, by=BY, partial=True
        ),
        "saved",
    )


@agents.command("deactivate")
@click.argument("agent_id", type=int)
def deactivate_command(agent_id: int) -> None:
    """Take the agent out of service: offline, never offered a call again."""
    _change(lambda session, _rules: deactivate_agent(session, agent_id=agent_id, by=BY), "out of service")


@agents.command("reactivate")
@click.argument("agent_id", type=int)
def reactivate_command(agent_id: int) -> None:
    """Bring the agent back into service (offline until they go available)."""
    _change(lambda session, _rules: reactivate_agent(session, agent_id=agent_id, by=BY), "back in service")


@agents.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what each row would do; save nothing.")
def import_command(file: Path, dry_run: bool) -> None:
    """Import a CSV roster (docs/agents.md); exit 1 if any row was refused (the others are saved)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        click.echo("refused: the file is not UTF-8 text: save the CSV as UTF-8", err=True)
        sys.exit(1)
    hotline = command_hotline()
    with hotline.sessions() as session:
        try:
            report = import_roster(session, text=text, rules=hotline.rules.live(), by=BY, dry_run=dry_run)
        except (RosterFileRefused, RosterRefused) as refused:
            click.echo(f"refused: {refused}", err=True)
            sys.exit(1)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    for row in report.rows:
        seat = f" #{row.agent_id}" if row.agent_id and not dry_run else ""
        click.echo(f"line {row.line}: {row.outcome} {row.name}{seat}")
        for problem in row.problems:
            click.echo(f"    {problem}")
    outcomes = ("created", "updated", "unchanged", "refused")
    counts = ", ".join(f"{report.count(name)} {name}" for name in outcomes)
    click.echo(f"{'dry run, nothing saved: ' if dry_run else ''}{counts}")
    if report.count("refused"):
        sys.exit(1)
