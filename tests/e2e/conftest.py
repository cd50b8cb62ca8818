"""End-to-end fixtures: the simulator phoning the app as Twilio would."""

from __future__ import annotations

import pytest

from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import FlaskTransport
from tests.helpers import PUBLIC_BASE_URL, TEST_AUTH_TOKEN

HOTLINE_NUMBER = "+864008888888"


class Phone:
    """Places simulated calls to the app under test."""

    def __init__(self, app, **options):  # type: ignore[no-untyped-def]
        self.simulator = Simulator(
            FlaskTransport(app),
            auth_token=options.pop("auth_token", TEST_AUTH_TOKEN),
            voice_url=f"{PUBLIC_BASE_URL}/voice/incoming",
            status_callback_url=f"{PUBLIC_BASE_URL}/voice/status",
            fallback_url=f"{PUBLIC_BASE_URL}/voice/fallback",
            **options,
        )
        # The server's deadlines (the gas-leak caller's duty dial) run on the simulated time, as calls do.
        app.extensions["hotline"].clock = lambda: self.simulator.clock.datetime().timestamp()

    def call(self, *script: str, caller: str = "+8613800000001", wait_loops: int = 1):  # type: ignore[no-untyped-def]
        """One whole call; the scripted caller hangs up when the script runs out."""
        return self.simulator.place_call(
            caller, HOTLINE_NUMBER, ScriptedCaller(list(script), max_queue_loops=wait_loops)
        )


@pytest.fixture
def phone(app) -> Phone:  # type: ignore[no-untyped-def]
    return Phone(app)
