"""Service completions: checked one by one, stored once per source and external id, made from answered calls.

The API and CSV share the checking rules; completions are also made from answered hotline calls. Formats and
rules: docs/callbacks.md."""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Agent, Call, QueueEntry, ServiceCompletion
from ivr.surveys.policy import HOTLINE_CALL
from ivr.telephony.phones import normalise_phone

FIELD, HOTLINE = "field", "hotline"
LANGUAGES = ("zh-CN", "en-US")
FIELDS = (
    "external_id",
    "service_type",
    "completed_at",
    "customer_phone",
    "customer_language",
    "employee",
    "amount_charged",
)
REQUIRED = FIELDS[:-1]  # amount_charged may be left out (or empty): nothing was charged
MAX_AMOUNT = Decimal("9999999999.99")  # Numeric(12, 2)
CLOCK_SKEW = timedelta(minutes=5)  # a completion "in the future" by more than this is refused


class InvalidCompletion(ValueError):
    """A completion that cannot be stored; `problems` says each thing wrong with it."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class NewCompletion:
    """A checked field completion, ready to store."""

    external_id: str
    service_type: str
    completed_at: datetime  # naive UTC
    customer_phone: str  # E.164
    customer_language: str
    employee: str
    amount_charged: Decimal


def _text(item: Mapping[str, Any], name: str, limit: int, problems: list[str]) -> str:
    value = item.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append(f"{name}: missing")
        return ""
    if not isinstance(value, str):
        problems.append(f"{name}: must be text (got {value!r})")
        return ""
    if len(value.strip()) > limit:
        problems.append(f"{name}: longer than {limit} characters")
    return value.strip()


def _completed_at(text: str, now: datetime, problems: list[str]) -> datetime:
    example = "e.g. 2026-03-04T15:30:00+08:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"completed_at: {text!r} is not an ISO 8601 date and time ({example})")
        return now
    if when.tzinfo is None:
        problems.append(f"completed_at: {text!r} has no UTC offset; add one ({example}, or Z for UTC)")
        return now
    utc = when.astimezone(UTC).replace(tzinfo=None)
    if utc > now + CLOCK_SKEW:
        problems.append(f"completed_at: {text!r} is in the future")
    return utc


def _amount(value: Any, problems: list[str]) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        return Decimal("0")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.append(f"amount_charged: must be a number (got {value!r})")
        return Decimal("0")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        problems.append(f"amount_charged: {value!r} is not a number")
        return Decimal("0")
    if not amount.is_finite():
        problems.append(f"amount_charged: {value!r} is not a number")
    elif amount < 0:
        problems.append(f"amount_charged: {value} is negative")
    elif amount > MAX_AMOUNT:
        problems.append(f"amount_charged: {value} is too large")
    elif amount != amount.quantize(Decimal("0.01")):
        problems.append(f"amount_charged: {value} has more than 2 decimal places")
    return amount


def parse_completion(item: Any, service_types: Collection[str], now: datetime) -> NewCompletion:
    """Check one field completion (a JSON object or a CSV row); InvalidCompletion naming every problem.
    `service_types` are the live policy's; `now` is naive UTC."""
    if not isinstance(item, Mapping):
        raise InvalidCompletion([f"must be an object with {', '.join(REQUIRED)} (got {type(item).__name__})"])
    problems: list[str] = []
    unknown = sorted(str(key) for key in item if key not in FIELDS)
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    external_id = _text(item, "external_id", 100, problems)
    service_type = _text(item, "service_type", 50, problems)
    if service_type == HOTLINE_CALL:
        problems.append(
            f"service_type: {HOTLINE_CALL!r} completions come from the hotline's own call records"
        )
    elif service_type and service_type not in service_types:
        known = ", ".join(sorted(set(service_types) - {HOTLINE_CALL}))
        problems.append(f"service_type: unknown {service_type!r} (known: {known})")
    completed_text = _text(item, "completed_at", 40, problems)
    completed_at = _completed_at(completed_text, now, problems) if completed_text else now
    raw_phone = _text(item, "customer_phone", 40, problems)
    phone = normalise_phone(raw_phone)
    if raw_phone and phone is None:
        problems.append(
            f"customer_phone: {raw_phone!r} cannot be called back "
            "(give E.164, e.g. +8613800000001, or an 11-digit mainland mobile number)"
        )
    language = _text(item, "customer_language", 10, problems)
    if language and language not in LANGUAGES:
        problems.append(f"customer_language: {language!r} is not one of {', '.join(LANGUAGES)}")
    employee = _text(item, "employee", 100, problems)
    amount = _amount(item.get("amount_charged"), problems)
    if problems:
        raise InvalidCompletion(problems)
    return NewCompletion(external_id, service_type, completed_at, phone or "", language, employee, amount)


def existing_external_ids(session: Session, source: str, external_ids: Iterable[str]) -> set[str]:
    """Which of these external ids are already stored for the source."""
    wanted, found = sorted(set(external_ids)), set[str]()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.scalars(
                select(ServiceCompletion.external_id).where(
                    ServiceCompletion.source == source, ServiceCompletion.external_id.in_(chunk)
                )
            )
        )
    return found


