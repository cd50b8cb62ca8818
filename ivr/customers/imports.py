"""Customers from a CSV file, with a report per row: created, updated, unchanged or refused (and why).

Each row is stored through `store_customer`, all or nothing; a dry run does the same work and rolls it
back. Two rows of one file never give one number to two accounts, nor name one account twice.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from ivr.customers.records import RecordRefused, record_from
from ivr.customers.sync import REFUSED, Outcome, store_customer

MAX_ROWS = 5_000  # on the page: a request of 10-20 s at most (the command line takes any number)
# Rows a transaction. SQLite has one writer at a time: an import in one transaction would hold up the
# calls' own writes for its whole length (2-3 ms a row), in batches it yields between them.
BATCH = 50
# The header's names, English or Chinese, to the record's fields.
COLUMNS = {
    "account": "account",
    "户号": "account",
    "name": "name",
    "姓名": "name",
    "numbers": "numbers",
    "phone": "numbers",
    "电话": "numbers",
    "address": "address",
    "地址": "address",
    "district": "district",
    "区域": "district",
    "class": "customer_class",
    "customer_class": "customer_class",
    "类别": "customer_class",
    "language": "language",
    "语言": "language",
}
HEADER = "account,name,numbers,address,district,class,language"


class ImportRefused(ValueError):
    """A file that cannot be imported at all (no header, an unknown column, too many rows)."""


@dataclass(frozen=True)
class RowReport:
    """One data row: its line in the file, its account and what became of it."""

    line: int
    account: str
    result: str
    why: str = ""
    changed: tuple[str, ...] = ()


@dataclass
class ImportReport:
    """Every row's outcome, in file order; a dry run stored nothing."""

    dry_run: bool
    rows: list[RowReport] = field(default_factory=list)

    def count(self, result: str) -> int:
        return Counter(row.result for row in self.rows)[result]


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without a BOM), else GB18030, which Excel in China writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as error:
        raise ImportRefused("the file is neither UTF-8 nor GB18030 text: save it as CSV UTF-8") from error


def import_customers(
    sessions: sessionmaker[Session],
    text: str,
    *,
    who: str,
    dry_run: bool = False,
    max_rows: int | None = MAX_ROWS,
) -> ImportReport:
    """Store every row of the CSV `text`, BATCH rows a transaction; a dry run rolls each batch back."""
    reader = csv.reader(io.StringIO(text))
    fields = _header(next(reader, None))
    rows = [(reader.line_num, cells) for cells in reader if any(cell.strip() for cell in cells)]
    if max_rows is not None and len(rows) > max_rows:
        raise ImportRefused(
            f"{len(rows)} rows, at most {max_rows} here: split the file, or use the command line or the API"
        )
    report = ImportReport(dry_run=dry_run)
    so_far = _SoFar()
    for first in range(0, len(rows), BATCH):
        with sessions() as session:
            # The preview's savepoint comes first: with pysqlite a row's own savepoint, outermost,
            # would commit when released.
            preview = session.begin_nested() if dry_run else None
            for line, cells in rows[first : first + BATCH]:
                report.rows.append(_row(session, line, fields, cells, so_far, who))
            if preview is not None:
                preview.rollback()
                session.rollback()
            else:
                session.commit()
    return report


@dataclass
class _SoFar:
    """What the file's earlier rows gave: accounts and numbers, by line."""

    accounts: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, tuple[int, str]] = field(default_factory=dict)  # number -> (line, account)


def _header(cells: list[str] | None) -> list[str]:
    if not cells:
        raise ImportRefused(f"the file is empty: its first line is the header, {HEADER}")
    names = [cell.strip().lower() if cell.strip().isascii() else cell.strip() for cell in cells]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise ImportRefused(f"unknown column {unknown[0]!r}: the columns are {HEADER}")
    fields = [COLUMNS[name] for name in names]
    for needed in ("account", "name"):
        if needed not in fields:
            raise ImportRefused(f"no {needed!r} column: the header is {HEADER}")
    repeated = [name for name, count in Counter(fields).items() if count > 1]
    if repeated:
        raise ImportRefused(f"the column {repeated[0]!r} is given twice")
    return fields


def _row(
    session: Session, line: int, fields: list[str], cells: list[str], so_far: _SoFar, who: str
) -> RowReport:
    # An empty cell, or a short row's missing cells, keeps what the account has.
    values = {name: cell.strip() or None for name, cell in zip(fields, cells, strict=False)}
    account = values.get("account") or ""
    if len(cells) > len(fields):
        return RowReport(line, account, REFUSED, f"{len(cells)} cells, but the header has {len(fields)}")
    if account in so_far.accounts:
        return RowReport(
            line, account, REFUSED, f"account {account} is also on line {so_far.accounts[account]}"
        )
    try:
        record = record_from(values)
    except RecordRefused as refused:
        return RowReport(line, account, REFUSED, str(refused))
    so_far.accounts[record.account] = line
    for number in record.numbers or ():
        earlier = so_far.numbers.get(number)
        if earlier is not None and earlier[1] != record.account:
            why = f"numbers: {number} is also on line {earlier[0]}, for account {earlier[1]}"
            return RowReport(line, record.account, REFUSED, why)
    outcome: Outcome = store_customer(session, record, who=who)
    if outcome.result != REFUSED:
        so_far.numbers.update((number, (line, record.account)) for number in record.numbers or ())
    return RowReport(line, outcome.account, outcome.result, outcome.why, outcome.changed)
