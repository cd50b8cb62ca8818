"""The work-order webhooks' signature and retry backoff (ivr/work_orders/outbox.py)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ivr.work_orders.outbox import BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS, backoff_seconds, sign


def test_the_signature_is_hmac_sha256_of_the_raw_body_in_hex() -> None:
    body = b'{"event_id":"e1","kind":"work_order.closed"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign("s3cret", body) == f"sha256={expected}"
    # a known vector (RFC 4231 test case 2): key "Jefe", data "what do ya want for nothing?"
    assert sign("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_the_signature_changes_with_any_byte_or_another_secret() -> None:
    body = b'{"a":1}'
    assert sign("s3cret", body) != sign("s3cret", b'{"a": 1}')
    assert sign("s3cret", body) != sign("other", body)


@pytest.mark.parametrize(
    ("attempts", "wait"), [(0, 0.0), (1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (10, 2560.0), (11, 3600.0)]
)
def test_backoff_doubles_from_the_base_up_to_the_cap(attempts: int, wait: float) -> None:
    assert BACKOFF_BASE_SECONDS == 5.0 and BACKOFF_CAP_SECONDS == 3600.0
    assert backoff_seconds(attempts) == wait


def test_backoff_stays_at_the_cap_however_many_tries() -> None:
    assert backoff_seconds(10_000) == BACKOFF_CAP_SECONDS
    assert [backoff_seconds(n, base=1, cap=6) for n in range(1, 6)] == [1, 2, 4, 6, 6]