@dataclass
class Stored:
    """What a batch did: completions stored, and the external ids skipped as already known."""

    stored: list[ServiceCompletion] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def store_completions(session: Session, items: Sequence[NewCompletion], source: str = FIELD) -> Stored:
    """Add the completions not yet known (same source and external id: a duplicate, skipped, also within
    the batch). Flushes; the caller commits."""
    known = existing_external_ids(session, source, (item.external_id for item in items))
    result = Stored()
    for item in items:
        if item.external_id in known:
            result.duplicates.append(item.external_id)
            continue
        known.add(item.external_id)
        row = ServiceCompletion(
            source=source,
            external_id=item.external_id,
            service_type=item.service_type,
            completed_at=item.completed_at,
            customer_phone=item.customer_phone,
            customer_language=item.customer_language,
            employee=item.employee,
            amount_charged=item.amount_charged,
        )
        session.add(row)
        result.stored.append(row)
    session.flush()
    return result


def record_hotline_completions(session: Session) -> int:
    """Make a `hotline_call` completion of every answered agent call that ended and has none yet
    (idempotent: the CallSid is the external id). The agent is the queue entry's. Returns how many."""
    rows = session.execute(
        select(Call, Agent)
        .join(QueueEntry, QueueEntry.call_sid == Call.call_sid)
        .join(Agent, Agent.id == QueueEntry.agent_id)
        .where(Call.outcome == "answered", Call.ended_at.is_not(None))
        .where(
            ~select(ServiceCompletion.id)
            .where(ServiceCompletion.source == HOTLINE, ServiceCompletion.external_id == Call.call_sid)
            .exists()
        )
        .order_by(Call.id)
    ).all()
    for call, agent in rows:
        assert call.ended_at is not None
        session.add(
            ServiceCompletion(
                source=HOTLINE,
                external_id=call.call_sid,
                service_type=HOTLINE_CALL,
                completed_at=call.ended_at,
                # An anonymous or malformed caller number is kept as given; the selection excludes it.
                customer_phone=normalise_phone(call.from_number) or call.from_number[:40],
                customer_language=call.language,
                employee=f"{agent.name} #{agent.id}"[:100],
                agent_id=agent.id,
                amount_charged=Decimal("0"),
                call_sid=call.call_sid,
            )
        )
    session.flush()
    return len(rows)


# --- CSV import (python run.py callbacks import FILE) ---


EXTRA = "__extra__"  # the cells of a row beyond the header's columns


class BadCsv(ValueError):
    """A CSV file that cannot be imported at all (unreadable, or a header without the needed columns)."""


@dataclass(frozen=True)
class Row:
    """One CSV data row: its line number in the file (the header is line 1) and its cells."""

    line: int
    cells: dict[str, str]


def read_csv(path: Path) -> tuple[list[str], list[Row]]:
    """The header and the data rows of a UTF-8 CSV file (a BOM is allowed); BadCsv when unusable."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            reader.fieldnames = header
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise BadCsv(f"{path}: the header lacks the column(s) {', '.join(missing)}")
            rows = []
            for cells in reader:
                extra = cells.pop(None, None)
                row_cells = {key: value or "" for key, value in cells.items()}
                if extra:
                    row_cells[EXTRA] = ",".join(extra)
                rows.append(Row(reader.line_num, row_cells))
    except (UnicodeDecodeError, csv.Error) as error:
        raise BadCsv(f"{path}: cannot be read as a UTF-8 CSV file ({error})") from None
    return header, rows


@dataclass
class ImportReport:
    """What an import did, row by row."""

    imported: int = 0
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line, external id)
    rejected: list[tuple[Row, list[str]]] = field(default_factory=list)


def import_rows(
    session: Session, rows: Iterable[Row], service_types: Collection[str], now: datetime
) -> ImportReport:
    """Store every valid row (the rest are reported and not stored); the caller commits."""
    report, valid = ImportReport(), []
    for row in rows:
        try:
            if row.cells.get(EXTRA):
                raise InvalidCompletion([f"more cells than header columns ({row.cells[EXTRA]!r})"])
            cells = {name: row.cells[name] for name in FIELDS if name in row.cells}  # other columns ignored
            valid.append((row.line, parse_completion(cells, service_types, now)))
        except InvalidCompletion as invalid:
            report.rejected.append((row, invalid.problems))
    stored = store_completions(session, [item for _, item in valid])
    new_ids = {completion.external_id for completion in stored.stored}
    for line, item in valid:  # the first row of a new external id was stored; any other is a duplicate
        if item.external_id in new_ids:
            new_ids.discard(item.external_id)
        else:
            report.duplicates.append((line, item.external_id))
    report.imported = len(stored.stored)
    return report


def write_rejected(path: Path, header: Sequence[str], rejected: Sequence[tuple[Row, list[str]]]) -> None:
    """The rejected rows, as given, with their line number and the reasons: fix them and import again."""
    columns = ["line", "reason", *header]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row, problems in rejected:
            writer.writerow({**row.cells, "line": row.line, "reason": "; ".join(problems)})
