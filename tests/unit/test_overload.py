"""Which requests may be shed, and how old a proxy says a request is (ivr/web/overload.py)."""

from __future__ import annotations

import pytest

from ivr.web.overload import request_age, shed_kind


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
