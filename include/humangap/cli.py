"""Command line: ``python -m humangap report`` builds a report without Airflow.

It runs the same steps as the DAG (``pipeline.plan_inputs``, ``validate_and_count``
and ``publish``) on a local folder or an S3 prefix in the input layout, writes the
outputs to a local folder and prints the priority table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

from humangap import __version__, pipeline, report
from humangap.config import ConfigError, load_config
from humangap.readers import InputFormatError
from humangap.storage import LocalStore, S3ClientStore, StorageError
from humangap.validation import ValidationFailed
from humangap.window import WindowError, resolve_window

log = logging.getLogger(__name__)

# Inputs of this many files or more get a progress bar on stderr.
PROGRESS_MIN_FILES = 10


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into the bucket and the prefix ("" when none)."""
    rest = url[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ConfigError(f"invalid S3 URL {url!r}: expected s3://bucket or s3://bucket/prefix")
    return bucket, prefix.strip("/")


def input_store(location: str, endpoint_url: str | None) -> tuple[Any, dict[str, Any]]:
    """Return the store of ``--input`` and the configuration values it implies."""
    if location.startswith("s3://"):
        import boto3

        bucket, prefix = parse_s3_url(location)
        client = boto3.client("s3", endpoint_url=endpoint_url)
        return S3ClientStore(client, bucket), {"bucket": bucket, "prefix": prefix}
    folder = Path(location)
    if not folder.is_dir():
        raise StorageError(
            f"--input {location} is not a folder: give a folder in the input layout "
            "or an s3://bucket/prefix URL"
        )
    # The folder replaces the bucket, so its prefix is "" and the bucket name
    # only has to be valid.
    return LocalStore(folder), {"bucket": "local-folder", "prefix": ""}


def progress_bar(total_files: int, enabled: bool | None):
    """Return a ``progress(files, source, total)`` wrapper for ``pipeline.validate_and_count``."""
    show = total_files >= PROGRESS_MIN_FILES if enabled is None else enabled
    if not show:
        return None
    from tqdm import tqdm

    def wrap(files: Iterable, source: str, total: int) -> Iterable:
        return tqdm(
            files, total=total, desc=f"reading {source}", unit="file", file=sys.stderr, leave=False
        )

    return wrap


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m humangap",
        description="Per-class gap between a classifier and its human annotators.",
    )
    parser.add_argument("--version", action="version", version=f"humangap {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser(
        "report",
        help="build a report from local files or S3, as the DAG does",
        description=(
            "Build report.json, per_class.csv, report.html, validation.json and "
            "slack_message.json for a prediction window, write them under --out, "
            "and print the priority table."
        ),
    )
    build.add_argument(
        "--input", required=True,
        help="folder in the input layout, or s3://bucket/prefix",
    )
    build.add_argument(
        "--from", dest="first_date", required=True, help="first prediction date, YYYY-MM-DD"
    )
    build.add_argument(
        "--to", dest="last_date", help="last prediction date, YYYY-MM-DD (default: --from)"
    )
    build.add_argument("--out", required=True, type=Path, help="folder the outputs are written to")
    build.add_argument("--endpoint-url", help="S3 endpoint URL, for MinIO or a local S3 server")
    build.add_argument(
        "--classes", help="comma-separated class set (default: the gold labels seen)"
    )
    build.add_argument(
        "--lookback-days", type=int, help="days of labels read before the window (default 30)"
    )
    build.add_argument(
        "--output-prefix", help="folder of the reports inside --out (default: reports)"
    )

    progress = build.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress", dest="progress", action="store_true", default=None,
        help=f"always show a progress bar (default: with {PROGRESS_MIN_FILES} or more files)",
    )
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never show one"
    )
    return parser


def run_report_command(args: argparse.Namespace) -> int:
    """Build the report that ``args`` describe; return the exit code."""
    store, implied = input_store(args.input, args.endpoint_url)
    overrides: dict[str, Any] = {
        **implied,
        "lookback_days": args.lookback_days,
        "output_prefix": args.output_prefix,
    }
    if args.classes:
        overrides["classes"] = [name.strip() for name in args.classes.split(",") if name.strip()]
    # HUMANGAP_BUCKET and HUMANGAP_PREFIX name the DAG's bucket; --input replaces them.
    config = load_config(overrides)

    window = resolve_window(args.first_date, args.last_date, None, None)
    output = LocalStore(args.out)
    plan = pipeline.plan_inputs(store, config, window)
    total = sum(len(keys) for keys in plan["keys"].values())
    counted = pipeline.validate_and_count(
        store, config, plan, output, progress_bar(total, args.progress)
    )

    run = {
        "dag_id": None,
        "run_id": None,
        "run_type": "command_line",
        "data_interval_start": None,
        "data_interval_end": None,
    }
    published = pipeline.publish(store, plan, counted, run, output)
    document = json.loads(output.read_bytes(published["report_key"]))
    print(report.format_table(document))
    print()
    print(output.url(published["report_key"]))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("HUMANGAP_LOG_LEVEL", "WARNING"),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return run_report_command(args)
    except (ConfigError, WindowError, StorageError, InputFormatError, ValidationFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
