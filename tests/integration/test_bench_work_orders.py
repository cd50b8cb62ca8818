"""bench/work_orders.py runs (a small --rows on SQLite), measures what it says, and reuses its fill."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    args = ["--rows", "6000", "--repeat", "3", "--databases", "sqlite"]
    args += ["--sqlite-path", str(tmp_path / "bench.db"), "--json", str(tmp_path / "figures.json")]
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "work_orders.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_the_benchmark_fills_measures_and_keeps_its_database(tmp_path):
    first = _run(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "sqlite: filled in" in first.stdout
    assert "sqlite: 120 open orders" in first.stdout  # 2 % of the orders are open
    figures = json.loads((tmp_path / "figures.json").read_text(encoding="utf-8"))
    assert figures["rows"] == 6000
    measured = figures["databases"]["sqlite"]
    claim = measured["sweep claim"]
    assert claim["query"]["rows"] == claim["baseline"]["rows"] == 5  # the timers due at "now"
    assert measured["sweep batch (claim and fire, rolled back)"]["query"]["rows"] == 5
    page = next(value for key, value in measured.items() if key.startswith("desk queue, first page"))
    # The baseline reads the desk's orders with a due time: 51 (a page and one) when the desk has that many
    assert page["query"]["rows"] == 50 and 40 <= page["baseline"]["rows"] <= 51
    timed = [value for key, value in measured.items() if not key.startswith("export")]
    assert all(value["query"]["median_ms"] > 0 and value["ratio"] > 0 for value in timed)
    year = measured["export, a year"]  # the whole fill lies within the year before "now"
    assert year["rows"] == year["baseline_rows"] == 6000 and year["first_piece_ms"] > 0

    again = _run(tmp_path)  # the sweep batch was rolled back each time: the same timers are still due
    assert again.returncode == 0, again.stderr
    assert "the database holds this fill already, kept" in again.stdout
    assert "5 due at" in again.stdout
