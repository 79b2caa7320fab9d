"""Run the humangap DAG once against a local S3 endpoint and print the report.

Without --data it generates the rock, paper and scissors sample for one date.
With --data it uploads a folder in the input layout and runs over --from/--to.
It starts moto on loopback and Airflow in a throwaway AIRFLOW_HOME, downloads
the outputs to --out, prints the priority table and the Slack message, stops
what it started, and prints the local path of report.json last.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import localenv  # noqa: E402

BUCKET = "humangap-demo"
DAG_ID = "humangap_report"
SAMPLE_DATE = "2026-11-05"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="folder in the input layout (default: generated sample)")
    parser.add_argument("--from", dest="first", help="first prediction date, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", help="last prediction date, YYYY-MM-DD")
    parser.add_argument("--out", type=Path, default=Path("out"), help="where to download the outputs (default: out)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    from humangap import report, sample
    from humangap.window import WindowError, resolve_window

    work = Path(tempfile.mkdtemp(prefix="humangap-demo-"))
    try:
        if args.data is None:
            data = work / "sample"
            sample.write_sample(data, dt.date.fromisoformat(SAMPLE_DATE))
            first, last = args.first or SAMPLE_DATE, args.last or SAMPLE_DATE
        else:
            data = args.data
            if not data.is_dir():
                print(f"error: --data {data} is not a folder", file=sys.stderr)
                return 2
            if not (args.first and args.last):
                print("error: --data needs FROM and TO dates (YYYY-MM-DD)", file=sys.stderr)
                return 2
            missing = [name for name in ("predictions", "gold", "annotations") if not (data / name).is_dir()]
            if missing:
                print(
                    f"error: --data {data} has no {', '.join(missing)} folder(s); give the folder "
                    "that contains predictions/, gold/ and annotations/",
                    file=sys.stderr,
                )
                return 2
            first, last = args.first, args.last
        try:
            resolve_window(first, last, None, None)
        except WindowError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        with localenv.moto_server(work / "moto.log") as endpoint:
            client = localenv.s3_client(endpoint)
            client.create_bucket(Bucket=BUCKET)
            uploaded = localenv.upload_folder(client, BUCKET, data)
            print(f"Uploaded {uploaded} file(s) from {data} to s3://{BUCKET} at {endpoint}")
            env = localenv.airflow_env(work / "airflow", endpoint, BUCKET)
            localenv.migrate_db(env)
            print(f"Running {DAG_ID} over {first} to {last} with airflow dags test ...")
            logical_date = (dt.date.fromisoformat(last) + dt.timedelta(days=1)).isoformat()
            result = localenv.test_dag(env, DAG_ID, logical_date, {"first_date": first, "last_date": last})
            (work / "airflow-run.log").write_text(result.stdout + result.stderr)
            if result.returncode != 0 or "state=failed" in result.stdout + result.stderr:
                print(result.stdout[-4000:] + result.stderr[-4000:], file=sys.stderr)
                print("error: the DAG run failed; its log is above", file=sys.stderr)
                return 1
            out = args.out.resolve()
            if out.exists():
                shutil.rmtree(out / "reports", ignore_errors=True)
            paths = localenv.download_prefix(client, BUCKET, "reports/", out)
        report_paths = sorted(path for path in paths if path.name == "report.json")
        if not report_paths:
            print("error: the run published no report.json", file=sys.stderr)
            return 1
        report_path = report_paths[0]
        document = json.loads(report_path.read_text())
        message = json.loads((report_path.parent / "slack_message.json").read_text())
        print()
        print(report.format_table(document))
        print()
        print("Slack message:")
        print(message["text"])
        print()
        print(report_path)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
