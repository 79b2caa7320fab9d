"""``python -m humangap report``: local folders and S3 in, a folder out."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import localenv
from humangap import cli, sample

REPO = Path(__file__).resolve().parents[2]
DAY = "2026-11-05"


def run_cli(*args, env_extra=None):
    env = {**os.environ, **localenv.QUIET_ENV, "PYTHONPATH": str(REPO / "include")}
    env.pop("HUMANGAP_BUCKET", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "humangap", "report", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


def test_local_folder_report(tmp_path):
    data = tmp_path / "data"
    sample.write_sample(data, dt.date.fromisoformat(DAY))
    out = tmp_path / "out"
    result = run_cli("--input", str(data), "--from", DAY, "--out", str(out))
    assert result.returncode == 0, result.stderr
    folder = out / "reports" / f"dt={DAY}"
    assert sorted(path.name for path in folder.iterdir()) == [
        "annotators.csv", "per_class.csv", "report.html", "report.json", "slack_message.json", "validation.json",
    ]
    report = json.loads((folder / "report.json").read_text())
    assert report["run"]["run_type"] == "command_line"
    lines = result.stdout.splitlines()
    # The sample's rock: model 82/100, humans 95/100 (see humangap.sample).
    assert lines[0].startswith("Model rps-v1: Humans are ahead on 1 of 3 measured classes")
    assert lines[2].split() == ["1", "rock", "100", "0.82", "0.95", "0.13", "behind", "human"]
    assert lines[-1] == (folder / "report.json").resolve().as_uri()
    # Three files are below the progress bar's threshold.
    assert "reading predictions" not in result.stderr


def test_progress_bar_on_stderr(tmp_path, capsys):
    data = tmp_path / "data"
    sample.write_sample(data, dt.date.fromisoformat(DAY))
    code = cli.main(["report", "--input", str(data), "--from", DAY, "--out", str(tmp_path / "out"), "--progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "reading predictions" in captured.err
    assert "reading annotations" in captured.err
    assert "reading" not in captured.out


def test_progress_bar_threshold():
    assert cli.progress_bar(cli.PROGRESS_MIN_FILES - 1, None) is None
    assert cli.progress_bar(cli.PROGRESS_MIN_FILES, None) is not None
    assert cli.progress_bar(1, True) is not None
    assert cli.progress_bar(1000, False) is None


def test_s3_input(tmp_path, s3, bucket, s3_endpoint):
    data = tmp_path / "data"
    sample.write_sample(data, dt.date.fromisoformat(DAY))
    localenv.upload_folder(s3, bucket, data, prefix="team/a")
    credentials = {
        "AWS_ACCESS_KEY_ID": localenv.TEST_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": localenv.TEST_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = tmp_path / "out"
    result = run_cli(
        "--input", f"s3://{bucket}/team/a", "--from", DAY, "--to", DAY, "--out", str(out),
        "--endpoint-url", s3_endpoint, env_extra=credentials,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "reports" / f"dt={DAY}" / "report.json").read_text())
    assert report["inputs"]["predictions"]["keys"] == [f"team/a/predictions/dt={DAY}/predictions.parquet"]
    # Nothing is written to the input bucket.
    assert localenv_keys(s3, bucket, "reports/") == []


def localenv_keys(s3, bucket, prefix):
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_missing_folder_is_a_clear_error(tmp_path, capsys):
    code = cli.main(["report", "--input", str(tmp_path / "absent"), "--from", DAY, "--out", str(tmp_path / "out")])
    assert code == 2
    assert f"error: --input {tmp_path / 'absent'} is not a folder" in capsys.readouterr().err


def test_bad_date_is_a_clear_error(tmp_path, capsys):
    code = cli.main(["report", "--input", str(tmp_path), "--from", "05/11/2026", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "invalid first_date '05/11/2026': expected a date as YYYY-MM-DD" in capsys.readouterr().err


def test_parse_s3_url():
    assert cli.parse_s3_url("s3://bucket") == ("bucket", "")
    assert cli.parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b")
