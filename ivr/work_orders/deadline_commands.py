"""`hotline deadlines`: show the live deadline rules, check a file, load it as a version, list, roll back."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ivr.cli.context import command_hotline
from ivr.work_orders.deadline_rules import InvalidDeadlines
from ivr.work_orders.deadline_versions import DeadlinesRefused


@click.group()
def deadlines() -> None:
    """The work-order deadline rules document and its versions (docs/work-orders.md, "Deadline rules")."""


@deadlines.command()
def show() -> None:
    """Print the live deadline rules (TOML) and which version they are."""
    from ivr.work_orders.deadline_versions import live_document

    with command_hotline().sessions() as session:
        live = live_document(session)
    where = f"version {live.version}" if live.version else "the shipped defaults (no version saved yet)"
    click.echo(f"# live deadline rules: {where}", err=True)
    click.echo(live.source)


@deadlines.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(path: Path) -> None:
    """Validate a deadline rules file (TOML or JSON) without saving it; exit 1 naming every problem."""
    from ivr.work_orders.deadline_versions import read_deadlines_text

    try:
        read_deadlines_text(path.read_text(encoding="utf-8"))
    except InvalidDeadlines as invalid:
        _explain(invalid, "not valid")
    click.echo(f"{path}: no problems")


@deadlines.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "author", default="cli", show_default=True, help="Who saves (kept with the version).")
@click.option("--note", default="", help="Why (kept with the version).")
def load(path: Path, author: str, note: str) -> None:
    """Validate a deadline rules file and save it as the new live version (nothing saved on a problem)."""
    from ivr.work_orders.deadline_versions import save_deadlines

    try:
        with command_hotline().sessions() as session, session.begin():
            version = save_deadlines(
                session, path.read_text(encoding="utf-8"), by=author, note=note or f"loaded from {path.name}"
            ).version
    except InvalidDeadlines as invalid:
        _explain(invalid, "not saved")
    except DeadlinesRefused as refused:
        click.echo(f"not saved: {refused.message}", err=True)
        sys.exit(1)
    click.echo(f"deadline rules version {version} is live")


@deadlines.command()
def versions() -> None:
    """List the saved versions, newest (live) first."""
    from ivr.work_orders.deadline_versions import all_versions

    with command_hotline().sessions() as session:
        rows = all_versions(session)
        lines = [
            f"v{row.version}{' (live)' if index == 0 else ''}\t{row.created_at:%Y-%m-%d %H:%M} UTC"
            f"\t{row.created_by}\t{row.note}"
            for index, row in enumerate(rows)
        ]
    click.echo("\n".join(lines) if lines else "no version saved yet: the shipped defaults are live")


@deadlines.command()
@click.argument("version", type=int)
@click.option("--by", "author", default="cli", show_default=True, help="Who rolls back.")
@click.option("--note", default="", help="Why.")
def rollback(version: int, author: str, note: str) -> None:
    """Save an earlier version's document again as the newest (live) version."""
    from ivr.work_orders.deadline_versions import rollback_deadlines

    try:
        with command_hotline().sessions() as session, session.begin():
            new = rollback_deadlines(session, version, by=author, note=note).version
    except DeadlinesRefused as refused:
        click.echo(f"not rolled back: {refused.message}", err=True)
        sys.exit(1)
    except InvalidDeadlines as invalid:  # the checks grew since that version was saved
        _explain(invalid, f"not rolled back: version {version} no longer passes the checks")
    click.echo(f"version {version} is live again as version {new}")


def _explain(invalid: InvalidDeadlines, verdict: str) -> None:
    for problem in invalid.problems:
        click.echo(f"problem: {problem}", err=True)
    click.echo(f"{verdict}: {len(invalid.problems)} problem(s)", err=True)
    sys.exit(1)
