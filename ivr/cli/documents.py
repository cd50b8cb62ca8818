"""Publishing a document read from a file: stored in one transaction, or exit 1 naming every problem."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from ivr.cli.context import command_hotline


def publish_or_explain(path: str, load: Callable[[], Any], store: Callable[[Any, Any], Any]) -> int:
    """Load a document and store it as a new version in one transaction; exit 1 naming every problem."""
    try:
        document = load()
        with command_hotline().sessions() as session, session.begin():
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
