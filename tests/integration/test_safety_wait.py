"""The safety caller's wait, webhook by webhook: the duty-dial deadline in the signed URL, the words heard."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests.helpers import spoken, twiml

LIMIT = 60


def deadline_of(url: str) -> int:
    return int(parse_qs(urlparse(url).query)["d"][0])


def test_choosing_the_gas_leak_path_starts_the_deadline_in_the_signed_urls(twilio, hotline):
    before = int(time.time())
    root = twiml(twilio.post("/voice/incoming"))
    step = root.find("Gather").get("action")
    enqueue = twiml(twilio.post(step, {"Digits": "2"})).find("Enqueue")
    for url in (enqueue.get("waitUrl"), enqueue.get("action")):
        assert before + LIMIT <= deadline_of(url) <= int(time.time()) + LIMIT


@pytest.mark.parametrize(
    ("language", "next_words", "ahead_words"),
    [("zh-CN", "您是下一位", "您前面还有2位"), ("en-US", "You are next", "There are 2 callers ahead")],
)
def test_a_waiting_safety_caller_hears_their_place(twilio, language, next_words, ahead_words):
    fresh = int(time.time()) + LIMIT
    url = f"/voice/wait?q=safety&l={language}&e=1&d={fresh}"
    first = twiml(twilio.post(url, {"QueuePosition": "1", "QueueTime": "0"}))
    assert next_words in spoken(first) and first.find("Leave") is None
    third = twiml(twilio.post(url, {"QueuePosition": "3", "QueueTime": "2"}))
    assert ahead_words in spoken(third)


def test_the_last_wait_document_leaves_in_time_without_a_refetch(twilio, hotline):
    # 20 s to the deadline: the caller hears their place, pauses, is told the duty engineer is being called
    # and leaves, all before the deadline less the margin for Twilio's two round trips.
    soon = int(time.time()) + 20
    root = twiml(twilio.post(f"/voice/wait?q=safety&l=zh-CN&e=1&d={soon}", {"QueuePosition": "1"}))
    verbs = [child.tag for child in root]
    assert verbs[-1] == "Leave" and "Pause" in verbs
    assert "正在为您直接接通燃气抢险值班工程师" in spoken(root)
    assert int(root.find("Pause").get("length")) <= 20 - 5


def test_past_the_deadline_the_caller_leaves_at_once(twilio):
    past = int(time.time()) - 1
    root = twiml(twilio.post(f"/voice/wait?q=safety&l=en-US&e=1&d={past}", {"QueuePosition": "1"}))
    assert [child.tag for child in root] == ["Say", "Leave"]
    exit_ = twiml(twilio.post(f"/voice/queue-exit?q=safety&l=en-US&e=1&d={past}", {"QueueResult": "leave"}))
    assert [child.tag for child in exit_] == ["Dial"], "the dial starts at once: the wait document said it"


@pytest.mark.parametrize("d", ["9" * 40, "-5", "abc", str(int(time.time()) + 10**6)])
def test_a_strange_deadline_never_makes_the_wait_longer_than_the_promise(twilio, d):
    url = f"/voice/wait?q=safety&l=zh-CN&e=1&d={d}"
    root = twiml(twilio.post(url, {"QueuePosition": "1", "QueueTime": "0"}))
    pause = root.find("Pause")
    assert pause is None or int(pause.get("length")) <= LIMIT


def test_an_unanswered_duty_dial_sets_the_next_deadline(twilio):
    root = twiml(twilio.post("/voice/dial-result?l=zh-CN&a=1", {"DialCallStatus": "busy"}))
    enqueue = root.find("Enqueue")
    assert enqueue.text == "safety"
    assert abs(deadline_of(enqueue.get("waitUrl")) - (time.time() + LIMIT)) <= 2


@pytest.mark.parametrize(
    ("keys", "inside", "outside", "contradiction"),
    [
        (
            ["2"],
            "如果您还在室内，请挂机后马上离开",
            "如果您已经在室外安全地点，请不要挂机",
            "再拨打本热线。我们正在为您优先转接",
        ),
        (
            ["9", "2"],
            "if you are still inside, hang up",
            "If you are already outside and safe, stay on the line",
            "call us again from outside. We are putting you through",
        ),
    ],
)
def test_the_leak_advice_says_one_thing(twilio, keys, inside, outside, contradiction):
    root = twiml(twilio.post("/voice/incoming"))
    for key in keys:
        root = twiml(twilio.post(root.find("Gather").get("action"), {"Digits": key}))
    advice = spoken(root)
    assert advice.index(inside) < advice.index(outside), "getting out first; only who is outside stays on"
    assert contradiction not in advice
