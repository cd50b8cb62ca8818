"""A terminal "phone": call the hotline's webhooks through the simulator and answer prompts by hand.

    python -m ivr.telephony.phone --voice-url http://127.0.0.1:5000/voice --auth-token TOKEN

With --rest-port the simulator also answers Twilio's REST API (redirects, outbound calls,
recordings) on that port, so a server configured with that API base URL can act on the call.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence

from ivr.telephony.callers import InteractiveCaller
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.simulator import DEFAULT_ACCOUNT_SID, Simulator
from ivr.telephony.transport import HttpTransport


def main(argv: Sequence[str] | None = None) -> int:
    """Place one interactive call; print where it ended up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice-url", required=True, help="the number's Voice URL")
    parser.add_argument("--auth-token", required=True, help="auth token used to sign requests")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--status-callback", help="the number's status callback URL")
    parser.add_argument("--fallback-url", help="the number's fallback URL")
    parser.add_argument("--from", dest="from_", default="+8613800000000", help="caller's number")
    parser.add_argument("--to", default="+8640000000000", help="the hotline number")
    parser.add_argument("--rest-port", type=int, help="also serve Twilio's REST API on this port")
    args = parser.parse_args(argv)

    with HttpTransport() as transport:
        sim = Simulator(
            transport,
            auth_token=args.auth_token,
            account_sid=args.account_sid,
            voice_url=args.voice_url,
            status_callback_url=args.status_callback,
            fallback_url=args.fallback_url,
        )
        rest = contextlib.nullcontext()
        if args.rest_port:
            rest = serve_in_thread(create_rest_app(sim), port=args.rest_port)
        with rest as api_url:
            if api_url:
                print(f"Twilio REST API simulated at {api_url}")
            result = sim.place_call(args.from_, args.to, InteractiveCaller())
            result_pending = sim.run_pending_calls()
    print(f"Call {result.call_sid}: {result.summary()}")
    for error in result.errors:
        print(f"  error {error.code} at {error.url}: {error.message}")
    for outbound in result_pending:
        print(f"Outbound call {outbound.call_sid} to {outbound.to}: {outbound.summary()}")
    return 0 if not result.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
