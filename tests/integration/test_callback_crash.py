"""Exactly one call per call-back job, even when a scheduler is killed (kill -9) after Twilio accepted its
call but before the try was written: the next scheduler asks Twilio's Calls list and adopts that call.

Real processes, a real database (SQLite file and PostgreSQL), twilio's own REST client against the
simulator's Twilio-compatible REST server; the kill happens when the server has received the create.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Response, request
from sqlalchemy import select, update

from ivr.db.models import Agent, CallbackAttempt, CallbackJob, QueueEntry, utcnow
from ivr.db.session import unit_of_work
from ivr.surveys.jobs import calling_rules, create_jobs
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.simulator import SimClock, Simulator
from ivr.telephony.transport import HttpTransport
from tests.integration.test_callback_jobs import add_selected

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "AC" + "5" * 32
TOKEN = "crash-test-auth-token"
JOBS = 12
KILL_AT = 5  # the scheduler dies right after Twilio accepted its 5th call


def _due_jobs(hotline) -> None:  # type: ignore[no-untyped-def]
    add_selected(hotline, JOBS)
    with unit_of_work(hotline.sessions) as session:
        create_jobs(session, calling_rules(hotline.settings))
        now = utcnow()
        session.execute(
            update(CallbackJob).values(
                status="queued", due_at=now - timedelta(hours=1), latest_at=now + timedelta(days=1)
            )
        )


def _placer(
    kind: str, minutes_ahead: float, rest_url: str, database_url: str, tmp: Path
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "IVR_TELEPHONY": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_API_BASE_URL": rest_url,
        "IVR_PUBLIC_BASE_URL": "https://hotline.example",
        "IVR_CALLBACK_WINDOW": "00:00-23:59:59",
        "IVR_CALLBACK_HOLIDAYS": "",
        "IVR_CALLBACK_STALE_MINUTES": "1",
        "IVR_OUTBOUND_CPS": "1000",
        "IVR_SPOOL_DIR": str(tmp / "spool"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.callback_placer", kind, str(minutes_ahead)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def _twilio_killing_at(create: int) -> Iterator[tuple[Simulator, str, dict[str, subprocess.Popen[str]]]]:
    """The simulator's REST server, which kills the process in victim["first"] (kill -9) as soon as it has
    received that process's `create`-th call creation: Twilio accepted the call, the CallSid never arrives."""
    sim = Simulator(
        HttpTransport(),
        auth_token=TOKEN,
        account_sid=ACCOUNT,
        voice_url="https://hotline.example/voice",
        clock=SimClock(datetime.now(UTC)),  # Twilio's clock: the wall clock, as the database's is
    )
    rest = create_rest_app(sim)
    victim: dict[str, subprocess.Popen[str]] = {}
    creates = []

    @rest.after_request
    def kill_after_the_create(response: Response) -> Response:
        if request.method == "POST" and request.path.endswith("/Calls.json"):
            creates.append(response.status_code)
            if len(creates) == create and "first" in victim:
                victim["first"].send_signal(signal.SIGKILL)
                victim["first"].wait(30)
        return response

    with serve_in_thread(rest) as rest_url:
        yield sim, rest_url, victim


