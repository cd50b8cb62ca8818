"""The terminal phone (`call`): phone the hotline, or answer a survey call-back, through the simulator."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import click
import requests
from flask import Response as FlaskResponse

from ivr.config import Settings, load_settings
from ivr.telephony.call_result import CallResult, TranscriptEntry
from ivr.telephony.callers import Caller, InteractiveCaller, ScriptedCaller
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.sim_clock import RealTimeClock, SimClock
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import FlaskTransport, HttpTransport, Transport

IN_PROCESS_BASE = "http://127.0.0.1:5000"


def script_items(keys: str) -> list[str]:
    """'9,1,s:燃气泄漏,-,123#' -> the simulator's script: keys, speech, silence."""
    items = []
    for raw in keys.split(","):
        item = raw.strip()
        if item.startswith("s:"):
            items.append("speech:" + item[2:].strip())
        elif item in ("-", ""):
            items.append("silence")
        else:
            items.append(item)
    return items


def phone_call(*, caller: str, called: str, keys: str | None, url: str | None, wait_loops: int) -> int:
    """Place one call; print what the caller hears and where the call ends up. Returns an exit code."""
    settings = load_settings()
    who: ScriptedCaller | InteractiveCaller
    if keys is not None:
        # Against a server the call takes minutes of real time: show each line as it is heard.
        who = (
            LiveScriptedCaller(script_items(keys), max_queue_loops=wait_loops)
            if url
            else ScriptedCaller(script_items(keys), max_queue_loops=wait_loops)
        )
    else:
        who = InteractiveCaller(
            input_fn=lambda prompt: click.prompt(prompt, default="", show_default=False), output_fn=click.echo
        )
    result = (
        call_server(url, settings, caller, called, who)
        if url
        else _call_in_process(settings, caller, called, who)
    )
    if keys is not None and not url:
        for entry in result.transcript:
            click.echo(entry.describe())
    for error in result.errors:
        click.echo(f"Twilio error {error.code}: {error.message} ({error.url})", err=True)
    click.echo(f"call {result.call_sid}: {result.summary()}")
    return 1 if result.errors else 0


class LiveScriptedCaller(ScriptedCaller):
    """A scripted caller that prints each line as it happens (the call lasts as long as on a phone)."""

    def hear(self, entry: TranscriptEntry) -> None:
        """Remember it, and print it now."""
        super().hear(entry)
        click.echo(entry.describe())


def _call_in_process(settings: Settings, caller: str, called: str, who: Caller) -> CallResult:
    """The call against this process's own app, on simulated time that the app's clock follows."""
    from ivr.app import create_app
    from ivr.hotline import Hotline
    from ivr.jobs.tasks import dispatch

    base = (settings.public_base_url or IN_PROCESS_BASE).rstrip("/")
    hotline = Hotline.build(settings)
    # Open the first database connection before the caller dials: a cold connect is the process
    # starting, not the call, and must not eat the first webhook's budget.
    with hotline.engine.connect():
        pass
    try:
        simulator = _simulator(FlaskTransport(create_app(hotline=hotline)), settings, base)
        hotline.telephony = SimulatorTelephony(simulator)  # the server's REST side is the simulator
        # and its deadlines (the gas-leak caller's duty dial) run on the call's simulated time
        started, clock = time.time(), simulator.clock
        hotline.clock = lambda: started + clock.now()
        call = simulator.start_call(caller, called, who)
        while call.run_until_waiting():
            dispatch(hotline)  # in-process there is no scheduler: run its dispatcher as the caller holds
        return call.run()
    finally:
        hotline.engine.dispose()


def call_server(
    url: str,
    settings: Settings,
    caller: str,
    called: str,
    who: Caller,
    *,
    transport: HttpTransport | None = None,
    talk_seconds: int = 30,
) -> CallResult:
    """The call against a running server, in real time: the server's clock is the wall clock, so the
    caller's must be too. The server reaches the call (to connect an agent) through this phone's REST API."""
    base = url.rstrip("/")
    clock = RealTimeClock()
    with transport or HttpTransport() as transport:
        simulator = _simulator(transport, settings, base, clock)
        simulator.talk_seconds = talk_seconds  # how long a simulated agent talks
        rest = create_rest_app(simulator)
        # A REST redirect or hangup cuts the verb being played short, as on Twilio.
        rest.after_request(_waking(clock))
        with serve_in_thread(rest) as api:
            simulator.api_base_url = api  # recordings are fetched from here
            attached = _attach(simulator, transport, base, api)
            click.echo(
                f"calling {base} in real time: the call lasts as long as it would on a phone", err=True
            )
            try:
                return simulator.place_call(caller, called, who)
            finally:
                if attached:
                    _send(simulator, transport, f"{base}/voice/simulator/detach", api)


def _waking(clock: RealTimeClock) -> Callable[[FlaskResponse], FlaskResponse]:
    """An after-request hook that wakes the caller's clock: the call checks its REST requests at once."""

    def wake(response: FlaskResponse) -> FlaskResponse:
        clock.wake()
        return response

    return wake


