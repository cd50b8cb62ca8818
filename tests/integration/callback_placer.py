"""A scheduler process for the crash tests: runs one step of the scheduler's jobs once, with the settings of
its environment, as if `minutes ahead` later (stale claims age without the test waiting).

    python -m tests.integration.callback_placer surveys MINUTES_AHEAD   # the place_callbacks job's placing
    python -m tests.integration.callback_placer queue MINUTES_AHEAD     # tidy_agents, then the dispatcher
"""

from __future__ import annotations

import sys
from datetime import timedelta

from ivr.config import load_settings
from ivr.db.models import utcnow
from ivr.hotline import Hotline
from ivr.jobs.tasks import dispatch, place_due_callbacks, release_stale
from ivr.surveys.jobs import Pacer


def main() -> None:
    kind, ahead = sys.argv[1], timedelta(minutes=float(sys.argv[2]))
    hotline = Hotline.build(load_settings())
    if kind == "surveys":
        report = place_due_callbacks(hotline, Pacer(1000), now=lambda: utcnow() + ahead)
        print(f"placed={len(report.placed)} adopted={report.adopted} released={report.released}", flush=True)
    else:
        released = release_stale(hotline, utcnow() + ahead)
        offers = dispatch(hotline, utcnow() + ahead)
        print(f"released={released} offered={len(offers)}", flush=True)
    hotline.engine.dispose()


if __name__ == "__main__":
    main()
