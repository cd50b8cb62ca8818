"""Database tables (SQLAlchemy 2, typed). Times are naive UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Now, in naive UTC (what every DateTime column holds)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Base of every table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class MenuVersion(Base):
    """One published menu document; versions are never changed, only added."""

    __tablename__ = "menu_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    schema_version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    checksum: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    note: Mapped[str] = mapped_column(Text, default="")


class Customer(Base):
    """A customer account of the utility."""

    __tablename__ = "customers"
    # A name is searched by its beginning (ivr/work_orders/search.py): pattern ops for PostgreSQL's LIKE.
    __table_args__ = (Index("ix_customers_name", "name", postgresql_ops={"name": "varchar_pattern_ops"}),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    customer_class: Mapped[str] = mapped_column(String(20), default="residential")
    balance: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    last_called_back_on: Mapped[date | None] = mapped_column(Date)  # the last satisfaction call-back answered
    # The last 4 characters of the ID number on the account (0-9 or X): the second factor a caller keys
    # before hearing the figures of an account whose phone is not theirs. None: only that phone hears them.
    id_number_last4: Mapped[str | None] = mapped_column(String(4))

    @classmethod
    def with_number(cls, phone: Any) -> ColumnElement[bool]:
        """The customer who has `phone` (a value or bind parameter) among their numbers: one index lookup."""
        owner = select(CustomerNumber.customer_id).where(CustomerNumber.phone == phone).scalar_subquery()
        return cls.id == owner


class CustomerNumber(Base):
    """A number a customer calls from; a number belongs to one customer. `customers.phone` is the first."""

    __tablename__ = "customer_numbers"
    __table_args__ = (Index("ux_customer_numbers_phone", "phone", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)  # 0 is the main number (customers.phone)


class Agent(Base):
    """A front-line agent (seat): how Twilio reaches them, skills, languages, and their current state."""

    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    client_identity: Mapped[str | None] = mapped_column(String(100), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    skills: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # skill -> proficiency 1-5
    languages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    groups: Mapped[list[Any]] = mapped_column(JSON, default=list)  # agent groups (for hours and wrap-up)
    # available, ringing, on_call, wrap_up, break, offline; every change is also kept in agent_state_changes
    state: Mapped[str] = mapped_column(String(20), default="offline", index=True)
    state_reason: Mapped[str] = mapped_column(String(100), default="")
    state_since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    idle_since: Mapped[datetime | None] = mapped_column(DateTime)  # last became available
    wrap_up_until: Mapped[datetime | None] = mapped_column(DateTime)
    call_sid: Mapped[str | None] = mapped_column(String(64))  # the caller they are ringing for or talking to
    misses: Mapped[int] = mapped_column(Integer, default=0)  # unanswered offers in a row
    # Out of service (ivr/people/agent_roster.py): offline, never offered a call, cannot become available.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    wrap_up_seconds: Mapped[int | None] = mapped_column(Integer)  # overrides the group's wrap-up when set


class AgentStateChange(Base):
    """One change of an agent's state, appended, never altered."""

    __tablename__ = "agent_state_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(100), default="")
    previous: Mapped[str] = mapped_column(String(20), default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(100), default="system")  # a username, or "system"
    call_sid: Mapped[str | None] = mapped_column(String(64))