def test_a_scheduler_killed_after_twilio_accepted_its_call_causes_no_second_call(
    hotline, database_url, tmp_path
):  # type: ignore[no-untyped-def]
    _due_jobs(hotline)
    with _twilio_killing_at(KILL_AT) as (sim, rest_url, victim):
        first = victim["first"] = _placer("surveys", 0, rest_url, database_url, tmp_path)
        _, errors = first.communicate(timeout=60)
        assert first.returncode == -signal.SIGKILL, errors
        assert len(sim.calls) == KILL_AT
        with unit_of_work(hotline.sessions) as session:
            assert session.scalar(select(CallbackAttempt.id).where(CallbackAttempt.number > 1)) is None
            tries = session.scalars(select(CallbackAttempt.call_sid)).all()
            lost = session.scalars(
                select(CallbackJob.id).where(CallbackJob.status == "dialling", CallbackJob.attempts == 0)
            ).all()
        assert len(tries) == KILL_AT - 1 and len(lost) == 1, "one job claimed, its call placed, no try kept"

        # Two schedulers later (the claim is stale by then), at once: one settles the lost job from
        # Twilio's Calls list, and together they place the rest, each once.
        second = _placer("surveys", 2, rest_url, database_url, tmp_path)
        third = _placer("surveys", 2, rest_url, database_url, tmp_path)
        outputs = [process.communicate(timeout=60) for process in (second, third)]
        assert [second.returncode, third.returncode] == [0, 0], outputs
        assert sum("adopted=1" in out for out, _ in outputs) == 1, outputs

    calls_to = Counter(call.result.to for call in sim.calls.values())
    assert len(calls_to) == JOBS and set(calls_to.values()) == {1}, f"calls per number: {calls_to}"
    with unit_of_work(hotline.sessions) as session:
        rows = session.execute(
            select(
                CallbackJob.phone, CallbackJob.status, CallbackJob.attempts, CallbackAttempt.call_sid
            ).join(CallbackAttempt, CallbackAttempt.job_id == CallbackJob.id)
        ).all()
    assert len(rows) == JOBS, "one try per job"
    assert {(status, attempts) for _, status, attempts, _ in rows} == {("dialling", 1)}
    by_sid = {sid: call.result.to for sid, call in sim.calls.items()}
    assert all(by_sid[sid] == phone for phone, _, _, sid in rows), "each try is the call made to its number"


def test_a_dispatcher_killed_after_twilio_accepted_a_queue_call_back_causes_no_second_call(
    hotline, database_url, tmp_path
):  # type: ignore[no-untyped-def]
    numbers = [f"+86138000009{n:02d}" for n in range(3)]
    now = utcnow()
    with unit_of_work(hotline.sessions) as session:
        session.execute(update(Agent).values(state="offline"))
        for n, number in enumerate(numbers):
            session.add(
                Agent(
                    name=f"crash {n}",
                    client_identity=f"crash-{n}",
                    skills={"general": 3},
                    languages=["zh-CN"],
                    groups=["general"],
                    state="available",
                    idle_since=now,
                )
            )
            session.add(
                QueueEntry(
                    call_sid=f"CA{n:032d}",
                    queue="general",
                    intent="agent",
                    language="zh-CN",
                    status="callback",
                    callback_number=number,
                    waiting_since=now - timedelta(minutes=10 - n),
                )
            )
    with _twilio_killing_at(2) as (sim, rest_url, victim):
        # The dispatcher claims three call-backs and dies right after Twilio accepted the second.
        first = victim["first"] = _placer("queue", 0, rest_url, database_url, tmp_path)
        _, errors = first.communicate(timeout=60)
        assert first.returncode == -signal.SIGKILL, errors
        assert len(sim.calls) == 2
        # Another scheduler, once the claims are stale: tidies up, then dispatches.
        stale = (hotline.settings.stale_claim_seconds + 5) / 60
        out, errors = _placer("queue", stale, rest_url, database_url, tmp_path).communicate(timeout=60)
        assert "released=1 offered=1" in out, (out, errors)  # only the one that never went out, again
    calls_to = Counter(call.result.to for call in sim.calls.values())
    assert calls_to == Counter(numbers), f"calls per number: {calls_to}"
    with unit_of_work(hotline.sessions) as session:
        entries = session.execute(
            select(QueueEntry.callback_number, QueueEntry.status, QueueEntry.callback_call_sid)
        )
        placed = {number: (status, sid) for number, status, sid in entries}
    by_number = {call.result.to: sid for sid, call in sim.calls.items()}
    assert placed == {number: ("offered", by_number[number]) for number in numbers}, (
        "each adopted or placed once"
    )
