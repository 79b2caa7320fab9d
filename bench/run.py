"""Benchmark humangap against the ways people compute the same figures by hand.

One run generates seeded data of the requested size, then runs each method in
its own Python process, so that each peak RSS belongs to one method alone:

- compute: humangap's ``count_labels`` and per-class rows, scikit-learn's
  ``recall_score`` on the joined string labels, a plain pandas merge and
  groupby, and one hand-written DuckDB query, all on the same data frames;
- full path: ``pipeline.run_report`` on a local folder (list, read Parquet and
  CSV, validate with Great Expectations, count, render and write), timed per stage;
- stream: ``stream.count_stream`` over one and over ``--stream-files`` prediction
  files, to show that the peak does not grow with the number of files.

It prints a table of times, ratios against humangap and peak RSS, checks that
all methods agree on the numbers, and can save everything as JSON.

Example: ``python bench/run.py --predictions 1000000``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "include"))
sys.path.insert(0, str(BENCH))

QUIET_ENV = {
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "true",
    "SCARF_ANALYTICS": "false",
    "AWS_EC2_METADATA_DISABLED": "true",
}
TARGETS = {
    "sklearn": 20.0,  # humangap at least this many times faster
    "pandas": 3.0,
    "duckdb": 1 / 1.5,  # humangap no slower than 1.5 times DuckDB
}
FULL_PATH_LIMIT_SECONDS = 60.0
PEAK_RSS_LIMIT_MB = 4096.0
# "About the same peak" for many files as for one, read as at most 10% higher.
STREAM_GROWTH_LIMIT = 1.10


def _status_mb(field: str) -> float:
    """Return a memory field of ``/proc/self/status`` (Linux, in KiB) in MiB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found in /proc/self/status: the benchmark needs Linux")


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB.

    ``VmHWM`` starts afresh at ``exec``. ``getrusage``'s ``ru_maxrss`` would
    also keep the parent's peak from before the ``fork``.
    """
    return _status_mb("VmHWM")


def current_rss_mb() -> float:
    return _status_mb("VmRSS")


# Workers: each runs in a fresh process started by ``main``.


def load_frames(root: Path) -> dict[str, Any]:
    """Read the generated layout into frames with pyarrow-backed string columns."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from humangap.readers import STRING_DTYPE

    def frame(table: pa.Table) -> pd.DataFrame:
        result = table.to_pandas()
        for name in result.columns:
            if name != "score":
                result[name] = result[name].astype(STRING_DTYPE)
        return result

    def read(source: str) -> list[pa.Table]:
        files = sorted((root / source).rglob("*.*"))
        if source == "predictions":
            return [pq.read_table(path) for path in files]
        strings = pacsv.ConvertOptions(column_types={"item_id": pa.string(), "label": pa.string()})
        return [pacsv.read_csv(path, convert_options=strings) for path in files]

    return {source: frame(pa.concat_tables(read(source))) for source in ("predictions", "gold", "annotations")}


def worker_compute(method: str, root: Path, repeat: int) -> dict[str, Any]:
    import gc

    from methods import COMPUTE_METHODS, plain_checks

    if method == "checks":
        frames = load_frames(root)
        loaded = current_rss_mb()
        start = time.perf_counter()
        bad = plain_checks(frames["gold"], frames["predictions"], frames["annotations"])
        return {"seconds": time.perf_counter() - start, "rss_loaded_mb": loaded, "bad_rows": bad}

    frames = load_frames(root)
    loaded = current_rss_mb()
    function = COMPUTE_METHODS[method]
    times = []
    rows: list[dict[str, Any]] = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        rows = function(frames["gold"], frames["predictions"], frames["annotations"])
        times.append(time.perf_counter() - start)
    return {"seconds": min(times), "all_seconds": times, "rss_loaded_mb": loaded, "rows": rows}