def _attach(simulator: Simulator, transport: HttpTransport, base: str, api: str) -> bool:
    """Ask the server to send its REST redirects for this phone's calls here; say so if it will not."""
    try:
        status = _send(simulator, transport, f"{base}/voice/simulator/attach", api)
    except requests.RequestException as error:
        click.echo(f"the server at {base} does not answer: {error}", err=True)
        return False
    if status == 204:
        return True
    click.echo(
        f"the server did not attach this phone (HTTP {status}): it cannot connect the caller to an agent "
        "(a server talking to Twilio, or a different TWILIO_AUTH_TOKEN)",
        err=True,
    )
    return False


def _send(simulator: Simulator, transport: HttpTransport, url: str, api: str) -> int:
    """POST the phone's REST address to the server, signed as Twilio signs its webhooks."""
    body = {"ApiBaseUrl": api, "AccountSid": simulator.account_sid}
    headers = {"X-Twilio-Signature": simulator.validator.compute_signature(url, body)}
    return transport.request("POST", url, body, headers).status


def _simulator(
    transport: Transport, settings: Settings, base: str, clock: SimClock | None = None
) -> Simulator:
    return Simulator(
        transport,
        auth_token=settings.twilio_auth_token,
        voice_url=f"{base}/voice/incoming",
        status_callback_url=f"{base}/voice/status",
        fallback_url=f"{base}/voice/fallback",
        clock=clock,
    )


def survey_call(*, job_id: int, keys: str | None, answered_by: str) -> int:
    """Place one satisfaction call-back now, in-process, answered by the simulator (scripted keys, or you
    at the terminal); print what the customer hears and what was kept. Returns an exit code."""
    from datetime import timedelta

    from ivr.app import create_app
    from ivr.db.models import CallbackJob, SurveyResponse
    from ivr.hotline import Hotline
    from ivr.jobs.tasks import place_due_callbacks
    from ivr.surveys.jobs import Pacer

    settings = load_settings()
    base = (settings.public_base_url or IN_PROCESS_BASE).rstrip("/")
    hotline = Hotline.build(settings)
    try:
        with hotline.sessions() as session:
            job = session.get(CallbackJob, job_id)
        if job is None or job.status != "queued":
            state = "no such job" if job is None else f"its status is {job.status}"
            click.echo(f"job {job_id} cannot be placed: {state} (run.py callbacks status)", err=True)
            return 1
        simulator = Simulator(
            FlaskTransport(create_app(hotline=hotline)),
            auth_token=settings.twilio_auth_token,
            voice_url=f"{base}/voice/incoming",
        )
        hotline.telephony = SimulatorTelephony(simulator)
        who: ScriptedCaller | InteractiveCaller = (
            ScriptedCaller(script_items(keys))
            if keys is not None
            else InteractiveCaller(
                input_fn=lambda prompt: click.prompt(prompt, default="", show_default=False),
                output_fn=click.echo,
            )
        )
        simulator.callee_for(job.phone, who, answered_by=answered_by)
        # As if it were the job's due time (its window is open then), whatever the clock says now.
        moment = job.due_at + timedelta(minutes=1)
        placed = place_due_callbacks(hotline, Pacer(100), now=lambda: moment, only=job_id).placed
        if not placed:
            click.echo(f"job {job_id} was not placed (another process took it?)", err=True)
            return 1
        (result,) = simulator.run_pending_calls()
        if keys is not None:
            for entry in result.transcript:
                click.echo(entry.describe())
        with hotline.sessions() as session:
            job = session.get(CallbackJob, job_id)
            response = session.query(SurveyResponse).filter_by(job_id=job_id).one_or_none()
        click.echo(f"call {result.call_sid}: {result.summary()}")
        click.echo(f"job {job_id}: {job.status if job else '?'} ({job.last_outcome if job else ''})")
        if response is not None:
            r = response
            click.echo(
                f"answers: attitude={r.attitude} ability={r.ability} on_time={r.on_time} "
                f"charged={r.charged} comment={r.comment_seconds or 0}s refused={r.refused}"
            )
        return 1 if result.errors else 0
    finally:
        hotline.engine.dispose()


@click.command()
@click.option("--from", "caller", default="+8613800000001", show_default=True, help="The caller's number.")
@click.option("--to", "called", default="+864008888888", show_default=True, help="The hotline's number.")
@click.option(
    "--keys",
    default=None,
    help='Scripted input, comma-separated: "9,1,4", "123#", "s:燃气泄漏" (speech), "-" (silence).',
)
@click.option(
    "--url", default=None, help="Phone a running server (e.g. http://127.0.0.1:5000) instead of in-process."
)
@click.option(
    "--wait-loops", default=2, show_default=True, help="Queue announcements to hear before hanging up."
)
def call(caller: str, called: str, keys: str | None, url: str | None, wait_loops: int) -> None:
    """Phone the hotline through the built-in simulator and see where the call ends up."""
    sys.exit(phone_call(caller=caller, called=called, keys=keys, url=url, wait_loops=wait_loops))
