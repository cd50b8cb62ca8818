"""`hotline customers import FILE [--dry-run]` and `hotline customers find TEXT` (docs/customers.md)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from ivr.cli.context import command_hotline
from ivr.customers.imports import ImportRefused, decode, import_customers
from ivr.customers.search import SearchRefused, find_customers
from ivr.customers.sync import numbers_of


@click.group()
def customers() -> None:
    """Customer accounts: import a CSV file, find an account (docs/customers.md)."""


@customers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would happen, store nothing.")
def import_command(file: Path, dry_run: bool) -> None:
    """Create or update the accounts of a CSV file; prints one line per row. Exit 1 if a row was refused."""
    hotline = command_hotline()
    try:
        text = decode(file.read_bytes())
        who = f"cli:{getpass.getuser()}"
        report = import_customers(hotline.sessions, text, who=who, dry_run=dry_run, max_rows=None)
    except ImportRefused as refused:
        click.echo(f"error: {refused}", err=True)
        sys.exit(2)
    for row in report.rows:
        detail = row.why or ", ".join(row.changed)
        click.echo(f"line {row.line}\t{row.account or '-'}\t{row.result}" + (f"\t{detail}" if detail else ""))
    totals = ", ".join(f"{report.count(r)} {r}" for r in ("created", "updated", "unchanged", "refused"))
    click.echo(("dry run, nothing stored: " if dry_run else "") + totals)
    if report.count("refused"):
        sys.exit(1)


@customers.command("find")
@click.argument("text")
def find_command(text: str) -> None:
    """Customers by a number, an account number or the beginning of a name."""
    hotline = command_hotline()
    with hotline.sessions() as session:
        try:
            found = find_customers(session, text)
        except SearchRefused as refused:
            click.echo(f"error: {refused}", err=True)
            sys.exit(2)
        for customer in found:
            numbers = "; ".join(numbers_of(session, customer.id)) or "-"
            click.echo(f"{customer.account_number}\t{customer.name}\t{numbers}\t{customer.district or '-'}")
    if not found:
        click.echo(f"nothing found for {text!r}", err=True)
        sys.exit(1)
