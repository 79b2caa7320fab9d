"""Scheduled and manual runs of the same day read the same UTC partitions."""

import datetime as dt
import json
import subprocess
import sys

import pytest

import localenv
from humangap.window import window_from_interval

# Prints, for the DAG's own timetable, the interval of the scheduled run after
# PREVIOUS and the interval a manual run triggered at RUN_AFTER infers.
SCRIPT = """
import importlib.util, json, sys
import pendulum
from airflow.timetables.base import DataInterval, TimeRestriction
spec = importlib.util.spec_from_file_location("dagfile", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
timetable = module.humangap_report().timetable
previous_start, previous_end, run_after = (pendulum.parse(value) for value in sys.argv[2:5])
scheduled = timetable.next_dagrun_info(
    last_automated_data_interval=DataInterval(previous_start, previous_end),
    restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
).data_interval
manual = timetable.infer_manual_data_interval(run_after=run_after)
print(json.dumps({name: [i.start.isoformat(), i.end.isoformat()] for name, i in
                  (("scheduled", scheduled), ("manual", manual))}))
"""


def intervals(tmp_path, s3_endpoint, schedule, previous, run_after):
    env = localenv.airflow_env(tmp_path, s3_endpoint, "unused", HUMANGAP_SCHEDULE=schedule)
    path = str(localenv.REPO / "dags" / "humangap_report.py")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, path, *previous, run_after],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        name: window_from_interval(dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end))
        for name, (start, end) in found.items()
    }


@pytest.mark.airflow
@pytest.mark.parametrize(
    ("schedule", "previous", "run_after", "expected"),
    [
        pytest.param(
            "0 0 * * *", ("2026-11-03T00:00Z", "2026-11-04T00:00Z"), "2026-11-05T09:15Z", "2026-11-04",
            id="midnight",
        ),
        pytest.param(
            "30 23 * * *", ("2026-11-03T23:30Z", "2026-11-04T23:30Z"), "2026-11-06T00:10Z", "2026-11-04",
            id="starts-at-23-30",
        ),
    ],
)
def test_scheduled_and_manual_runs_read_same_dates(tmp_path, s3_endpoint, schedule, previous, run_after, expected):
    windows = intervals(tmp_path, s3_endpoint, schedule, previous, run_after)
    day = dt.date.fromisoformat(expected)
    assert windows["scheduled"].dates() == [day]
    assert windows["manual"].dates() == [day]