class CallDisposition(Base):
    """What an agent recorded about a call (ivr/queueing/dispositions.py): one per call and agent, kept."""

    __tablename__ = "call_dispositions"
    __table_args__ = (
        UniqueConstraint("call_sid", "agent_id", name="uq_call_dispositions_call_sid_agent_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", name="fk_call_dispositions_agent_id")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", name="fk_call_dispositions_user_id"))
    work_class: Mapped[str] = mapped_column(String(30))  # a work-order class (lifecycle.WORK_CLASSES)
    outcome: Mapped[str] = mapped_column(String(20))  # answered, opened, attached, transferred, no_action
    work_order_number: Mapped[str | None] = mapped_column(String(20))  # opened or attached to
    notes: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    """Someone who logs in: admin, supervisor, shift_lead, quality or agent."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), unique=True)
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # sha256 of the bearer token
    api_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    api_token_revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Part of every login cookie's user id: raised at logout and deactivation, so older cookies stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PasswordLink(Base):
    """A one-time link to set a user's password (their first, or a reset): kept as sha256 only; works once."""

    __tablename__ = "password_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)  # also set when a newer link replaces it


class WorkOrder(Base):
    """A case: a request that needs work after the call, from opening to the customer's answer."""

    __tablename__ = "work_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(30))  # gas_leak, fault, meter_fault, installation
    # open, dispatched, completed: the menu's coarse reading, kept in step with `stage` (cases.py)
    status: Mapped[str] = mapped_column(String(20), default="open")
    work_class: Mapped[str] = mapped_column(String(30), default="enquiry", server_default="enquiry")
    stage: Mapped[str] = mapped_column(String(20), default="opened", server_default="opened")
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", name="fk_work_orders_owner_user_id")
    )
    desk: Mapped[str | None] = mapped_column(String(30))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    caller_number: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # idempotence under retries
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    promised_by: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The earliest running deadline's due and warning times (NULL when none runs), and how far the order
    # has escalated: "" / warned / escalated / supervisor (ivr/work_orders/timers.py keeps them in step).
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    warn_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalation: Mapped[str] = mapped_column(String(20), default="", server_default="")
    __table_args__ = (
        Index("ix_work_orders_caller_number", "caller_number"),
        Index("ix_work_orders_customer_id", "customer_id"),
        Index("ix_work_orders_desk_due_at", "desk", "due_at"),
        Index("ix_work_orders_warn_at", "warn_at"),  # the live board: orders whose warning time has come
        Index("ix_work_orders_created_at", "created_at"),  # the export: a range of days, oldest first
        # The desks' queues: the open orders only, in the queue's order (migration 0019).
        Index(
            "ix_work_orders_open_queue",
            "desk",
            "due_at",
            "id",
            sqlite_where=text("stage != 'closed'"),
            postgresql_where=text("stage != 'closed'"),
        ),
    )


