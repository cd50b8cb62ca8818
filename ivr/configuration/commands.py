"""Commands about the configuration documents: publish a menu or routing rules file (then the fallback)."""

from __future__ import annotations

from pathlib import Path

import click

from ivr.cli.context import command_hotline
from ivr.cli.documents import publish_or_explain


@click.command()
@click.argument("kind", type=click.Choice(["menu", "rules"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--by", "author", default="cli", show_default=True, help="Who publishes (kept with the version)."
)
@click.option("--note", default="", help="Why (kept with the version).")
def publish(kind: str, path: str, author: str, note: str) -> None:
    """Validate a menu or routing rules file (TOML or JSON) and make it the live version."""
    from ivr.configuration.menus.store import publish as publish_menu
    from ivr.configuration.menus.validation import load_menu_file
    from ivr.configuration.rules.store import publish_rules
    from ivr.configuration.rules.validation import load_rules_file

    load, store = (load_menu_file, publish_menu) if kind == "menu" else (load_rules_file, publish_rules)
    version = publish_or_explain(
        path, lambda: load(Path(path)), lambda session, doc: store(session, doc, created_by=author, note=note)
    )
    click.echo(f"{kind} version {version} is live (calls in progress keep the version they started with)")
    if kind == "menu":
        republish_fallback()


def republish_fallback() -> None:
    """After a menu publish: the hosted fallback speaks the new advice (else the scheduler catches up)."""
    from ivr.jobs.tasks import publish_fallback as publish
    from ivr.telephony.base import TelephonyError

    hotline = command_hotline()
    if hotline.telephony is None:
        return
    try:
        published = publish(hotline)
    except TelephonyError as error:
        click.echo(f"warning: hosted fallback not republished ({error}); the scheduler retries", err=True)
        return
    if published.changed:
        click.echo(f"hosted fallback of {published.number} republished")
