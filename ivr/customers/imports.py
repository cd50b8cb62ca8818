"""Customers from a CSV file, with a report per row: created, updated, unchanged or refused (and why).

Each row is stored through `store_customer`, all or nothing; a dry run does the same work and rolls all of
it back, so the preview is exactly what the import would do.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ivr.customers.records import RecordRefused, record_from
from ivr.customers.sync import REFUSED, Outcome, store_customer

MAX_ROWS = 10_000
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


def import_customers(session: Session, text: str, *, who: str, dry_run: bool = False) -> ImportReport:
    """Store every row of the CSV `text`; the caller commits (a dry run leaves nothing to commit)."""
    reader = csv.reader(io.StringIO(text))
    fields = _header(next(reader, None))
    report = ImportReport(dry_run=dry_run)
    preview = session.begin_nested() if dry_run else None
    seen: dict[str, int] = {}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if len(report.rows) >= MAX_ROWS:
            if preview is not None:
                preview.rollback()
            raise ImportRefused(f"more than {MAX_ROWS} rows: split the file, or use the batch API")
        report.rows.append(_row(session, reader.line_num, fields, cells, seen, who))
    if preview is not None:
        preview.rollback()
    return report


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
    session: Session, line: int, fields: list[str], cells: list[str], seen: dict[str, int], who: str
) -> RowReport:
    # An empty cell, or a short row's missing cells, keeps what the account has.
    values = {name: cell.strip() or None for name, cell in zip(fields, cells, strict=False)}
    account = values.get("account") or ""
    if len(cells) > len(fields):
        return RowReport(line, account, REFUSED, f"{len(cells)} cells, but the header has {len(fields)}")
    if account in seen:
        return RowReport(line, account, REFUSED, f"account {account} is also on line {seen[account]}")
    try:
        record = record_from(values)
    except RecordRefused as refused:
        return RowReport(line, account, REFUSED, str(refused))
    seen[record.account] = line
    outcome: Outcome = store_customer(session, record, who=who)
    return RowReport(line, outcome.account, outcome.result, outcome.why, outcome.changed)