class WorkOrderTimer(Base):
    """One deadline of a work order, durable: its times, state and the escalation steps already fired."""

    __tablename__ = "work_order_timers"
    __table_args__ = (
        Index("ix_work_order_timers_next_fire_at", "next_fire_at"),
        Index("ix_work_order_timers_work_order_id", "work_order_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    kind: Mapped[str] = mapped_column(String(20))  # handover, on_site, result, answer, follow_up
    started_at: Mapped[datetime] = mapped_column(DateTime)
    warn_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    supervisor_at: Mapped[datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(20), default="running")  # running, met, stopped
    step: Mapped[str] = mapped_column(String(20), default="")  # last fired: warned, escalated, supervisor
    next_fire_at: Mapped[datetime | None] = mapped_column(DateTime)  # when the sweep looks next; NULL: never
    warned_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    supervisor_told_at: Mapped[datetime | None] = mapped_column(DateTime)
    duty_call_owed: Mapped[bool] = mapped_column(Boolean, default=False)  # a safety class, once escalated
    duty_call_sid: Mapped[str | None] = mapped_column(String(64))
    duty_call_attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)  # met or stopped


class WorkOrderEvent(Base):
    """One change of a work order (who, when, from what stage to what, why): appended, never updated."""

    __tablename__ = "work_order_events"
    __table_args__ = (Index("ix_work_order_events_work_order_id", "work_order_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(100))  # the user's name, or "system", "menu", "api:<user>"
    kind: Mapped[str] = mapped_column(String(30))  # opened, moved, handed_over, note, field_result, ...
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Call(Base):
    """The record of one call, projected from its events."""

    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(40), default="", index=True)
    to_number: Mapped[str] = mapped_column(String(40), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    menu_version: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    # The keys and phrases given, and the nodes visited, are read from the call's events
    # (ivr.events.store.call_inputs / call_path): the webhook appends, it never rewrites lists.
    intent: Mapped[str | None] = mapped_column(String(20))  # no index: 5 values, always with a date range
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int | None] = mapped_column(Integer)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    complaint_class: Mapped[str | None] = mapped_column(String(20))
    reply_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(20))  # Twilio's final CallStatus
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    queue_seconds: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class CallEvent(Base):
    """One webhook of a call, appended once (its key makes Twilio's retries harmless)."""

    __tablename__ = "call_events"
    # One index serves both needs: a retried webhook's key is found already there (unique), and a
    # call's events are found by its CallSid (the leading column). Two indexes cost every webhook one
    # more B-tree write (migration 0008).
    __table_args__ = (Index("uq_call_events_call_sid_key", "call_sid", "key", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    call_sid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime)  # when the webhook arrived
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    replayed: Mapped[bool] = mapped_column(Boolean, default=False)  # written from the spool afterwards


class RulesVersion(Base):
    """One published routing rules document (filters, steps, calendars); never changed, only added."""

    __tablename__ = "routing_rules_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    checksum: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    note: Mapped[str] = mapped_column(Text, default="")


class DeadlineRulesVersion(Base):
    """One saved deadline rules document; never changed, only added; the newest is live."""

    __tablename__ = "deadline_rules_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text, default="")  # the TOML text as the supervisor wrote it
    checksum: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    note: Mapped[str] = mapped_column(Text, default="")


OWED_CALLBACK = "callback_number IS NOT NULL AND status IN ('callback', 'offered')"


class QueueEntry(Base):
    """A caller (or a call-back) waiting for an agent; the dispatcher claims it by a conditional update."""

    __tablename__ = "queue_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)  # one entry per call, reused on requeue
    queue: Mapped[str] = mapped_column(String(64))
    intent: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(10))
    priority: Mapped[int] = mapped_column(Integer, default=5)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_class: Mapped[str | None] = mapped_column(String(20))
    caller: Mapped[str] = mapped_column(String(40), default="")
    # waiting, offered (an agent is ringing), connected, callback (waiting for its turn, caller hung up),
    # done, abandoned
    status: Mapped[str] = mapped_column(String(20), default="waiting", index=True)
    waiting_since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # kept across requeues
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # agents offered so far
    callback_number: Mapped[str | None] = mapped_column(String(40))
    callback_call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)  # the outbound call placed
    callback_offered: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_after: Mapped[datetime | None] = mapped_column(DateTime)  # not before (e.g. next opening)
    filter: Mapped[str] = mapped_column(String(100), default="")  # where the router last placed it
    step: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A `joined` entry: a later call-back request of a number already owed one, the owed entry's id (no
    # foreign key: retention removes old entries one by one, in any order).
    joined_entry_id: Mapped[int | None] = mapped_column(Integer)
    # A number owed a call-back (waiting for its turn, or being placed) is owed one (migration 0011).
    __table_args__ = (
        Index(
            "uq_queue_entries_owed_callback",
            "callback_number",
            unique=True,
            sqlite_where=text(OWED_CALLBACK),
            postgresql_where=text(OWED_CALLBACK),
        ),
    )


class RoutingDecision(Base):
    """Why a caller went where they went: inputs, rules version, filter, step and reason. Append-only."""

    __tablename__ = "routing_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    rules_version: Mapped[int] = mapped_column(Integer)
    filter: Mapped[str] = mapped_column(String(100))
    step: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)  # the call and the candidate agents considered
    outcome: Mapped[str] = mapped_column(String(20), default="claimed")  # claimed, lost-race, failed
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Recording(Base):
    """A call recording (agent calls, both channels). Append-only: removed only by the retention job."""

    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str | None] = mapped_column(String(64), unique=True)  # None when absent
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    url: Mapped[str] = mapped_column(String(500), default="")
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # completed, failed, absent
    error: Mapped[str] = mapped_column(String(300), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)  # of the agent call
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PlaybackLog(Base):
    """Who listened to which recording, when. Append-only."""

    __tablename__ = "playback_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    # None once retention removed the recording: the access record outlives it (call_sid says whose it was).
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recordings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    call_sid: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ProviderRecordingDeletion(Base):
    """A recording whose copy at Twilio was deleted (IVR_DELETE_TWILIO_RECORDINGS). Append-only."""

    __tablename__ = "provider_recording_deletions"
    recording_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    local_bytes: Mapped[int | None] = mapped_column(Integer)  # the verified local copy; None: none was kept
    reason: Mapped[str] = mapped_column(String(30))  # local-copy-verified, retention
    deleted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditSample(Base):
    """One day's audit sample of recorded calls: drawn once (unique day), reproducible by its seed."""

    __tablename__ = "audit_samples"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)  # the local day whose calls were sampled
    seed: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[float] = mapped_column(Float)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # filters and over-sampling used
    recorded_calls: Mapped[int] = mapped_column(Integer)
    sampled_calls: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="scheduler")


