"""The three servers under test: how to prepare each one's data and environment, and what to check after."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import baselines

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token"  # any token: the requests are signed with it and the servers check them
BARE_MARKER = b"<Say>hello</Say>"

# Settings that must not leak in from the calling shell (a real token, a Postgres URL, ...).
_FOREIGN_PREFIXES = ("IVR_", "TWILIO_", "DATABASE_URL", "BENCH_")

# Log lines of the hotline that mean a webhook went wrong even though it answered 200 text/xml.
_LOG_SIGNS = {
    "rescuing the call": "webhooks failed inside and were rescued",
    "spooling": "event batches spooled (database unavailable)",
    "WORKER TIMEOUT": "gunicorn worker timeouts",
    "Traceback": "tracebacks",
}


@dataclass(frozen=True)
class Target:
    """A WSGI app served by gunicorn, with what it needs before it can answer."""

    name: str
    factory: str  # gunicorn's APP_MODULE, a factory call
    unique_requests: bool  # whether a repeated request would cost less (the hotline de-duplicates retries)


BARE = Target("bare", "bench.baselines:bare_app()", unique_requests=False)
SIGN_ROW = Target("sign+row", "bench.baselines:sign_row_app()", unique_requests=False)
APP = Target("app", "ivr.app:create_app()", unique_requests=True)


def environment(target: Target, base_url: str, workdir: Path) -> dict[str, str]:
    """The process environment of the target's gunicorn, its data in `workdir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
    env.update(TWILIO_AUTH_TOKEN=TOKEN, IVR_PUBLIC_BASE_URL=base_url, PYTHONDONTWRITEBYTECODE="1")
    if target is APP:
        env.update(
            DATABASE_URL=f"sqlite:///{workdir / 'hotline.db'}",
            IVR_INSTANCE_DIR=str(workdir),
            IVR_SPOOL_DIR=str(workdir / "spool"),
            IVR_SCHEDULER_IN_PROCESS="0",  # gunicorn never starts it; said to be sure
            IVR_TELEPHONY="simulator",  # a token alone would pick Twilio's REST client; nothing leaves here
        )
    elif target is SIGN_ROW:
        env["BENCH_ROW_DB_URL"] = f"sqlite:///{workdir / 'rows.db'}"
    return env


def prepare(target: Target, env: dict[str, str]) -> None:
    """Create the target's database before its workers start."""
    if target is APP:
        subprocess.run(
            [sys.executable, "run.py", "init-db", "--demo"],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    elif target is SIGN_ROW:
        baselines.prepare_row_db(env["BENCH_ROW_DB_URL"])


def app_findings(workdir: Path, log: Path, answered: int) -> list[str]:
    """What the hotline left behind that the HTTP answers cannot show: lost or spooled events, failures."""
    notes = []
    with closing(sqlite3.connect(f"file:{workdir / 'hotline.db'}?mode=ro", uri=True)) as db:
        events = db.execute("SELECT count(*) FROM call_events").fetchone()[0]
        calls = db.execute("SELECT count(*) FROM calls").fetchone()[0]
    spooled = len(list((workdir / "spool").glob("*.json"))) if (workdir / "spool").exists() else 0
    # Each loaded webhook writes exactly one event, so the rows should match the good answers.
    notes.append(
        f"{answered} good answers, {events} call events stored, {spooled} spooled, {calls} call records"
    )
    if events + spooled < answered:
        notes.append(f"{answered - events - spooled} answered webhooks left no event")
    elif events + spooled > answered:
        # wrk stops its clock with requests in flight; the server still answers and records them.
        notes.append(
            f"{events + spooled - answered} events more than counted answers (requests in flight at"
            " the end of a run: fine up to the concurrency for each closed-loop run)"
        )
    text = log.read_text(errors="replace") if log.exists() else ""
    for sign, meaning in _LOG_SIGNS.items():
        if count := text.count(sign):
            notes.append(f"{count} {meaning} (log: {sign!r})")
    return notes
