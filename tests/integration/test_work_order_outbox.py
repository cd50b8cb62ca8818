"""Work-order webhooks from the outbox, to a real HTTP receiver that is down, then back: none lost, none
reordered per work order, none sent twice at once by two senders, each verifiable by its signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from ivr.config import Settings
from ivr.db.models import WorkOrderOutbox, utcnow
from ivr.hotline import Hotline
from ivr.jobs import tasks
from ivr.jobs.scheduler import build_scheduler
from ivr.work_orders.outbox import DeliveryReport, deliver_due, queue_delivery

SECRET = "shared-secret-of-the-utility"
T0 = utcnow().replace(microsecond=0) + timedelta(hours=12)  # set at import: after all events any test queues


class Receiver:
    """The utility's system: refuses the first `failures` requests with 503, then takes each event once."""

    def __init__(self, failures: int = 0, delay: float = 0.0, slow: int = 0) -> None:
        self.failures = failures
        self.delay = delay
        self.slow = slow  # the first `slow` requests are taken, but answered only after a second
        self.requests = 0
        self.bad_signatures = 0
        self.accepted: list[dict[str, Any]] = []  # each event once, in the order received
        self.seen: dict[str, int] = {}  # event id -> times it arrived and was taken
        self.in_flight: set[str] = set()
        self.overlaps: list[str] = []  # an event or an order being sent twice at the same moment
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.take(body, dict(self.headers), self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/work-orders"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take(self, body: bytes, headers: dict[str, str], handler: BaseHTTPRequestHandler) -> None:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        event = json.loads(body)
        keys = {event["event_id"], "order:" + event["work_order_number"]}
        with self.lock:
            self.requests += 1
            if not hmac.compare_digest(expected, headers.get("X-Hotline-Signature", "")):
                self.bad_signatures += 1
            assert headers["X-Hotline-Event-Id"] == event["event_id"]
            self.overlaps.extend(keys & self.in_flight)
            self.in_flight |= keys
            refuse = self.failures > 0
            self.failures -= 1 if refuse else 0
            delay = 1.0 if self.slow > 0 else self.delay
            self.slow -= 1
        time.sleep(delay)
        with self.lock:
            self.in_flight -= keys
            if not refuse:
                self.seen[event["event_id"]] = self.seen.get(event["event_id"], 0) + 1
                if self.seen[event["event_id"]] == 1:  # deduplicated on the event id
                    self.accepted.append(event)
        handler.send_response(503 if refuse else 204)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def order_of(self, number: str) -> list[str]:
        return [e["event_id"] for e in self.accepted if e["work_order_number"] == number]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _queue(hotline: Hotline, events: list[tuple[str, str]]) -> None:
    """(work order number, event id) pairs, each queued in its own transaction like a work-order change."""
    for number, event_id in events:
        with hotline.sessions() as session, session.begin():
            queue_delivery(
                session,
                event_id=event_id,
                work_order_number=number,
                kind="work_order.stage_changed",
                body={"number": number, "to": event_id.rsplit("-", 1)[1]},
            )


def _deliver(hotline: Hotline, receiver: Receiver, at: datetime, **options: float) -> DeliveryReport:
    return deliver_due(
        hotline.sessions,
        post=tasks.post_json,  # the scheduler's real HTTP client (requests)
        url=receiver.url,
        secret=SECRET,
        now=lambda: at,
        **{"timeout": 5.0, **options},  # type: ignore[arg-type]
    )


def _rows(hotline: Hotline) -> list[WorkOrderOutbox]:
    with hotline.sessions() as session:
        return list(session.scalars(select(WorkOrderOutbox).order_by(WorkOrderOutbox.id)))


INTERLEAVED = [
    ("1000001", "e1-opened"),
    ("1000002", "e2-opened"),
    ("1000001", "e3-handed_over"),
    ("1000001", "e4-accepted"),
    ("1000002", "e5-closed"),
    ("1000001", "e6-closed"),
]


def test_a_receiver_that_is_down_gets_every_event_in_order_once_it_recovers(hotline: Hotline) -> None:
    _queue(hotline, INTERLEAVED)
    with Receiver(failures=3) as receiver:
        first = _deliver(hotline, receiver, T0)
        assert first == DeliveryReport(delivered=0, failed=2)  # the head of each order, both refused
        assert [(r.attempts, r.next_attempt_at, r.last_error) for r in _rows(hotline)[:2]] == [
            (1, T0 + timedelta(seconds=5), "HTTP 503")
        ] * 2
        assert _deliver(hotline, receiver, T0 + timedelta(seconds=4)) == DeliveryReport()  # not yet due
        assert receiver.requests == 2

        at = T0 + timedelta(seconds=5)
        while any(row.delivered_at is None for row in _rows(hotline)):
            _deliver(hotline, receiver, at)
            at += timedelta(minutes=1)
            assert at < T0 + timedelta(hours=1), "the outbox never emptied"

        assert receiver.order_of("1000001") == ["e1-opened", "e3-handed_over", "e4-accepted", "e6-closed"]
        assert receiver.order_of("1000002") == ["e2-opened", "e5-closed"]
        assert receiver.seen == {event_id: 1 for _, event_id in INTERLEAVED}  # none lost, none twice
        assert receiver.bad_signatures == 0
        assert receiver.requests == len(INTERLEAVED) + 3
        first_taken = dict(receiver.accepted[0])
        assert first_taken.pop("created_at").endswith("Z")
        assert first_taken == {
            "event_id": "e2-opened",  # order 1000002 went on while 1000001's first event was refused again
            "kind": "work_order.stage_changed",
            "work_order_number": "1000002",
            "data": {"number": "1000002", "to": "opened"},
        }

        requests_before = receiver.requests
        assert _deliver(hotline, receiver, at + timedelta(days=1)) == DeliveryReport()
        assert receiver.requests == requests_before  # a delivered event is never sent again


def test_a_later_event_waits_while_the_earlier_one_of_its_order_fails(hotline: Hotline) -> None:
    _queue(hotline, [("1000001", "e1-opened"), ("1000001", "e2-closed")])
    with Receiver(failures=1) as receiver:
        assert _deliver(hotline, receiver, T0) == DeliveryReport(failed=1)
        # e2 is due, but e1 is not delivered: even far past its own due time, e2 is not sent first
        assert _deliver(hotline, receiver, T0 + timedelta(seconds=4)) == DeliveryReport()
        assert _deliver(hotline, receiver, T0 + timedelta(seconds=5)) == DeliveryReport(delivered=2)
        assert receiver.order_of("1000001") == ["e1-opened", "e2-closed"]


def test_an_event_taken_but_not_answered_in_time_is_sent_again_and_deduplicated(hotline: Hotline) -> None:
    _queue(hotline, [("1000007", "e1-opened")])
    with Receiver(slow=1) as receiver:
        assert _deliver(hotline, receiver, T0, timeout=0.3) == DeliveryReport(failed=1)
        assert _rows(hotline)[0].last_error.startswith("ReadTimeout")
        time.sleep(0.8)  # the receiver has taken it meanwhile
        assert _deliver(hotline, receiver, T0 + timedelta(seconds=5)) == DeliveryReport(delivered=1)
    assert receiver.seen == {"e1-opened": 2}  # at least once: it came twice ...
    assert receiver.order_of("1000007") == ["e1-opened"]  # ... and the receiver kept it once


def test_backoff_doubles_and_is_capped(hotline: Hotline) -> None:
    _queue(hotline, [("1000003", "e1-opened")])
    waits = []
    with Receiver(failures=100) as receiver:
        at = T0
        for _ in range(7):
            assert _deliver(hotline, receiver, at, base=2.0, cap=30.0) == DeliveryReport(failed=1)
            (row,) = _rows(hotline)
            waits.append((row.next_attempt_at - at).total_seconds())
            at = row.next_attempt_at
        assert waits == [2, 4, 8, 16, 30, 30, 30]
        assert row.attempts == 7 and row.delivered_at is None and row.last_error == "HTTP 503"
        assert receiver.accepted == []


def test_a_receiver_that_cannot_be_reached_keeps_the_event(hotline: Hotline) -> None:
    _queue(hotline, [("1000004", "e1-opened")])
    with Receiver() as receiver:
        url = receiver.url
    report = deliver_due(hotline.sessions, post=tasks.post_json, url=url, secret=SECRET, now=lambda: T0)
    assert report == DeliveryReport(failed=1)
    (row,) = _rows(hotline)
    assert row.delivered_at is None and row.claimed_until is None
    assert row.last_error.startswith("ConnectionError")


def test_queueing_is_idempotent_on_the_event_id_and_rolls_back_with_the_change(hotline: Hotline) -> None:
    _queue(hotline, [("1000005", "e1-opened"), ("1000005", "e1-opened")])
    with pytest.raises(RuntimeError), hotline.sessions() as session, session.begin():
        queue_delivery(session, event_id="e2-lost", work_order_number="1000005", kind="k", body={})
        raise RuntimeError("the work-order change failed")
    assert [row.event_id for row in _rows(hotline)] == ["e1-opened"]


def test_the_scheduler_job_sends_only_when_a_url_is_set(settings: Settings) -> None:
    with Receiver() as receiver:
        unset = Hotline.build(settings)
        _queue(unset, [("1000006", "e1-opened")])
        assert tasks.deliver_work_order_events(unset) == DeliveryReport()
        assert "deliver_work_order_events" not in {job.id for job in build_scheduler(unset).get_jobs()}
        unset.engine.dispose()
        unsigned = Hotline.build(settings.with_overrides(work_order_webhook_url=receiver.url))
        assert tasks.deliver_work_order_events(unsigned) == DeliveryReport()  # kept until a secret is set
        unsigned.engine.dispose()
        assert receiver.requests == 0
        configured = Hotline.build(
            settings.with_overrides(work_order_webhook_url=receiver.url, work_order_webhook_secret=SECRET)
        )
        assert "deliver_work_order_events" in {job.id for job in build_scheduler(configured).get_jobs()}
        assert tasks.deliver_work_order_events(configured) == DeliveryReport(delivered=1)
        configured.engine.dispose()
        assert receiver.seen == {"e1-opened": 1} and receiver.bad_signatures == 0


def test_two_senders_never_send_one_event_or_one_order_at_once(hotline: Hotline) -> None:
    if hotline.engine.dialect.name != "postgresql":
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) are PostgreSQL's; SQLite has one writer")
    events = [(f"20000{n % 8}", f"o{n % 8}-{n:03d}") for n in range(48)]
    _queue(hotline, events)
    errors: list[BaseException] = []
    start = threading.Barrier(2)
    with Receiver(delay=0.02) as receiver:

        def sender() -> None:
            try:
                start.wait()
                deadline = time.monotonic() + 60
                while len(receiver.accepted) < len(events) and time.monotonic() < deadline:
                    deliver_due(
                        hotline.sessions, post=tasks.post_json, url=receiver.url, secret=SECRET, limit=4
                    )
            except BaseException as error:  # surfaced below: a sender must not die
                errors.append(error)

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert receiver.overlaps == []  # never one event, nor two events of one order, in flight together
    assert receiver.seen == {event_id: 1 for _, event_id in events}
    for n in range(8):
        sent = receiver.order_of(f"20000{n}")
        assert sent == sorted(sent) and len(sent) == 6
    assert all(row.delivered_at is not None for row in _rows(hotline))


def test_retention_removes_webhook_events_past_the_cutoff_delivered_or_not(hotline: Hotline) -> None:
    # The events carry the case (caller's number, address): they go with everything else past retention.
    _queue(hotline, [("1000001", "e1-opened"), ("1000002", "e2-opened"), ("1000003", "e3-opened")])
    long_ago = utcnow() - timedelta(days=max(hotline.settings.retention_days, 730) + 1)
    with hotline.sessions() as session, session.begin():
        old = select(WorkOrderOutbox).where(WorkOrderOutbox.event_id.in_(("e1-opened", "e2-opened")))
        for row in session.scalars(old):
            row.created_at = long_ago
            row.delivered_at = long_ago if row.event_id == "e1-opened" else None
    removed = tasks.remove_expired(hotline)
    assert removed.webhook_events == 2
    assert [row.event_id for row in _rows(hotline)] == ["e3-opened"]
