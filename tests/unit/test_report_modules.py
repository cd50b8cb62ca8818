"""The reports' and the floor's figures, CSV and self-contained files need neither Flask nor the app factory.

Writing a report file once imported `create_app` (an import cycle with the app); the files are now
rendered from the pages' templates by Jinja alone. Each module is imported in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

WITHOUT_FLASK = [
    "ivr.quality.report_file",
    "ivr.quality.report_csv",
    "ivr.surveys.report_file",
    "ivr.surveys.report_csv",
    "ivr.surveys.follow_ups",
    "ivr.queueing.board",
    "ivr.queueing.history",
    "ivr.queueing.staffing",
    "ivr.queueing.shift_moves",
    "ivr.web.charts",
    "ivr.web.report_file",
]


@pytest.mark.parametrize("module", WITHOUT_FLASK)
def test_the_module_loads_without_flask_or_the_app(module: str) -> None:
    check = (
        f"import sys, {module}; "
        "loaded = sorted(name for name in ('flask', 'ivr.app', 'ivr.hotline') if name in sys.modules); "
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} brings along {result.stdout.strip()}"
