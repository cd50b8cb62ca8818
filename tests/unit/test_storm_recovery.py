"""The storm benchmark's recovery figure (bench/storm_recovery.py): when it recovered after the fall."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def recovery_module():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCH))  # the bench scripts import each other by name
    try:
        module: ModuleType = importlib.import_module("storm_recovery")
        yield module
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop("storm_recovery", None)
        sys.modules.pop("loadgen", None)


FALL = 1000.0


def _second(
    at: int,
    *,
    latency: float = 0.05,
    shed_greeting: bool = False,
    shed_wait: bool = False,
    failed: bool = False,
) -> list[tuple[float, float, str, bool, str]]:
    """Ten requests sent in the second `at` after the fall."""
    sent = FALL + at + 0.5
    records = [(sent, latency, "wait", True, "")] * 10
    if shed_greeting:
        records.append((sent, 0.01, "greeting", True, "incoming"))
    if shed_wait:
        records.append((sent, 0.01, "wait", True, "wait"))
    if failed:
        records.append((sent, 15.0, "menu", False, ""))
    return records


def test_recovered_after_is_the_first_of_hold_healthy_windows_and_a_relapse_is_counted(recovery_module):  # type: ignore[no-untyped-def]
    records = (
        _second(0, latency=2.0)  # slow
        + _second(1, shed_greeting=True)  # a new call shed
        + _second(2, failed=True)
        + _second(3, shed_wait=True)  # a shed wait does not stop recovery
        + [r for at in range(4, 7) for r in _second(at)]
        + _second(7, latency=0.9)  # a relapse after the recovery
        + [r for at in range(8, 12) for r in _second(at)]
    )
    windows = recovery_module.windows_after(records, FALL, 1.0, FALL + 12)
    assert [w.shed_new_calls for w in windows[:4]] == [0, 1, 0, 0]
    assert [w.shed_waits for w in windows[:4]] == [0, 0, 0, 1]
    assert windows[2].failed == 1 and windows[0].p99_ms == pytest.approx(2000)
    found = recovery_module.recovery(windows, bound_ms=500, hold=4)
    assert found.recovered_after == 3.0, "3, 4, 5, 6 healthy in a row"
    assert found.relapses == 1 and found.steady_after == 8.0
    assert found.all_quiet_after == 4.0, "nothing shed from the 4th second on"


def test_a_server_that_never_settles_never_recovered(recovery_module):  # type: ignore[no-untyped-def]
    records = [r for at in range(10) for r in _second(at, shed_greeting=at % 3 == 0)]
    found = recovery_module.recovery(recovery_module.windows_after(records, FALL, 1.0, FALL + 10), 500, 3)
    assert found.recovered_after is None, "never 3 healthy seconds in a row"
    assert found.steady_after is None, "the last second was not healthy either"
