"""Recovery after a surge (issue 14): the callers turned away come back ever more slowly while the server is
past capacity, queued callers are asked less often, and the gas-leak path is neither shed nor slowed.

Shedding is forced the way a proxy would: X-Request-Start older than IVR_WEB_MAX_REQUEST_AGE (the caller may
be gone), so the busy answers are the real middleware's, in front of the real app and database."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from sqlalchemy import select

from ivr.calls.overload import SHED_HEADER
from ivr.config import Settings
from ivr.db.models import QueueEntry, WorkOrder
from ivr.hotline import Hotline
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


def test_a_call_shed_retries_once_and_is_greeted_once_the_load_is_gone(twilio: SignedClient) -> None:
    call_sid = new_call_sid()
    response = twilio.post("/voice/incoming", call_sid=call_sid, headers=_stale())
    assert response.headers[SHED_HEADER] == "incoming"
    path = _path(_answer(response).findtext("Redirect", ""))
    assert path == "/voice/incoming?busy=1"

    # The load is gone: the retry URL (signed with its query, as Twilio signs it) hears the greeting.
    response = twilio.post(path, call_sid=call_sid)
    assert SHED_HEADER not in response.headers
    menu = _answer(response).find("Gather")
    assert menu is not None and menu.get("action", "").startswith(f"{PUBLIC_BASE_URL}/voice/step?")


def test_a_call_shed_a_second_time_is_told_to_call_later_and_ends_unless_it_presses_2(
    twilio: SignedClient,
) -> None:
    call_sid = new_call_sid()
    response = twilio.post("/voice/incoming?busy=1", call_sid=call_sid, headers=_stale())
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


def test_a_shed_wait_holds_twice_as_long_but_a_gas_leak_wait_is_neither_shed_nor_held(
    twilio: SignedClient, settings: Settings
) -> None:
    general = twilio.post("/voice/wait?q=general&l=zh-CN&e=0", {"QueuePosition": "40"}, headers=_stale())
    assert general.headers[SHED_HEADER] == "wait"
    held = _answer(general).find("Pause")
    assert held is not None and held.get("length") == str(2 * settings.queue_announce_seconds)

    deadline = time.time() + 3600  # far: calm, the caller would hear their place and the usual pause
    safety_path = f"/voice/wait?q=safety&l=zh-CN&e=1&d={deadline:.0f}"
    served = twilio.post(safety_path, {"QueuePosition": "1", "QueueTime": "5"}, headers=_stale())
    assert SHED_HEADER not in served.headers, "never shed"
    assert _answer(served).find("Pause") is None, "never held longer: out to the duty engineer at once"


def test_while_the_worker_sheds_a_served_ordinary_wait_asks_half_as_often(
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
    assert twilio.post(safety, form).data != calm_safety, "the gas-leak wait: no longer (next test)"


def test_while_the_worker_sheds_a_gas_leak_wait_leaves_the_queue_for_the_duty_engineer_at_once(
    twilio: SignedClient,
) -> None:
    safety = f"/voice/wait?q=safety&l=zh-CN&e=1&d={time.time() + 3600:.0f}"  # the deadline is far
    form = {"QueuePosition": "1", "QueueTime": "5"}
    calm = _answer(twilio.post(safety, form))
    assert calm.find("Leave") is None, "calm: the caller waits for an agent until near the deadline"

    assert twilio.post("/voice/incoming", headers=_stale()).headers[SHED_HEADER] == "incoming"  # it sheds
    busy = _answer(twilio.post(safety, form, headers=_stale()))  # old, yet never shed
    assert [verb.tag for verb in busy] == ["Say", "Leave"], "out now: no pause, no further wait request"
    exit_path = f"/voice/queue-exit?q=safety&l=zh-CN&e=1&d={time.time() + 3600:.0f}"
    exit_answer = twilio.post(exit_path, {"QueueResult": "leave", "QueueTime": "5"}, headers=_stale())
    assert SHED_HEADER not in exit_answer.headers
    assert _answer(exit_answer).findtext("Dial/Number") == DUTY


def _menu_key_2(twilio: SignedClient, call_sid: str, **headers: str) -> ET.Element:
    greeting = _answer(twilio.post("/voice/incoming", call_sid=call_sid))
    action = greeting.find("Gather").get("action", "")  # type: ignore[union-attr]
    return _answer(twilio.post(_path(action), {"Digits": "2"}, call_sid=call_sid, headers=headers))


def test_a_gas_leak_chosen_while_the_worker_sheds_is_dialled_to_the_duty_engineer_with_no_queue(
    twilio: SignedClient, hotline: Hotline
) -> None:
    calm_sid, busy_sid = new_call_sid(), new_call_sid()
    calm = _menu_key_2(twilio, calm_sid)
    assert calm.findtext("Enqueue") == "safety", "calm: the safety queue, where any free agent takes them"

    assert twilio.post("/voice/incoming", headers=_stale()).headers[SHED_HEADER] == "incoming"  # it sheds
    busy = _menu_key_2(twilio, busy_sid, **_stale())  # the choice is never shed, however old
    assert busy.find("Enqueue") is None and busy.findtext("Dial/Number") == DUTY
    assert "/voice/dial-result?" in busy.find("Dial").get("action", "")  # type: ignore[union-attr]
    said = " ".join(say.text or "" for say in busy.iter("Say"))
    assert "值班工程师" in said, "told they are being put through to the duty engineer"

    with hotline.sessions() as session:
        entries = {e.call_sid: e for e in session.scalars(select(QueueEntry)).all()}
        orders = session.scalars(select(WorkOrder).where(WorkOrder.kind == "gas_leak")).all()
    assert entries[calm_sid].status == "waiting" and entries[busy_sid].status == "duty", (
        "in our queue and left for the duty dial in one write: no agent is offered a call already dialled"
    )
    assert {order.call_sid for order in orders} == {calm_sid, busy_sid}, "the gas-leak order, as ever"
