"""A scheduler process for the crash tests: runs the place_callbacks job's placing step once, with the
settings of its environment, as if `minutes ahead` later (stale claims age without the test waiting).

    python -m tests.integration.callback_placer MINUTES_AHEAD
"""

from __future__ import annotations

import sys
from datetime import timedelta

from ivr.config import load_settings
from ivr.db.models import utcnow
from ivr.hotline import Hotline
from ivr.services.callback_jobs import Pacer, place_due_callbacks


def main() -> None:
    ahead = timedelta(minutes=float(sys.argv[1]))
    hotline = Hotline.build(load_settings())
    report = place_due_callbacks(hotline, Pacer(1000), now=lambda: utcnow() + ahead)
    print(f"placed={len(report.placed)} adopted={report.adopted} released={report.released}", flush=True)
    hotline.engine.dispose()


if __name__ == "__main__":
    main()
