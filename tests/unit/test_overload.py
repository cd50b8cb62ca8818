"""Which requests may be shed, and how old a proxy says a request is (ivr/calls/overload.py)."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from ivr.calls.overload import (
    BUSY_TRIES,
    SHED_HEADER,
    ShedDocuments,
    ShedOverload,
    busy_retries,
    request_age,
    shed_kind,
)
from ivr.calls.twiml import Voice
from ivr.config import Settings


@pytest.mark.parametrize(
    ("path", "query", "kind"),
    [
        ("/voice/incoming", "", "incoming"),
        ("/voice/wait", "q=general&l=zh-CN&e=0", "wait"),
        ("/voice/wait", "q=billing&l=en-US", "wait"),
        # the gas-leak path and the middle of a call: never shed
        ("/voice/wait", "q=safety&l=zh-CN&e=1&d=1700000000", None),
        ("/voice/queue-exit", "q=safety&l=zh-CN&e=1", None),
        ("/voice/dial-result", "l=zh-CN&a=1", None),
        ("/voice/rescue", "l=zh-CN", None),
        ("/voice/step", "v=1&n=main&l=zh-CN&t=0&s=1", None),
        ("/voice/status", "", None),
        ("/health", "", None),
    ],
)
def test_only_new_calls_and_ordinary_waits_may_be_shed(path: str, query: str, kind: str | None):
    assert shed_kind(path, query) == kind


@pytest.mark.parametrize(
    "header", ["t=1700000000.250", "1700000000.250", "1700000000250", "t=1700000000250000"]
)
def test_request_age_reads_seconds_milliseconds_and_microseconds(header: str):
    assert request_age(header, now=1700000012.25) == pytest.approx(12.0)


def test_a_request_start_that_is_no_number_has_no_age():
    assert request_age("t=yesterday", now=1700000000.0) is None


class _Held:
    """A WSGI app whose requests run until released, so a test controls how many are in flight."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        self.started.release()
        self.release.wait(5)
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [b"<Response><Say>served</Say></Response>"]


def _request(shedder: ShedOverload, path: str, query: str = "") -> tuple[str | None, float]:
    headers: dict[str, str] = {}
    started = time.monotonic()
    environ = {"PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": "hotline.test"}
    environ["wsgi.url_scheme"] = "https"
    b"".join(shedder(environ, lambda status, pairs: headers.update(pairs)))
    return headers.get(SHED_HEADER), time.monotonic() - started


def test_past_the_limit_a_new_call_waits_for_a_place_the_next_and_waits_are_shed_the_gas_leak_path_served():
    held = _Held()
    documents = ShedDocuments(Voice(Settings()), "", "zh-CN", 30)
    shedder = ShedOverload(held, documents, limit=1, max_age=10, admit_wait=2.0, max_waiting=1)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(_request, shedder, "/voice/incoming")
        assert held.started.acquire(timeout=5)  # in flight: the limit is reached
        second = pool.submit(_request, shedder, "/voice/incoming")  # waits for a place
        time.sleep(0.2)
        assert _request(shedder, "/voice/incoming")[0] == "incoming", "one already waits: shed"
        assert _request(shedder, "/voice/wait", "q=general&l=zh-CN&e=0")[0] == "wait", "a wait never waits"
        leak = pool.submit(_request, shedder, "/voice/wait", "q=safety&l=zh-CN&e=1")
        assert held.started.acquire(timeout=5), "the gas-leak path is served past the limit"
        held.release.set()
        assert first.result()[0] is None and leak.result()[0] is None
        assert second.result()[0] is None, "the one that waited got the place once the first finished"
    assert shedder.in_flight == 0 and shedder.shed == 2


def test_a_new_call_shed_after_waiting_its_time_hears_the_busy_document():
    held = _Held()
    documents = ShedDocuments(Voice(Settings()), "", "zh-CN", 30)
    shedder = ShedOverload(held, documents, limit=1, max_age=10, admit_wait=0.3, max_waiting=4)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(_request, shedder, "/voice/incoming")
        assert held.started.acquire(timeout=5)
        shed, seconds = _request(shedder, "/voice/incoming")
        held.release.set()
        first.result()
    assert shed == "incoming" and 0.3 <= seconds < 1.0
    busy = documents.document("incoming", {"HTTP_HOST": "hotline.test", "wsgi.url_scheme": "https"})
    assert b'action="https://hotline.test/voice/rescue?l=zh-CN"' in busy
    assert b'<Redirect method="POST">https://hotline.test/voice/incoming?busy=1</Redirect>' in busy


def _busy(documents: ShedDocuments, query: str) -> ET.Element:
    environ = {"HTTP_HOST": "hotline.test", "wsgi.url_scheme": "https", "QUERY_STRING": query}
    return ET.fromstring(documents.document("incoming", environ))


def test_a_call_shed_twice_is_told_to_call_later_and_can_press_2_all_through() -> None:
    documents = ShedDocuments(Voice(Settings()), "", "zh-CN", 30)
    holds: list[int] = []
    redirects: list[str] = []
    query = ""
    for _ in range(BUSY_TRIES - 1):  # the call follows its busy document's redirect, shed every time
        root = _busy(documents, query)
        gather, redirect = root.find("Gather"), root.find("Redirect")
        assert gather is not None and redirect is not None and redirect.text
        assert gather.get("action") == "https://hotline.test/voice/rescue?l=zh-CN", "2: the duty engineer"
        pause = gather.find("Pause")  # inside the Gather: a key pressed during the hold is taken
        holds.append(0 if pause is None else int(pause.get("length", "0")))
        assert root.find("Pause") is None, "no hold outside the Gather, where 2 would not be heard"
        redirects.append(redirect.text)
        query = urlsplit(redirect.text).query
    assert holds == [0], "the first shed retries as soon as before"
    assert redirects == ["https://hotline.test/voice/incoming?busy=1"]

    last = _busy(documents, query)  # shed a second time: "call again later", 2 still works, then the end
    gather = last.find("Gather")
    assert gather is not None and gather.get("action") == "https://hotline.test/voice/rescue?l=zh-CN"
    assert gather.get("numDigits") == "1" and gather.find("Pause") is None
    assert last.find("Redirect") is None and [verb.tag for verb in last] == ["Gather", "Hangup"]
    said = ET.tostring(gather, encoding="unicode")
    assert "稍后再拨" in said and "call again later" in said, "every language: the caller chose none yet"


@pytest.mark.parametrize("query", ["busy=x", "busy=-3", "busy=99999999999999999999", "busy="])
def test_a_busy_count_that_is_no_count_is_a_first_shed_or_the_last(query: str) -> None:
    assert busy_retries(query) in (0, BUSY_TRIES - 1)
    root = _busy(ShedDocuments(Voice(Settings()), "", "zh-CN", 30), query)
    assert root.find("Redirect") is not None or root.find("Hangup") is not None


def test_a_shed_wait_page_holds_two_announcement_intervals() -> None:
    documents = ShedDocuments(Voice(Settings()), "", "zh-CN", 30)
    environ = {"HTTP_HOST": "hotline.test", "QUERY_STRING": "q=general&l=zh-CN&e=0"}
    pause = ET.fromstring(documents.document("wait", environ)).find("Pause")
    assert pause is not None and pause.get("length") == "60"
