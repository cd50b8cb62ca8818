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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Response, request
from sqlalchemy import select, update

from ivr.db.models import CallbackAttempt, CallbackJob, utcnow
from ivr.db.session import unit_of_work
from ivr.services.callback_jobs import calling_rules, create_jobs
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


def _placer(minutes_ahead: float, rest_url: str, database_url: str, tmp: Path) -> subprocess.Popen[str]:
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
        [sys.executable, "-m", "tests.integration.callback_placer", str(minutes_ahead)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_scheduler_killed_after_twilio_accepted_its_call_causes_no_second_call(
    hotline, database_url, tmp_path
):  # type: ignore[no-untyped-def]
    _due_jobs(hotline)
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
        # Twilio has accepted the call (it is in the simulator); its CallSid never reaches the placer.
        if request.method == "POST" and request.path.endswith("/Calls.json"):
            creates.append(response.status_code)
            if len(creates) == KILL_AT and "first" in victim:
                victim["first"].send_signal(signal.SIGKILL)
                victim["first"].wait(30)
        return response

    with serve_in_thread(rest) as rest_url:
        first = victim["first"] = _placer(0, rest_url, database_url, tmp_path)
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
        second = _placer(2, rest_url, database_url, tmp_path)
        third = _placer(2, rest_url, database_url, tmp_path)
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