class AuditItem(Base):
    """One sampled call to review."""

    __tablename__ = "audit_items"
    __table_args__ = (UniqueConstraint("sample_id", "recording_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("audit_samples.id"), index=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"))
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, done


class ScorecardVersion(Base):
    """A quality scorecard: sections, questions, weights, N/A, automatic fails. Versions only added."""

    __tablename__ = "scorecard_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")


class Review(Base):
    """A reviewer's score of one audit item; submitted once, then final."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("audit_items.id"), unique=True)
    scorecard_version: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)  # question id -> score, "na", or pass/fail
    score: Mapped[float] = mapped_column(Float)  # 0-100 from the weights
    auto_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    findings: Mapped[str] = mapped_column(Text, default="")
    correction: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- Satisfaction call-backs (docs/callbacks.md) ---


class ServiceCompletion(Base):
    """A completed service whose customer may be called back: an answered hotline call or a field job."""

    __tablename__ = "service_completions"
    __table_args__ = (UniqueConstraint("source", "external_id"),)  # a re-sent completion is a duplicate
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # hotline, field
    external_id: Mapped[str] = mapped_column(String(100))  # the sender's id (the CallSid for hotline)
    service_type: Mapped[str] = mapped_column(String(50), index=True)  # a key of the sampling policy
    completed_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    customer_phone: Mapped[str] = mapped_column(String(40), default="")  # E.164 when usable, else as given
    customer_language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    employee: Mapped[str] = mapped_column(String(100))  # who did the work: a name or the sender's id
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # hotline calls: the agent
    amount_charged: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    call_sid: Mapped[str | None] = mapped_column(String(64))  # hotline calls: the call
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DoNotCall(Base):
    """A number never called back."""

    __tablename__ = "do_not_call"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(40), unique=True)  # E.164
    reason: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SamplingPolicyVersion(Base):
    """A published call-back sampling policy (shares per service type, ...); versions only added."""

    __tablename__ = "sampling_policy_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CallbackCandidate(Base):
    """One completion's place in its month's call-back selection: selected, or excluded with the reason."""

    __tablename__ = "callback_candidates"
    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("service_completions.id"), unique=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM, local time
    selected: Mapped[bool] = mapped_column(Boolean)
    exclusion_reason: Mapped[str | None] = mapped_column(String(50))  # None when selected
    policy_version: Mapped[int] = mapped_column(Integer)
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("callback_draws.id"))  # the draw that decided it
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CallbackJob(Base):
    """The plan of one selected completion's call-back: when it may be placed, its tries, its outcome."""

    __tablename__ = "callback_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("callback_candidates.id"), unique=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("service_completions.id"), unique=True)
    phone: Mapped[str] = mapped_column(String(40), index=True)  # E.164; the customer page looks them up by it
    language: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # the next try, not before
    latest_at: Mapped[datetime] = mapped_column(DateTime)  # no try at or after (end of day 5's window)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # calls placed (a CallSid was returned)
    # queued, dialling, completed, partial, refused, unreachable, expired
    status: Mapped[str] = mapped_column(String(20), index=True, default="queued")
    last_outcome: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)  # when a dispatcher took it to dial
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)  # when the final status was set
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CallbackAttempt(Base):
    """One placed call-back call: its CallSid, and how it ended (from the status webhook)."""

    __tablename__ = "callback_attempts"
    __table_args__ = (UniqueConstraint("job_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("callback_jobs.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    placed_at: Mapped[datetime] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(30))  # None while the call is under way
    answered_by: Mapped[str | None] = mapped_column(String(30))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class CallbackDraw(Base):
    """One run of the daily call-back draw: which completions it decided, with which seed and policy."""

    __tablename__ = "callback_draws"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM, local time
    through: Mapped[datetime] = mapped_column(DateTime)  # decided completions completed before this (UTC)
    seed: Mapped[int] = mapped_column(BigInteger)
    policy_version: Mapped[int] = mapped_column(Integer)
    decided: Mapped[int] = mapped_column(Integer, default=0)
    selected: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SurveyResponse(Base):
    """What a customer answered on a satisfaction call-back (one per job: the try a person answered).
    Written answer by answer, so a hang-up midway keeps what was given."""

    __tablename__ = "survey_responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("callback_jobs.id"), unique=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("service_completions.id"), index=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str] = mapped_column(String(40), index=True)  # E.164: the customer "marked" as called back
    language: Mapped[str] = mapped_column(String(10))
    called_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # the call-back date
    attitude: Mapped[int | None] = mapped_column(Integer)  # 1-10
    ability: Mapped[int | None] = mapped_column(Integer)  # 1-10
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    charged: Mapped[bool | None] = mapped_column(Boolean)
    refused: Mapped[bool] = mapped_column(Boolean, default=False)  # declined at the introduction
    comment_recording_sid: Mapped[str | None] = mapped_column(String(64))
    comment_recording_url: Mapped[str | None] = mapped_column(String(500))
    comment_seconds: Mapped[int | None] = mapped_column(Integer)
    invalid_answers: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)  # the call ended (status callback)


