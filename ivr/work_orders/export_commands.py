"""`hotline export work-orders|calls --from --to`: the export page's CSV files, from the command line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import click
from sqlalchemy.orm import Session

from ivr.cli.context import command_hotline
from ivr.work_orders.export import (
    CALL_HEADER,
    WORK_ORDER_HEADER,
    DayRange,
    ExportRangeError,
    call_rows,
    csv_text,
    day_range,
    work_order_rows,
)

Rows = Callable[[Session, DayRange], Iterator[list[str]]]


@click.group()
def export() -> None:
    """Work orders and call records of a range of local days as CSV (docs/work-orders.md, "Export")."""


def _range_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option(
        "--out",
        "out",
        type=click.Path(dir_okay=False, allow_dash=True),
        help="File to write, - for standard output [default: ./<what>-FROM-TO.csv].",
    )(command)
    command = click.option("--to", "last", required=True, help="Last local day, YYYY-MM-DD, included.")(
        command
    )
    return click.option("--from", "first", required=True, help="First local day, YYYY-MM-DD.")(command)


@export.command("work-orders")
@_range_options
def export_work_orders(first: str, last: str, out: str | None) -> None:
    """Write the work orders opened from --from to --to (local days, both included)."""
    _write("work-orders", WORK_ORDER_HEADER, work_order_rows, first, last, out)


@export.command("calls")
@_range_options
def export_calls(first: str, last: str, out: str | None) -> None:
    """Write the records of the calls started from --from to --to (local days, both included)."""
    _write("calls", CALL_HEADER, call_rows, first, last, out)


def _write(what: str, header: Sequence[str], rows: Rows, first: str, last: str, out: str | None) -> None:
    hotline = command_hotline()
    try:
        days = day_range(first, last, timezone=hotline.settings.local_timezone)
    except ExportRangeError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    with hotline.sessions() as session, session.begin():
        pieces = csv_text(header, rows(session, days))
        if out == "-":
            for piece in pieces:
                sys.stdout.write(piece)
            return
        path = Path(out or days.file_name(what))
        # newline="": the CSV's own CRLF line ends are written as they are.
        with path.open("w", encoding="utf-8", newline="") as file:
            for piece in pieces:
                file.write(piece)
    click.echo(str(path))
