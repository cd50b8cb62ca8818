"""The terminal phone's real-time clock: a verb takes its seconds of wall-clock time, and a REST request
arriving (wake) cuts it short, as Twilio interrupts a playing verb on a redirect."""

from __future__ import annotations

import threading
import time

from ivr.telephony.sim_clock import RealTimeClock


def test_a_verb_takes_its_time_on_the_wall_clock() -> None:
    clock = RealTimeClock()
    began = time.monotonic()
    clock.advance(0.3)
    waited = time.monotonic() - began
    assert waited >= 0.3
    assert abs(clock.now() - waited) < 0.05  # the call's time is the time that really passed


def test_a_wake_cuts_the_current_verb_short() -> None:
    clock = RealTimeClock()
    threading.Timer(0.2, clock.wake).start()
    began = time.monotonic()
    clock.advance(30)
    assert time.monotonic() - began < 10  # not the 30 s the verb would have lasted
    assert 0.2 <= clock.now() < 10


def test_a_wake_before_a_verb_does_not_cut_the_next_one() -> None:
    clock = RealTimeClock()
    clock.wake()  # arrived between verbs: the call sees the redirect before it starts the next verb
    clock.advance(0.2)
    assert clock.now() >= 0.2
