"""Work-order figures of the reports (pure: the standard library only).

Each deadline met on time, late or overdue; the on-time rate per deadline kind, class, desk and owner;
complaint closure; open and overdue work orders by age. The queries that gather the facts are
ivr/quality/work_order_report.py; the definitions are written out in docs/work-orders.md, "Reports"."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

COMPLAINT_CLASSES = ("service_complaint", "quality_complaint", "safety_complaint")
CLOSURE_TARGET = 1.0  # DOMAIN: complaint closure 100 %
ON_TIME, LATE, OVERDUE, PENDING = "on_time", "late", "overdue", "pending"
MET = "met"  # a timer's state once the stage that meets its deadline was reached
RUNNING = "running"  # a timer's state before (ivr/work_orders/timers.py)
# The deadline kinds in the order the work meets them (the deadline rules' kinds); others follow by name.
KIND_ORDER = ("handover", "on_site", "result", "answer", "follow_up")
# Open work orders by how long ago they were taken: (label, up to this age; None: no upper bound).
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("<4h", timedelta(hours=4)),
    ("4-24h", timedelta(hours=24)),
    ("1-3d", timedelta(days=3)),
    ("3-7d", timedelta(days=7)),
    (">7d", None),
)


@dataclass(frozen=True)
class DeadlineFact:
    """One deadline of a work order (a timer): its kind, the order's class, desk and owner, due and met."""

    work_order_id: int
    kind: str  # handover, on_site, result, answer, follow_up
    work_class: str
    desk: str
    owner: str
    due_at: datetime  # naive UTC
    done_at: datetime | None  # when the meeting stage was reached (None: not yet)
    state: str  # running, met, or another state (the deadline no longer applies)


@dataclass(frozen=True)
class OrderFact:
    """A work order as the reports see it at a moment: when taken, when closed (None: open then)."""

    work_order_id: int
    work_class: str
    created_at: datetime
    closed_at: datetime | None


def outcome(deadline: DeadlineFact, as_of: datetime) -> str | None:
    """on_time / late (met after its due time) / overdue (not met, due time passed) / pending (not met,
    still ahead), as things stood at `as_of`; None for a deadline that no longer applies."""
    done = deadline.done_at if deadline.done_at is not None and deadline.done_at <= as_of else None
    if done is not None and deadline.state == MET:
        return ON_TIME if done <= deadline.due_at else LATE
    if deadline.state not in (RUNNING, MET):
        return None
    return OVERDUE if deadline.due_at < as_of else PENDING


@dataclass
class OnTime:
    """Deadlines of one group: met on time, met late, overdue, still ahead."""

    key: str
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    pending: int = 0

    @property
    def decided(self) -> int:
        return self.on_time + self.late + self.overdue

    @property
    def rate(self) -> float | None:
        """On time ÷ (on time + late + overdue); None when no deadline was decided."""
        return self.on_time / self.decided if self.decided else None

    def add(self, result: str) -> None:
        setattr(self, result, getattr(self, result) + 1)


def on_time_by(
    deadlines: Iterable[DeadlineFact], as_of: datetime, key: Callable[[DeadlineFact], str]
) -> list[OnTime]:
    """The on-time figures per group (`key` of each deadline), groups in name order."""
    groups: dict[str, OnTime] = {}
    for deadline in deadlines:
        result = outcome(deadline, as_of)
        if result is not None:
            name = key(deadline)
            groups.setdefault(name, OnTime(name)).add(result)
    return [groups[name] for name in sorted(groups)]


@dataclass
class Closure:
    """Complaints of one class taken in the period: closed with every deadline kept, closed late, open."""

    key: str
    closed_on_time: int = 0
    closed_late: int = 0
    open: int = 0
    open_overdue: int = 0  # of the open ones, a deadline already passed

    @property
    def taken(self) -> int:
        return self.closed_on_time + self.closed_late + self.open

    @property
    def closure_rate(self) -> float | None:
        """Closed ÷ taken (target 100 %)."""
        return (self.closed_on_time + self.closed_late) / self.taken if self.taken else None

    @property
    def on_time_rate(self) -> float | None:
        """Closed with every deadline kept ÷ taken."""
        return self.closed_on_time / self.taken if self.taken else None


