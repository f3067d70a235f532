"""The benchmark (benchmarks/run.py) runs end to end at a tiny N and writes every figure issue 7 names.

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
    machine = result["machine"]
    assert machine["cpus"] and machine["platform"]
    versions = result["versions"]
    for pkg in ("navigator", "textual", "sqlalchemy", "sqlite", "python"):
        assert versions.get(pkg), pkg

    # the store was built (and backed up) in the temporary cache, not in benchmarks/.cache
    assert list(cache.glob("store-n40-s1-*.sqlite3"))
