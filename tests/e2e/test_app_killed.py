"""The app killed mid-queue (issue 14): a gas-leak caller waiting in the safety queue, every agent busy, and
the server process SIGKILLed. Through the simulator the caller still reaches the duty engineer's dial, no
later than 60 s after pressing 2, by the number's fallback that Twilio hosts (published through the REST API).

Clocks: the server is a real process on real time while the simulator's clock runs on without sleeping, so
the two are not aligned; the app is killed after its first wait document, long before its own deadline (the
last wait document's <Leave>) could matter, and from the kill on nothing of ours runs: the figure is measured
on the simulator's clock, which times the verbs as Twilio would play them."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import update

from ivr.db.models import Agent
from ivr.jobs.tasks import publish_fallback
from ivr.telephony import twiml_rules
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import HttpTransport, Response
from ivr.telephony.twilio_hosted import ECHO_URL
from ivr.telephony.twilio_rest import TwilioTelephony
from tests.e2e.conftest import HOTLINE_NUMBER
from tests.helpers import PUBLIC_BASE_URL, TEST_AUTH_TOKEN
from tests.server_process import Server

DUTY = "+8613900000000"
PROMISE = 60  # seconds from pressing 2 to the duty engineer's dial (IVR_SAFETY_QUEUE_MAX_WAIT)


class ToServer(HttpTransport):
    """Sends requests for the public URL to the server process on its local port (signatures stay on the
    public URL, which is what the server checks them against)."""

    def __init__(self, port: int) -> None:
        super().__init__(timeout=15)
        self.local = f"127.0.0.1:{port}"

    def request(self, method: str, url: str, params: dict[str, str], headers: dict[str, str]) -> Response:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == PUBLIC_BASE_URL:
            url = urlunsplit(parts._replace(scheme="http", netloc=self.local))
        return super().request(method, url, params, headers)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def kill_server(server: Server) -> None:
    """SIGKILL the server: its workers first (an orphaned worker would go on serving), then the master."""
    for worker in _children(server.process.pid):
        os.kill(worker, signal.SIGKILL)
    server.process.kill()
    server.process.wait(timeout=10)


@pytest.fixture
def server(hotline, database_url: str, tmp_path: Path) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="on_call"))  # every agent busy: the caller waits
    running = Server(database_url, tmp_path, tmp_path / "server.log", IVR_HOTLINE_NUMBER=HOTLINE_NUMBER)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()
        else:
            running.output.close()


def test_gas_leak_caller_reaches_the_duty_engineer_after_the_app_is_killed(hotline, server):  # type: ignore[no-untyped-def]
    with ToServer(server.port) as transport:
        sim = Simulator(
            transport,
            auth_token=TEST_AUTH_TOKEN,
            voice_url=f"{PUBLIC_BASE_URL}/voice/incoming",
            status_callback_url=f"{PUBLIC_BASE_URL}/voice/status",
            fetch_seconds=1.0,  # Twilio's round trip to us
        )
        # The number as docs/twilio-setup.md sets it up; then the hosted fallback is published over it.
        sim.numbers.provision(
            HOTLINE_NUMBER,
            voice_url=f"{PUBLIC_BASE_URL}/voice/incoming",
            voice_fallback_url=f"{PUBLIC_BASE_URL}/voice/fallback",
        )
        with (
            serve_in_thread(create_rest_app(sim)) as api,
            TwilioTelephony(sim.account_sid, TEST_AUTH_TOKEN, api_base_url=api) as rest,
        ):
            published = publish_fallback(hotline, rest)
        assert published.changed and published.url.startswith(ECHO_URL)

        call = sim.start_call("+8613800000004", HOTLINE_NUMBER, ScriptedCaller(["2"], max_queue_loops=20))
        assert call.run_until_waiting(), call.result.transcript  # heard the advice, waiting in the queue
        assert call.queue == "safety"
        killed_at = sim.clock.now()
        kill_server(server)
        result = call.run()
        # As the number was before: its fallback on our own (now dead) server. Nobody is dialled.
        number = sim.numbers.find(HOTLINE_NUMBER)
        assert number is not None
        sim.numbers.update(number.sid, voice_fallback_url=f"{PUBLIC_BASE_URL}/voice/fallback")
        before = sim.place_call("+8613800000005", HOTLINE_NUMBER, ScriptedCaller(["2"]))

    chosen = next(e.at for e in result.entries("input") if e.detail.get("type") == "digits")
    dial = next(e for e in result.transcript if e.kind == "dial")
    assert chosen is not None and dial.at is not None
    waited = dial.at - chosen
    killed = killed_at - chosen
    print(f"duty engineer dialled {waited:.1f} s after pressing 2 (the app killed {killed:.1f} s after it)")
    assert DUTY in dial.text
    assert waited <= PROMISE
    # What Twilio does: the wait document is refused, the caller leaves the queue (QueueResult=error), the
    # Enqueue action is refused too, and the number's fallback, hosted by Twilio, answers.
    assert result.queue_results == ["error"]
    refused = [e for e in result.errors if e.code == twiml_rules.HTTP_CONNECTION_FAILURE]
    assert [urlsplit(e.url).path for e in refused[:2]] == ["/voice/wait", "/voice/queue-exit"]
    fallback = [r for r in result.requests if r.purpose == "fallback"]
    assert len(fallback) == 1 and fallback[0].url == published.url
    assert fallback[0].params["ErrorUrl"].startswith(f"{PUBLIC_BASE_URL}/voice/queue-exit")
    assert before.dialled == [] and before.ended_by == "error" and "application error" in before.said()[-1]