def complaint_closure(
    orders: Iterable[OrderFact], deadlines: Iterable[DeadlineFact], as_of: datetime
) -> list[Closure]:
    """Per complaint class and for all: closed on time, closed late (a deadline met late or left to pass),
    open (and overdue), as things stood at `as_of`."""
    missed: set[int] = set()
    for deadline in deadlines:
        if outcome(deadline, as_of) in (LATE, OVERDUE):
            missed.add(deadline.work_order_id)
    rows = {name: Closure(name) for name in COMPLAINT_CLASSES}
    total = Closure("all")
    for order in orders:
        if order.work_class not in rows:
            continue
        closed = order.closed_at is not None and order.closed_at <= as_of
        for row in (rows[order.work_class], total):
            if not closed:
                row.open += 1
                row.open_overdue += order.work_order_id in missed
            elif order.work_order_id in missed:
                row.closed_late += 1
            else:
                row.closed_on_time += 1
    return [*rows.values(), total]


@dataclass
class AgeBucket:
    """Open work orders of one age band at a moment, and how many of them are overdue."""

    label: str
    open: int = 0
    overdue: int = 0


def age_label(age: timedelta) -> str:
    """The age band an open work order falls in."""
    for label, bound in AGE_BUCKETS:
        if bound is None or age < bound:
            return label
    return AGE_BUCKETS[-1][0]


def by_age(open_orders: Sequence[tuple[datetime, bool]], as_of: datetime) -> list[AgeBucket]:
    """Open work orders (taken at, overdue?) counted per age band at `as_of`, youngest band first."""
    buckets = {label: AgeBucket(label) for label, _ in AGE_BUCKETS}
    for created_at, overdue in open_orders:
        bucket = buckets[age_label(as_of - created_at)]
        bucket.open += 1
        bucket.overdue += overdue
    return list(buckets.values())


@dataclass
class WorkOrderFigures:
    """The work-order part of a report: as of when, deadlines by kind/class/desk/owner, complaint
    closure, open work orders by age."""

    as_of: datetime
    by_kind: list[OnTime] = field(default_factory=list)
    by_class: list[OnTime] = field(default_factory=list)
    by_desk: list[OnTime] = field(default_factory=list)
    by_owner: list[OnTime] = field(default_factory=list)
    closure: list[Closure] = field(default_factory=list)
    ages: list[AgeBucket] = field(default_factory=list)

    @property
    def all_deadlines(self) -> OnTime:
        total = OnTime("all")
        for row in self.by_kind:
            total.on_time += row.on_time
            total.late += row.late
            total.overdue += row.overdue
            total.pending += row.pending
        return total

    @property
    def closure_total(self) -> Closure:
        return self.closure[-1] if self.closure else Closure("all")

    @property
    def open_orders(self) -> int:
        return sum(bucket.open for bucket in self.ages)

    @property
    def overdue_orders(self) -> int:
        return sum(bucket.overdue for bucket in self.ages)


def _kind_place(row: OnTime) -> tuple[int, str]:
    return (KIND_ORDER.index(row.key) if row.key in KIND_ORDER else len(KIND_ORDER), row.key)


def figures(
    deadlines: Sequence[DeadlineFact],
    complaints: Sequence[OrderFact],
    open_orders: Sequence[tuple[datetime, bool]],
    as_of: datetime,
) -> WorkOrderFigures:
    """Every work-order figure from the facts gathered for one period (or for now)."""
    return WorkOrderFigures(
        as_of=as_of,
        by_kind=sorted(on_time_by(deadlines, as_of, lambda d: d.kind), key=_kind_place),
        by_class=on_time_by(deadlines, as_of, lambda d: d.work_class),
        by_desk=on_time_by(deadlines, as_of, lambda d: d.desk),
        by_owner=on_time_by(deadlines, as_of, lambda d: d.owner),
        closure=complaint_closure(complaints, deadlines, as_of),
        ages=by_age(open_orders, as_of),
    )
