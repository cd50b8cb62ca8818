"""Which requests may be shed, and how old a proxy says a request is (ivr/web/overload.py)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ivr.calls.twiml import Voice
from ivr.config import Settings
from ivr.web.overload import SHED_HEADER, ShedDocuments, ShedOverload, request_age, shed_kind


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
    assert b'<Redirect method="POST">https://hotline.test/voice/incoming</Redirect>' in busy
