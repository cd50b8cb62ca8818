"""The waiting-time estimate and Asterisk's moving-average baseline."""

from __future__ import annotations

import math

import pytest

from routing.estimate import asterisk_holdtime, estimated_wait, mean_handle_seconds


@pytest.mark.parametrize(
    ("position", "agents", "handle", "free", "first", "expected"),
    [
        (1, 4, 120.0, 0, None, 30.0),  # next in line: one release, one every 120/4 s
        (3, 4, 120.0, 0, None, 90.0),  # three releases
        (3, 4, 120.0, 1, None, 60.0),  # a free agent takes the first caller: two releases to go
        (2, 4, 120.0, 2, None, 0.0),  # enough free agents: no wait
        (1, 1, 300.0, 0, None, 300.0),
        (3, 4, 120.0, 0, 10.0, 70.0),  # the first release is known to come in 10 s
        (1, 4, 120.0, 0, 5.0, 5.0),
        (1, 4, 120.0, 3, 5.0, 0.0),  # free agents beat any release
    ],
)
def test_estimate_counts_releases(
    position: int, agents: int, handle: float, free: int, first: float | None, expected: float
) -> None:
    assert estimated_wait(
        position, agents, handle, free_agents=free, first_release_seconds=first
    ) == pytest.approx(expected)


def test_nobody_able_to_take_the_call_means_no_estimate() -> None:
    assert estimated_wait(1, 0, 180.0) == math.inf
    assert estimated_wait(1, 0, 180.0, free_agents=1) == 0.0  # a free agent is someone able to take it


def test_position_counts_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        estimated_wait(0, 3, 180.0)


def test_more_agents_shorten_and_a_later_position_lengthens_the_wait() -> None:
    by_agents = [estimated_wait(5, n, 180.0) for n in (1, 2, 5, 10)]
    by_position = [estimated_wait(p, 5, 180.0) for p in (1, 2, 5, 10)]
    assert by_agents == sorted(by_agents, reverse=True) and len(set(by_agents)) == 4
    assert by_position == sorted(by_position) and len(set(by_position)) == 4


def test_mean_handle_time_of_recent_calls() -> None:
    assert mean_handle_seconds([], 180.0) == 180.0
    assert mean_handle_seconds([100.0, 200.0, 300.0], 180.0) == 200.0
    assert mean_handle_seconds((s for s in (60.0, 120.0)), 180.0) == 90.0  # any iterable, read once


@pytest.mark.parametrize(
    ("previous", "hold", "expected"),
    [
        (0, 100, 25),  # starts from nothing: a quarter of the first hold time
        (100, 100, 100),
        (100, 0, 75),
        (10, 13, 10),  # whole seconds, rounded down: (30 + 13) / 4 = 10.75 -> 10
        (40, 0, 30),
    ],
)
def test_asterisk_holdtime(previous: int, hold: int, expected: int) -> None:
    assert asterisk_holdtime(previous, hold) == expected


def test_asterisk_holdtime_settles_below_a_steady_hold_time() -> None:
    # Rounding down every step, the filter stops at 57 when every caller holds 60 s: a known small bias.
    value = 0
    for _ in range(200):
        value = asterisk_holdtime(value, 60)
    assert value == 57