class FollowUpCase(Base):
    """A low score (6 or lower) for a supervisor to follow up, with the customer's comment recording."""

    __tablename__ = "follow_up_cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(200))  # e.g. "attitude 4"
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open, closed
    note: Mapped[str] = mapped_column(Text, default="")
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ConfigDraft(Base):
    """The one working draft of a document a supervisor edits (menu or routing rules) before publishing."""

    __tablename__ = "config_drafts"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # menu, rules
    base_version: Mapped[int] = mapped_column(Integer)  # the published version it started from
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ChangeLog(Base):
    """Every change made from the console: who, when, what, before and after. Appended, never altered."""

    __tablename__ = "change_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    who: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30), index=True)  # menu, rules, announcement, storm, agent
    action: Mapped[str] = mapped_column(String(30))  # e.g. edit_draft, publish, rollback, create, end, move
    subject: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)


class Announcement(Base):
    """A message played after the greeting, before the menu, between its start and end, to its target."""

    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(primary_key=True)
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)  # language -> text
    starts_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # {} or {"numbers": [...], "districts": [...]}: empty means every caller
    target: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)  # ended early by hand


class Switch(Base):
    """A console switch (storm mode): its value and who set it."""

    __tablename__ = "switches"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    on: Mapped[bool] = mapped_column(Boolean, default=False)
    set_by: Mapped[str] = mapped_column(String(100), default="system")
    set_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WorkOrderOutbox(Base):
    """One work-order event owed to the utility's webhook receiver (ivr/work_orders/outbox.py).

    Written in the transaction of the change it tells of; sent at least once, in order per work order.
    """

    __tablename__ = "work_order_outbox"
    __table_args__ = (Index("ix_work_order_outbox_undelivered", "delivered_at", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)  # the receiver deduplicates on it
    work_order_number: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    body: Mapped[str] = mapped_column(Text)  # the exact JSON bytes sent and signed, the same on every retry
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)  # a sender holds it until then


class WallboardThreshold(Base):
    """The limits that colour the wallboard's figures, for every queue ("*") or one queue (its empty columns
    take the "*" row's value). Waiting and longest wait turn amber or red at or above; service level (whole
    percent) below."""

    __tablename__ = "wallboard_thresholds"
    scope: Mapped[str] = mapped_column(String(50), primary_key=True)  # "*" or a queue's name
    waiting_amber: Mapped[int | None] = mapped_column(Integer)
    waiting_red: Mapped[int | None] = mapped_column(Integer)
    longest_wait_amber: Mapped[int | None] = mapped_column(Integer)  # seconds
    longest_wait_red: Mapped[int | None] = mapped_column(Integer)
    service_level_amber: Mapped[int | None] = mapped_column(Integer)  # percent
    service_level_red: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
