"""Database tables (SQLAlchemy 2, typed). Times are naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, Numeric, String, Text
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
    id: Mapped[int] = mapped_column(primary_key=True)
    account_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    customer_class: Mapped[str] = mapped_column(String(20), default="residential")
    balance: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")


class Agent(Base):
    """A front-line agent (seat); routing and states come with the routing issue."""

    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    client_identity: Mapped[str | None] = mapped_column(String(100), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    skills: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # skill -> proficiency 1-5
    languages: Mapped[list[Any]] = mapped_column(JSON, default=list)


class WorkOrder(Base):
    """A field job: fault repair, meter check, or a gas-leak emergency."""

    __tablename__ = "work_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(30))  # gas_leak, fault, meter_fault, installation
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, dispatched, completed
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
    # (ivr.services.events.call_inputs / call_path): the webhook appends, it never rewrites lists.
    intent: Mapped[str | None] = mapped_column(String(20), index=True)
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
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime)  # when the webhook arrived
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    replayed: Mapped[bool] = mapped_column(Boolean, default=False)  # written from the spool afterwards
