"""A database that hangs under a real server process (issue 13 point 7): PostgreSQL behind a proxy that
holds every packet, or SQLite's write lock held by another process. Every webhook of a gas-leak call
answers its usual TwiML within the bound, /health says the database is down, and once the database answers
again the spool gives every event its row, once."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, make_url, select

from ivr.configuration.menus.store import seed_default_menu
from ivr.configuration.rules.store import publish_rules
from ivr.db.demo import load_demo_data
from ivr.db.models import CallEvent
from ivr.db.session import make_engine, make_session_factory, unit_of_work
from ivr.events.spool import Spool
from tests.helpers import new_call_sid, open_all_day_rules, spoken
from tests.outage import PostgresProxy
from tests.server_process import Server

BOUND = 1.5  # seconds, asserted per webhook (the promise is 1 s; this machine is shared); figures printed
CALLS = 4

LOCKER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")  # SQLite's write lock, held until our stdin closes
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


def _seed(url: str) -> None:
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        seed_default_menu(session)
        publish_rules(session, open_all_day_rules(), note="tests: open all day")
        load_demo_data(session)
    engine.dispose()


@contextmanager
def _hang(database_url: str, proxy: PostgresProxy | None) -> Iterator[None]:
    """The database stops answering (no error) for the length of the block."""
    if proxy is not None:
        proxy.hold()
        try:
            yield
        finally:
            proxy.release()
        return
    path = database_url.split(":///", 1)[1]
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        yield
    finally:
        locker.communicate(input="", timeout=10)


def _timed_call(server: Server, times: list[float]) -> str:
    """A gas-leak call: menu, "燃气泄漏", safety wait, duty engineer; each answer timed and checked."""
    sid = new_call_sid()

    def post(url: str, params: dict[str, str]):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        answer = server.post(url, params, sid)
        times.append(time.perf_counter() - started)
        return answer

    menu = post("/voice/incoming", {})
    leak = post(menu.find("Gather").get("action"), {"SpeechResult": "燃气泄漏"})
    enqueue = leak.find("Enqueue")
    assert "关闭燃气阀门" in spoken(leak) and enqueue.text == "safety"
    waiting = post(enqueue.get("waitUrl"), {"QueuePosition": "1", "QueueTime": "5"})
    assert waiting.find("Pause") is not None
    duty = post(enqueue.get("action"), {"QueueResult": "leave", "QueueTime": "61"})
    assert duty.find("Dial/Number").text == "+8613900000000"
    return sid


def _health(server: Server) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=10) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def test_a_real_server_answers_every_webhook_in_time_while_the_database_hangs(database_url, tmp_path: Path):
    _seed(database_url)
    proxy = None
    served_url = database_url
    if database_url.startswith("postgresql"):
        url = make_url(database_url)
        proxy = PostgresProxy((url.host or "127.0.0.1", url.port or 5432))
        served_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    server = Server(served_url, tmp_path, tmp_path / "server.log")
    times: list[float] = []
    try:
        warm = _timed_call(server, [])  # the menus cached, the connections open
        with _hang(database_url, proxy):
            sids = [_timed_call(server, times) for _ in range(CALLS)]
            health, health_seconds = _health(server)
        time.sleep(1)  # the statements given up on come back once the database answers
    finally:
        server.stop()
        if proxy is not None:
            proxy.stop()
    print(
        f"\n{database_url.split(':')[0]} hung, real server: {len(times)} webhooks, "
        f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms; "
        f"/health {health} in {health_seconds * 1000:.0f} ms"
    )
    assert max(times) < BOUND, "every webhook answered in time"
    assert health == 503 and health_seconds < BOUND

    engine = make_engine(database_url)
    spool = Spool(tmp_path / "spool")
    spool.replay(make_session_factory(engine))
    assert spool.pending() == []
    with make_session_factory(engine)() as session:
        counts = dict(
            session.execute(select(CallEvent.call_sid, func.count()).group_by(CallEvent.call_sid)).all()
        )
    engine.dispose()
    expected = counts[warm]  # the same call with the database answering: its events
    assert expected >= 5
    assert [counts.get(sid) for sid in sids] == [expected] * CALLS, "every event kept, once"
