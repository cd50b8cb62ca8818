"""How good is the wait announced to a caller on entry? routing.estimate against Asterisk's moving average.

    .venv/bin/python bench/wait_estimate.py [--calls 200000] [--seed 11]

The same simulated centre as bench/erlang.py (the real router, Poisson arrivals, exponential handling).
At each arrival both estimates are taken with what a live system knows at that moment:
  ours      estimated_wait(position, agents logged in, mean of the last 100 handling times, free agents)
  Asterisk  app_queue's holdtime, (3 * old + this) / 4 over the hold times of answered callers, in
            whole seconds (what its announcement is made from; it speaks it rounded to minutes)
and compared with the caller's actual wait. Prints the mean absolute error in seconds of each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from erlang import Hooks, erlang_c, simulate  # noqa: E402

from routing.estimate import asterisk_holdtime, estimated_wait, mean_handle_seconds  # noqa: E402

RECENT_HANDLES = 100  # handling times the estimate averages


class Recorder:
    """Takes both estimates at each arrival and pairs them with the wait that followed."""

    def __init__(self, agents: int, default_handle: float):
        self.agents, self.default_handle = agents, default_handle
        self.recent: deque[float] = deque(maxlen=RECENT_HANDLES)
        self.holdtime = 0
        self.pending: dict[int, tuple[float, float, bool]] = {}
        self.rows: list[tuple[float, float, float, bool]] = []  # ours, asterisk, actual, had to queue

    def arrival(self, number: int, position: int, free: int, now: float) -> None:
        handle = mean_handle_seconds(self.recent, self.default_handle)
        ours = estimated_wait(position, self.agents, handle, free_agents=free)
        self.pending[number] = (ours, float(self.holdtime), position > free)

    def answer(self, number: int, wait: float) -> None:
        ours, asterisk, queued = self.pending.pop(number)
        self.rows.append((ours, asterisk, wait, queued))
        self.holdtime = asterisk_holdtime(self.holdtime, int(wait))

    def release(self, handled: float) -> None:
        self.recent.append(handled)

    def hooks(self) -> Hooks:
        return Hooks(arrival=self.arrival, answer=self.answer, release=self.release)


def mae(rows: list[tuple[float, float, float, bool]], column: int) -> float:
    return statistics.fmean(abs(row[column] - row[2]) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(f"wait estimate at entry vs actual wait ({args.calls} calls per load, seed {args.seed})")
    header = f"  {'load':<34}{'callers':>9}{'mean wait':>11}{'MAE ours':>10}{'MAE Asterisk':>14}{'ratio':>7}"
    print(header)
    for rate, handle, agents in ((200.0, 180.0, 14), (200.0, 180.0, 11)):
        recorder = Recorder(agents, handle)
        simulate(args.seed, args.calls, rate, handle, agents, recorder.hooks())
        rows = recorder.rows[int(len(recorder.rows) * 0.02) :]  # as in erlang.py, leave the warm-up out
        occupancy = erlang_c(rate, handle, agents, 20).occupancy
        load = f"{rate:.0f}/h, {handle:.0f} s, {agents} agents ({occupancy:.0%})"
        for label, subset in ((load, rows), ("  of them, callers who queued", [r for r in rows if r[3]])):
            ours, asterisk = mae(subset, 0), mae(subset, 1)
            mean_wait = statistics.fmean(row[2] for row in subset)
            print(
                f"  {label:<34}{len(subset):>9}{mean_wait:>10.1f}s{ours:>9.1f}s{asterisk:>13.1f}s"
                f"{asterisk / ours:>6.1f}x"
            )


if __name__ == "__main__":
    main()
