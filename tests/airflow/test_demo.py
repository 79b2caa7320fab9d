"""The demo script, run as `make demo` runs it, prints the rock, paper and scissors table."""

import subprocess
import sys
from pathlib import Path

import localenv

EXPECTED_ROWS = [
    ["1", "rock", "100", "0.82", "0.95", "0.13", "behind", "human"],
    ["2", "scissors", "100", "0.75", "0.77", "0.02", "at", "human", "level"],
    ["3", "paper", "100", "0.97", "0.98", "0.01", "at", "human", "level"],
]


def test_demo_prints_seed_table(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(localenv.REPO / "scripts" / "demo.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**localenv.airflow_env(tmp_path / "unused", "http://127.0.0.1:9", "unused")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    header = lines.index("rank  class            support  model  human     gap  status")
    assert [line.split() for line in lines[header + 1 : header + 4]] == EXPECTED_ROWS
    report_path = Path(lines[-1])
    assert report_path == out.resolve() / "reports" / "dt=2026-11-05" / "report.json"
    assert report_path.is_file()
