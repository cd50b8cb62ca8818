"""Recovery after a surge (issue 14): the callers turned away come back ever more slowly while the server is
past capacity, queued callers are asked less often, and the gas-leak path is neither shed nor slowed.

Shedding is forced the way a proxy would: X-Request-Start older than IVR_WEB_MAX_REQUEST_AGE (the caller may
be gone), so the busy answers are the real middleware's, in front of the real app and database."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from ivr.config import Settings
from ivr.web.overload import SHED_HEADER
from tests.helpers import PUBLIC_BASE_URL, SignedClient, new_call_sid

DUTY = "+8613900000000"


def _stale() -> dict[str, str]:
    return {"X-Request-Start": f"t={time.time() - 12:.3f}"}  # Twilio gives up at 15 s: shed at once


def _answer(response) -> ET.Element:  # type: ignore[no-untyped-def]
    assert response.status_code == 200 and response.mimetype == "text/xml"
    return ET.fromstring(response.data)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_a_call_shed_again_retries_later_and_is_greeted_once_the_load_is_gone(twilio: SignedClient) -> None:
    call_sid = new_call_sid()
    path, holds = "/voice/incoming", []
    for _ in range(2):  # Twilio follows the busy answer's redirect; still past capacity every time
        response = twilio.post(path, call_sid=call_sid, headers=_stale())
        assert response.headers[SHED_HEADER] == "incoming"
        root = _answer(response)
        pause = root.find("Gather/Pause")
        holds.append(0 if pause is None else int(pause.get("length", "0")))
        path = _path(root.findtext("Redirect", ""))
    assert holds == [0, 10], "retries thin out while the server sheds"
    assert path == "/voice/incoming?busy=2"

    # The load is gone: the same retry URL (signed with its query, as Twilio signs it) hears the greeting.
    response = twilio.post(path, call_sid=call_sid)
    assert SHED_HEADER not in response.headers
    menu = _answer(response).find("Gather")
    assert menu is not None and menu.get("action", "").startswith(f"{PUBLIC_BASE_URL}/voice/step?")


def test_a_call_shed_a_third_time_is_told_to_call_later_and_ends_unless_it_presses_2(
    twilio: SignedClient,
) -> None:
    call_sid = new_call_sid()
    response = twilio.post("/voice/incoming?busy=2", call_sid=call_sid, headers=_stale())
    assert response.headers[SHED_HEADER] == "incoming"
    last = _answer(response)
    assert [verb.tag for verb in last] == ["Gather", "Hangup"], "no retry: the call ends after the Gather"
    gather = last.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert "call again later" in ET.tostring(gather, encoding="unicode")

    # Still past capacity when the key comes: the rescue is the gas-leak path, never shed.
    response = twilio.post(gather.get("action", ""), {"Digits": "2"}, call_sid=call_sid, headers=_stale())
    assert SHED_HEADER not in response.headers
    assert _answer(response).findtext("Dial/Number") == DUTY


def test_a_gas_leak_caller_on_the_longest_hold_presses_2_and_gets_the_duty_engineer_at_once(
    twilio: SignedClient,
) -> None:
    call_sid = new_call_sid()
    busy = _answer(twilio.post("/voice/incoming?busy=1", call_sid=call_sid, headers=_stale()))
    gather = busy.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1", "one key ends the Gather, hold or not"
    assert gather.find("Pause") is not None and busy.find("Pause") is None, "the hold is inside the Gather"

    # Still past capacity when the key comes: the rescue is the gas-leak path, never shed.
    response = twilio.post(gather.get("action", ""), {"Digits": "2"}, call_sid=call_sid, headers=_stale())
    assert SHED_HEADER not in response.headers
    assert _answer(response).findtext("Dial/Number") == DUTY


def test_a_shed_wait_holds_twice_as_long_but_a_gas_leak_wait_is_neither_shed_nor_held_longer(
    twilio: SignedClient, settings: Settings
) -> None:
    general = twilio.post("/voice/wait?q=general&l=zh-CN&e=0", {"QueuePosition": "40"}, headers=_stale())
    assert general.headers[SHED_HEADER] == "wait"
    held = _answer(general).find("Pause")
    assert held is not None and held.get("length") == str(2 * settings.queue_announce_seconds)

    deadline = time.time() + 3600  # far: the caller hears their place and the usual pause
    safety_path = f"/voice/wait?q=safety&l=zh-CN&e=1&d={deadline:.0f}"
    shed = twilio.post(safety_path, {"QueuePosition": "1", "QueueTime": "5"}, headers=_stale())
    calm = twilio.post(safety_path, {"QueuePosition": "1", "QueueTime": "5"})
    assert SHED_HEADER not in shed.headers
    assert shed.data == calm.data, "the same wait document, overloaded or not"
    pause = _answer(shed).find("Pause")
    assert pause is None or int(pause.get("length", "0")) <= settings.queue_announce_seconds


def test_while_the_worker_sheds_a_served_ordinary_wait_asks_half_as_often_a_gas_leak_wait_as_ever(
    twilio: SignedClient, settings: Settings
) -> None:
    ordinary = "/voice/wait?q=general&l=zh-CN&e=0"
    safety = f"/voice/wait?q=safety&l=zh-CN&e=1&d={time.time() + 3600:.0f}"
    form = {"QueuePosition": "3", "QueueTime": "5"}
    calm_wait = _answer(twilio.post(ordinary, form))
    calm_safety = twilio.post(safety, form).data
    assert calm_wait.find("Pause").get("length") == str(settings.queue_announce_seconds)  # type: ignore[union-attr]

    assert twilio.post(ordinary, form, headers=_stale()).headers[SHED_HEADER] == "wait"  # the worker sheds

    served = twilio.post(ordinary, form)
    assert SHED_HEADER not in served.headers, "served: the caller hears their place as usual"
    busy_wait = _answer(served)
    assert [say.text for say in busy_wait.iter("Say")] == [say.text for say in calm_wait.iter("Say")]
    pause = busy_wait.find("Pause")
    assert pause is not None and pause.get("length") == str(2 * settings.queue_announce_seconds)
    assert twilio.post(safety, form).data == calm_safety, "the gas-leak wait is timed to the duty dial"