def worker_full(root: Path) -> dict[str, Any]:
    """Run ``pipeline.run_report`` on the folder, timing each stage through wrappers."""
    from humangap import pipeline
    from humangap.config import HumangapConfig
    from humangap.storage import LocalStore
    from humangap.window import resolve_window

    from data import DAY

    stages: dict[str, float] = {}
    # The process's peak RSS so far, as each stage ends: shows which stage sets the peak.
    peaks: dict[str, float] = {}

    def timed(stage: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - start
                peaks[stage] = peak_rss_mb()

        return wrapper

    store = LocalStore(root)
    pipeline.plan_inputs = timed("list", pipeline.plan_inputs)
    # read_inputs fetches and parses the files in threads. Timing it as a whole gives
    # the wall time of the stage, where adding up per-file times would count
    # overlapping reads more than once.
    pipeline.read_inputs = timed("read", pipeline.read_inputs)
    pipeline.validate_inputs = timed("validate", pipeline.validate_inputs)
    # count_labels also yields the coverage figures, from the same joins.
    pipeline.count_labels = timed("count", pipeline.count_labels)
    # Counting again without outlier annotators happens only when the pool has outliers.
    pipeline.annotators.outlier_ids = timed("count", pipeline.annotators.outlier_ids)
    pipeline.annotators.count_without = timed("count", pipeline.annotators.count_without)
    pipeline.publish = timed("publish", pipeline.publish)
    config = HumangapConfig(bucket="bench", lookback_days=0)
    window = resolve_window(DAY, None, None, None)
    start = time.perf_counter()
    published = pipeline.run_report(store, config, window, {"dag_id": None, "run_id": "bench"})
    total = time.perf_counter() - start
    stages["other"] = total - sum(stages.values())
    report = json.loads((root / published["report_key"]).read_text())
    rows = []
    for model in report["models"]:
        for row in model["classes"]:
            if row["support"]:
                rows.append(
                    {
                        "model_version": model["model_version"] or "",
                        "class": row["class"],
                        **{
                            name: row[name]
                            for name in (
                                "support",
                                "model_correct",
                                "human_labels",
                                "human_correct",
                                "model_accuracy",
                                "human_accuracy",
                            )
                        },
                    }
                )
    return {"seconds": total, "stages": stages, "peak_after_stage_mb": peaks, "rows": rows}


def worker_stream(root: Path, files: int) -> dict[str, Any]:
    """Stream the first ``files`` prediction files of the folder through ``count_stream``."""
    from humangap.config import HumangapConfig
    from humangap.storage import LocalStore
    from humangap.stream import count_stream, read_prediction_files

    frames = load_frames_labels(root)
    loaded = current_rss_mb()
    store = LocalStore(root)
    keys = [key for key in store.list_keys("predictions/") if key.endswith(".parquet")][:files]
    start = time.perf_counter()
    result = count_stream(
        frames["gold"],
        frames["annotations"],
        read_prediction_files(store, keys, HumangapConfig(bucket="bench")),
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss_loaded_mb": loaded,
        "files": result.files,
        "prediction_rows": result.prediction_rows,
        "counts": result.counts.to_records(),
    }


def load_frames_labels(root: Path) -> dict[str, Any]:
    """Read only gold labels and annotations (the stream reads predictions itself)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from humangap.readers import STRING_DTYPE

    frames = {}
    for source in ("gold", "annotations"):
        tables = [pacsv.read_csv(path) for path in sorted((root / source).rglob("*.csv"))]
        frame = pa.concat_tables(tables).to_pandas()
        frames[source] = frame.astype({name: STRING_DTYPE for name in frame.columns})
    return frames


def run_worker(args: argparse.Namespace) -> int:
    if args.worker == "full":
        result = worker_full(args.root)
    elif args.worker == "stream":
        result = worker_stream(args.root, args.files)
    else:
        result = worker_compute(args.worker, args.root, args.repeat)
    result["peak_rss_mb"] = peak_rss_mb()
    args.output.write_text(json.dumps(result, default=str))
    return 0


# The parent: generate data, start workers, print the table.


def spawn(worker: str, root: Path, scratch: Path, **options: Any) -> dict[str, Any]:
    """Run one worker in a new process and return what it wrote."""
    output = scratch / f"{worker}-{options.get('files', '')}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", worker, "--root", str(root)]
    command += ["--output", str(output)]
    for name, value in options.items():
        command += [f"--{name}", str(value)]
    environment = {**os.environ, **QUIET_ENV, "PYTHONPATH": str(REPO / "include")}
    started = time.perf_counter()
    completed = subprocess.run(command, env=environment, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"worker {worker} failed:\n{completed.stderr[-4000:]}")
    result = json.loads(output.read_text())
    result["wall_seconds"] = time.perf_counter() - started
    return result


def machine() -> dict[str, Any]:
    """Describe the machine and the package versions behind the figures."""
    import duckdb
    import great_expectations
    import numpy
    import pandas
    import pyarrow
    import sklearn

    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        memory_kib = int(handle.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(memory_kib / 2**20, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "packages": {
            "pandas": pandas.__version__,
            "pyarrow": pyarrow.__version__,
            "numpy": numpy.__version__,
            "duckdb": duckdb.__version__,
            "scikit-learn": sklearn.__version__,
            "great-expectations": great_expectations.__version__,
        },
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=1_000_000, help="prediction rows in all (default 1000000)")
    parser.add_argument("--models", type=int, default=1, help="model versions; items = predictions / models (default 1)")
    parser.add_argument("--classes", type=int, default=10, help="number of classes (default 10)")
    parser.add_argument("--labelled-share", type=float, default=0.1, help="share of items with human labels (default 0.1)")
    parser.add_argument("--labels-per-item", type=int, default=3, help="human labels per labelled item (default 3)")
    parser.add_argument("--files", type=int, default=1, help="prediction files the data is split into (default 1)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each compute method; the fastest counts (default 3)")
    parser.add_argument(
        "--methods",
        default="humangap,humangap+stats,sklearn,pandas,duckdb",
        help="compute methods to run, comma-separated, or 'none' to run only the full path "
        "and the stream",
    )
    parser.add_argument("--skip-full", action="store_true", help="skip the full path from files to report")
    parser.add_argument(
        "--stream-files",
        type=int,
        default=0,
        help="also stream this many prediction files of --predictions rows each, "
        "against one such file, to compare peak RSS (default 0: skip)",
    )
    parser.add_argument("--json", type=Path, help="also write all results to this JSON file")
    parser.add_argument("--keep", type=Path, help="generate the data in this folder and keep it")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def generate_into(root: Path, spec: Any) -> float:
    from data import generate, write_layout

    start = time.perf_counter()
    write_layout(generate(spec), root)
    return time.perf_counter() - start


def ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)
    from data import DataSpec
    from methods import disagreements

    if args.predictions % args.models:
        raise SystemExit(f"--predictions {args.predictions} is not a multiple of --models {args.models}")
    spec = DataSpec(
        items=args.predictions // args.models,
        classes=args.classes,
        models=args.models,
        labelled_share=args.labelled_share,
        labels_per_item=args.labels_per_item,
        files=args.files,
        seed=args.seed,
    )
    scratch = Path(tempfile.mkdtemp(prefix="humangap-bench-"))
    root = args.keep or scratch / "data"
    results: dict[str, Any] = {"machine": machine(), "spec": vars(spec) | {"predictions": spec.predictions}}
    results["command"] = " ".join([Path(sys.executable).name, "bench/run.py", *(argv or sys.argv[1:])])
    try:
        print(f"Generating {spec} in {root} ...", flush=True)
        results["generate_seconds"] = generate_into(root, spec)
        compute: dict[str, Any] = {}
        methods = [] if args.methods == "none" else args.methods.split(",")
        for method in methods:
            print(f"Running {method} ...", flush=True)
            compute[method] = spawn(method, root, scratch, repeat=args.repeat)
        results["compute"] = compute
        if not args.skip_full:
            print("Running the full path ...", flush=True)
            results["full"] = spawn("full", root, scratch)
            print("Running the validation checks in plain pandas ...", flush=True)
            results["checks"] = spawn("checks", root, scratch)
        if args.stream_files:
            results["stream"] = run_stream(args, scratch)
        results["machine"]["load_average_end"] = os.getloadavg()
        report(results, disagreements)
        if args.json:
            args.json.write_text(json.dumps(strip_rows(results), indent=2, default=str))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if results.get("agree", True) else 1


def run_stream(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Stream one file and ``--stream-files`` files of ``--predictions`` rows each."""
    from data import DataSpec

    spec = DataSpec(
        items=args.predictions,
        classes=args.classes,
        models=args.stream_files,
        labelled_share=args.labelled_share,
        labels_per_item=args.labels_per_item,
        files=args.stream_files,
        seed=args.seed,
    )
    from data import write_model_files

    root = scratch / "stream"
    print(f"Generating {args.stream_files} prediction files for the stream ...", flush=True)
    write_model_files(spec, root)
    runs = {}
    for files in (1, args.stream_files):
        print(f"Streaming {files} file(s) ...", flush=True)
        runs[str(files)] = spawn("stream", root, scratch, files=files)
    shutil.rmtree(root, ignore_errors=True)
    return runs


def strip_rows(results: dict[str, Any]) -> dict[str, Any]:
    """Drop the per-class rows and counts, which the JSON record does not need."""
    copy = json.loads(json.dumps(results, default=str))
    for entry in list(copy.get("compute", {}).values()) + [copy.get("full", {}), copy.get("checks", {})]:
        entry.pop("rows", None)
    for entry in copy.get("stream", {}).values():
        entry.pop("counts", None)
    return copy


def report(results: dict[str, Any], disagreements: Any) -> None:
    """Print the tables and the target checks, and set ``results["agree"]``."""
    info = results["machine"]
    print()
    print(f"Machine: {info['nproc']} CPUs, {info['cpu']}, {info['ram_gib']} GiB RAM, Python {info['python']}")
    print(f"Load average at start {info['load_average']}, at end {info['load_average_end']}")
    print(f"Data: {results['spec']}")
    reference = results["compute"].get("humangap")
    agree = print_compute(results["compute"], reference, disagreements)
    if "full" in results:
        agree = print_full(results["full"], reference, disagreements) and agree
    if "checks" in results:
        print_checks(results["checks"], results["full"])
    if "stream" in results:
        print_stream(results["stream"])
    print_targets(results, reference)
    print(f"  all methods agree on the numbers: {'yes' if agree else 'NO'}")
    results["agree"] = agree


def print_compute(compute: dict[str, Any], reference: dict[str, Any] | None, disagreements: Any) -> bool:
    """Print one row per compute method and return whether all agree with humangap."""
    agree = True
    print()
    print(f"{'method':<15} {'seconds':>9} {'vs humangap':>12} {'RSS loaded MiB':>15} {'peak RSS MiB':>13}  agrees")
    for method, entry in compute.items():
        ratio = entry["seconds"] / reference["seconds"] if reference else None
        problems = disagreements(reference["rows"], entry["rows"]) if reference else []
        entry["disagreements"] = problems[:10]
        agree = agree and not problems
        print(
            f"{method:<15} {entry['seconds']:>9.3f} {ratio_text(ratio):>12} "
            f"{entry['rss_loaded_mb']:>15.0f} {entry['peak_rss_mb']:>13.0f}  {'yes' if not problems else 'NO'}"
        )
        for problem in problems[:5]:
            print(f"    {problem}")
    return agree


def print_full(full: dict[str, Any], reference: dict[str, Any] | None, disagreements: Any) -> bool:
    """Print the full path's stages and return whether its report agrees with humangap's compute."""
    problems = disagreements(reference["rows"], full["rows"]) if reference else []
    full["disagreements"] = problems[:10]
    stages = ", ".join(f"{name} {seconds:.2f}" for name, seconds in full["stages"].items())
    print()
    print(f"Full path, files to report: {full['seconds']:.2f} s ({stages}); peak RSS {full['peak_rss_mb']:.0f} MiB")
    peaks = ", ".join(f"{name} {peak:.0f}" for name, peak in full["peak_after_stage_mb"].items())
    print(f"  peak RSS MiB after each stage: {peaks}")
    if reference is None:
        print("  report not compared: the humangap compute method did not run")
    else:
        print(f"  report agrees with the compute stage: {'yes' if not problems else 'NO'}")
    return not problems


def print_checks(checks: dict[str, Any], full: dict[str, Any]) -> None:
    """Print what the validation checks cost in plain pandas, beside the GX stage."""
    bad = sum(checks["bad_rows"].values())
    print(
        f"  the same row checks in plain pandas: {checks['seconds']:.2f} s ({bad} bad rows), "
        f"against {full['stages'].get('validate', 0.0):.2f} s through Great Expectations"
    )


def print_stream(runs: dict[str, Any]) -> None:
    print()
    first = runs["1"]
    for files, entry in runs.items():
        print(
            f"Stream of {files:>4} file(s), {entry['prediction_rows']} rows: {entry['seconds']:.2f} s, "
            f"peak RSS {entry['peak_rss_mb']:.0f} MiB (labels loaded: {entry['rss_loaded_mb']:.0f} MiB), "
            f"{entry['peak_rss_mb'] / first['peak_rss_mb']:.2f} of the one-file peak"
        )


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def print_targets(results: dict[str, Any], reference: dict[str, Any] | None) -> None:
    compute = results["compute"]
    print()
    print("Targets:")
    if reference:
        for method, factor in TARGETS.items():
            if method in compute:
                ratio = compute[method]["seconds"] / reference["seconds"]
                wanted = f">= {factor:.1f}x" if factor >= 1 else f">= {factor:.2f}x (DuckDB at most 1.5x faster)"
                print(f"  compute vs {method}: {ratio:.2f}x, target {wanted}: {verdict(ratio >= factor)}")
    if "full" in results:
        full = results["full"]
        seconds, validate = full["seconds"], full["stages"].get("validate", 0.0)
        print(f"  full path {seconds:.1f} s, target < {FULL_PATH_LIMIT_SECONDS:.0f} s: {verdict(seconds < FULL_PATH_LIMIT_SECONDS)}")
        print(f"  validation {validate:.1f} s = {validate / seconds:.0%} of it, target <= 50%: {verdict(validate <= seconds / 2)}")
        peaks = [full["peak_rss_mb"]] + ([reference["peak_rss_mb"]] if reference else [])
        print(f"  humangap peak RSS {max(peaks):.0f} MiB, target < {PEAK_RSS_LIMIT_MB:.0f} MiB: {verdict(max(peaks) < PEAK_RSS_LIMIT_MB)}")
    if "stream" in results:
        runs = results["stream"]
        growth = max(entry["peak_rss_mb"] for entry in runs.values()) / runs["1"]["peak_rss_mb"]
        print(
            f"  stream peak with {max(runs, key=int)} files is {growth:.2f} of one file's, "
            f"target <= {STREAM_GROWTH_LIMIT:.2f}: {verdict(growth <= STREAM_GROWTH_LIMIT)}"
        )


if __name__ == "__main__":
    sys.exit(main())
