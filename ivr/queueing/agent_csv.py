"""A whole roster from CSV: one agent a row, created or updated, and a report of what each row did.

An agent is found by client identity, else phone. Each row is checked whole before anything of it is written,
and the report says what each row did or why it was refused.

Columns (a header row names them, in any order; only `name` and one of client_identity / phone are needed):
name, client_identity, phone, groups (a;b), skills (billing:5;general:4), languages (zh-CN;en-US),
wrap_up_seconds. A column left out of the header leaves that field of an updated agent as it is.
The caller commits the session, or rolls it back for a dry run: the report is the same either way.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ivr.queueing.agent_roster import (
    FIELDS,
    InvalidAgent,
    add_agent,
    edit_agent,
    find_agent,
    snapshot,
)
from routing.model import Rules

MAX_BYTES = 1_000_000  # a roster of thousands of agents is well under this
MAX_ROWS = 5_000
LIST_SEPARATOR = ";"


class RosterFileRefused(ValueError):
    """A file that cannot be read as a roster at all (no header, unknown columns, too big); says why."""


@dataclass(frozen=True)
class RowResult:
    """What one row did: created, updated, unchanged, or refused with the problems."""

    line: int  # the line of the file (the header is line 1)
    name: str
    outcome: str
    agent_id: int | None = None
    problems: tuple[str, ...] = ()


@dataclass
class ImportReport:
    """Every row's result, in file order."""

    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        """How many rows had this outcome."""
        return sum(row.outcome == outcome for row in self.rows)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (API, CLI)."""
        return {
            "dry_run": self.dry_run,
            "counts": {name: self.count(name) for name in ("created", "updated", "unchanged", "refused")},
            "rows": [
                {
                    "line": row.line,
                    "name": row.name,
                    "outcome": row.outcome,
                    "agent_id": None if self.dry_run else row.agent_id,
                    "problems": list(row.problems),
                }
                for row in self.rows
            ],
        }


def import_roster(
    session: Session,
    *,
    text: str,
    rules: Rules,
    by: str,
    dry_run: bool = False,
    languages: Collection[str] | None = None,
) -> ImportReport:
    """Create or update one agent per row; a refused row writes nothing. The caller commits (or, for a dry
    run, rolls back)."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise RosterFileRefused(f"文件太大 / the file is too large: at most {MAX_BYTES // 1000} kB")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel starts UTF-8 with a BOM
    columns = _columns(reader.fieldnames)
    report = ImportReport(dry_run=dry_run)
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise RosterFileRefused(f"行数太多 / too many rows: at most {MAX_ROWS}")
        if not any((value or "").strip() for value in raw.values() if isinstance(value, str)):
            continue  # a blank line
        result = _import_row(session, number, raw, columns, rules=rules, by=by, languages=languages)
        report.rows.append(result)
    return report


def _columns(names: Sequence[str] | None) -> list[str]:
    if not names:
        raise RosterFileRefused("文件是空的 / the file is empty: the first line names the columns")
    columns = [name.strip().lower() for name in names]
    unknown = [name for name in columns if name not in FIELDS]
    if unknown:
        raise RosterFileRefused(
            f"未知的列 / unknown columns: {', '.join(unknown)}; the columns are {', '.join(FIELDS)}"
        )
    if len(set(columns)) != len(columns):
        raise RosterFileRefused("有重复的列 / a column is named twice")
    if "name" not in columns or not {"client_identity", "phone"} & set(columns):
        raise RosterFileRefused(
            "需要 name 列及 client_identity 或 phone 列 / "
            "the columns name and client_identity or phone are needed"
        )
    return columns


def _import_row(
    session: Session,
    line: int,
    raw: dict[str | Any, Any],
    columns: list[str],
    *,
    rules: Rules,
    by: str,
    languages: Collection[str] | None,
) -> RowResult:
    pairs = zip(raw, columns, strict=False)  # the header's names as read, and as the roster calls them
    cells = {column: (raw.get(original) or "").strip() for original, column in pairs}
    name = cells.get("name", "")
    if None in raw:  # csv puts the cells beyond the header under the key None
        return RowResult(line, name, "refused", problems=("行的列数多于表头 / more cells than columns",))
    values, problems = _values(cells)
    if problems:
        return RowResult(line, name, "refused", problems=tuple(problems))
    existing = find_agent(session, client_identity=values.get("client_identity"), phone=values.get("phone"))
    try:
        if existing is None:
            agent = add_agent(session, values=values, rules=rules, by=by, languages=languages)
            return RowResult(line, name, "created", agent.id)
        before = snapshot(existing)
        agent = edit_agent(
            session,
            agent_id=existing.id,
            values=values,
            rules=rules,
            by=by,
            partial=True,
            languages=languages,
        )
        return RowResult(line, name, "updated" if snapshot(agent) != before else "unchanged", agent.id)
    except InvalidAgent as invalid:
        return RowResult(line, name, "refused", problems=tuple(str(problem) for problem in invalid.problems))


def _values(cells: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """A row's cells as the roster's fields; problems for the cells that cannot be read."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for column, cell in cells.items():
        if column in ("groups", "languages"):
            values[column] = split_list(cell)
        elif column == "skills":
            try:
                values[column] = parse_skills(cell)
            except ValueError as bad:
                problems.append(f"skills: {bad}")
        elif column == "wrap_up_seconds":
            if cell and not cell.isdigit():
                problems.append(f"wrap_up_seconds: {cell!r} 不是整秒数 / is not a whole number of seconds")
            else:
                values[column] = int(cell) if cell else None
        else:
            values[column] = cell
    return values, problems


def split_list(cell: str) -> list[str]:
    """'billing; general' -> ['billing', 'general']."""
    return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]


def parse_skills(cell: str) -> dict[str, int]:
    """'billing:5;general:4' -> {'billing': 5, 'general': 4}; ValueError naming the part it cannot read."""
    skills: dict[str, int] = {}
    for part in split_list(cell):
        skill, colon, level = (piece.strip() for piece in part.partition(":"))
        if not colon or not skill or not level.isdigit():
            raise ValueError(f"{part!r} 应为 技能:等级 / should be skill:level, e.g. billing:5")
        skills[skill] = int(level)
    return skills


def format_skills(skills: dict[str, Any]) -> str:
    """{'billing': 5} -> 'billing:5' (the form's and the CSV's way of writing skills)."""
    return LIST_SEPARATOR.join(f"{skill}:{level}" for skill, level in sorted(skills.items()))
