"""The benchmark (benchmarks/run.py) runs end to end at a tiny N and writes every figure issues 7 and 16 name.

No timing assertions: the targets live in the benchmark itself. Its stores go to a temporary cache
folder (--cache-dir), never to benchmarks/.cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIGURES = (
    "startup_s",
    "startup_bare_s",
    "startup_ratio",
    "today_query_s",
    "caseload_query_s",
    "caseload_raw_sql_s",
    "caseload_query_ratio",
    "filter_keystroke_p95_s",
    "open_journey_s",
    "return_month_s",
    "export_month_s",
    "import_rows_per_s",
    "peak_rss_mb",
    # issue 16: the floors measured beside them, forms, quitting, and the same figures from a pseudo-terminal
    "open_journey_p95_s",
    "open_floor_s",
    "open_floor_p95_s",
    "open_journey_ratio",
    "filter_floor_p95_s",
    "filter_floor_median_s",
    "filter_keystroke_ratio",
    "form_ready_s",
    "form_ready_max_s",
    "form_relayouts",
    "quit_s",
    "quit_first_of_day_s",
    "import_max_writer_wait_s",
    "pty_startup_s",
    "pty_startup_bare_s",
    "pty_startup_ratio",
    "pty_open_journey_s",
    "pty_open_journey_p95_s",
    "pty_open_floor_s",
    "pty_filter_keystroke_p95_s",
    "pty_filter_floor_p95_s",
    "pty_form_ready_s",
)


def test_benchmark_runs_at_a_tiny_n(tmp_path):
    out = tmp_path / "result.json"
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVIGATOR_")}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--clients",
            "40",
            "--reps",
            "1",
            "--json",
            str(out),
            "--cache-dir",
            str(cache),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == result  # the same figures on stdout

    for key in FIGURES:
        assert key in result, key
        assert isinstance(result[key], (int, float)) and result[key] >= 0, (key, result[key])
    assert result["clients"] == 40
    assert result["events"] > 0 and result["journeys"] >= 40
    assert result["import_errors"] == 0 and result["import_rows"] > 0
    assert result["filter_keystrokes"] > 0  # the pilot typed into the Caseload filter
    assert result["errors"] == {}  # every probe ran (a failure would be recorded here, not raised)
    assert isinstance(result["form_ready_by_form"], dict) and "referral" in result["form_ready_by_form"]
    assert "verdicts" in result
    machine = result["machine"]
    assert machine["cpus"] and machine["platform"]
    versions = result["versions"]
    for pkg in ("navigator", "textual", "sqlalchemy", "sqlite", "python"):
        assert versions.get(pkg), pkg

    # the store was built (and backed up) in the temporary cache, not in benchmarks/.cache
    assert list(cache.glob("store-n40-s1-*.sqlite3"))
