"""
### humangap report

Reads a classifier's predictions, gold labels and human annotations from S3 and
validates them with Great Expectations. Then it computes per class the model's
accuracy, the human baseline's accuracy and the gap, and publishes `report.json`,
`per_class.csv` and `report.html` under `reports/dt=<interval start>/`, then posts
a summary to Slack.

**Window.** A scheduled or backfill run reads the predictions of its data
interval (a daily run: the day the interval starts). A manual run with
`first_date` and/or `last_date` params reads that window instead (one of them
alone means one day), and writes to `reports/dt=<date>/` for one day, else to
`reports/window=<first>_<last>/`. A manual run with neither param and no data
interval reads the last complete interval before the run was triggered.

**Tasks.** `plan_inputs` lists the input files and validates the labels;
`count_predictions` is mapped over the prediction files and validates and counts
one file each; `publish_report` adds up the counts, writes `validation.json` and
the report; `notify_slack` posts the summary.

**Publishing.** `report.json` is written after the other report files and marks the
folder complete; `reports/latest.json` then points at the newest report. The
publish task emits the asset `s3://<bucket>/<output prefix>/` (or
`humangap://reports/humangap_report` when `HUMANGAP_BUCKET` is unset while the DAG
file is parsed).

**Slack.** Scheduled and manual runs post once per run; backfill runs post only
with the param `post_to_slack_on_backfill`.

Settings come from the environment of the Airflow processes: `HUMANGAP_BUCKET`,
`HUMANGAP_PREFIX`, `HUMANGAP_CONFIG`, `HUMANGAP_SCHEDULE` and the others in
docs/configuration.md.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

AWS_CONN_ID = os.environ.get("HUMANGAP_AWS_CONN_ID", "aws_default")
SLACK_CONN_ID = os.environ.get("HUMANGAP_SLACK_CONN_ID", "slack_default")
SCHEDULE = os.environ.get("HUMANGAP_SCHEDULE", "0 0 * * *")
START_DATE = os.environ.get("HUMANGAP_START_DATE", "2026-01-01")
END_DATE = os.environ.get("HUMANGAP_END_DATE") or None
CATCHUP = os.environ.get("HUMANGAP_CATCHUP", "false").strip().lower() in ("1", "true", "yes")
MAX_ACTIVE_RUNS = int(os.environ.get("HUMANGAP_MAX_ACTIVE_RUNS", "4"))
RETRIES = int(os.environ.get("HUMANGAP_RETRIES", "2"))
RETRY_DELAY_SECONDS = float(os.environ.get("HUMANGAP_RETRY_DELAY_SECONDS", "30"))
BACKFILL_RUN_TYPE = "backfill"


def report_asset() -> Asset:
    """Return the asset that each published report updates."""
    bucket = os.environ.get("HUMANGAP_BUCKET")
    if not bucket:
        return Asset("humangap://reports/humangap_report", group="humangap")
    prefix = os.environ.get("HUMANGAP_OUTPUT_PREFIX", "reports").strip("/")
    return Asset(f"s3://{bucket}/{prefix}/" if prefix else f"s3://{bucket}/", group="humangap")


REPORT_ASSET = report_asset()


def _config():
    from humangap.config import load_config

    return load_config()


def _store(config):
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from humangap.storage import S3HookStore

    return S3HookStore(S3Hook(aws_conn_id=AWS_CONN_ID), config.bucket)


def _fail_on_bad_input(function, *args):
    """Call ``function``; turn bad input into a failure that Airflow does not retry."""
    from airflow.sdk.exceptions import AirflowFailException

    from humangap.readers import InputFormatError
    from humangap.validation import ValidationFailed
    from humangap.window import WindowError

    try:
        return function(*args)
    except (ValidationFailed, InputFormatError, WindowError) as error:
        # Bad input does not get better with a retry.
        raise AirflowFailException(str(error)) from None


def _run_type(context) -> str:
    """Return the run type as its value, such as "backfill" or "scheduled"."""
    run_type = context["dag_run"].run_type
    # The task SDK gives an enum whose str() is "DagRunType.BACKFILL".
    return str(getattr(run_type, "value", run_type))


@dag(
    dag_id="humangap_report",
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone="UTC"),
    start_date=dt.datetime.fromisoformat(START_DATE).replace(tzinfo=dt.timezone.utc),
    end_date=(
        dt.datetime.fromisoformat(END_DATE).replace(tzinfo=dt.timezone.utc) if END_DATE else None
    ),
    catchup=CATCHUP,
    max_active_runs=MAX_ACTIVE_RUNS,
    default_args={"retries": RETRIES, "retry_delay": dt.timedelta(seconds=RETRY_DELAY_SECONDS)},
    params={
        "first_date": Param(
            None, type=["null", "string"], description="First prediction date, YYYY-MM-DD"
        ),
        "last_date": Param(
            None, type=["null", "string"], description="Last prediction date, YYYY-MM-DD"
        ),
        "post_to_slack_on_backfill": Param(
            False, type="boolean", description="Post the summary of backfill runs to Slack too"
        ),
    },
    doc_md=__doc__,
    tags=["humangap"],
)
def humangap_report():
    @task
    def plan_inputs() -> list:
        """List the run's input files, validate its labels, and return the prediction files.

        The plan and the label summary go to the XComs ``plan`` and ``labels``, so
        that the return value is the list the counting task is mapped over.
        """
        from humangap.pipeline import plan_inputs, validate_labels
        from humangap.window import resolve_window

        context = get_current_context()
        params = context["params"]
        start = context.get("data_interval_start")
        end = context.get("data_interval_end")
        if start is None or end is None:
            # A manual run without a logical date has no data interval in Airflow 3:
            # it reads the last complete interval before it was triggered, the same
            # interval on every try.
            interval = context["dag"].timetable.infer_manual_data_interval(
                run_after=context["dag_run"].run_after
            )
            start, end = interval.start, interval.end
        config = _config()
        store = _store(config)
        window = _fail_on_bad_input(
            resolve_window, params.get("first_date"), params.get("last_date"), start, end
        )
        plan = plan_inputs(store, config, window)
        labels = _fail_on_bad_input(validate_labels, store, config, plan)
        context["ti"].xcom_push(key="plan", value=plan)
        context["ti"].xcom_push(key="labels", value=labels)
        # A window without prediction files still maps one task, so the run
        # publishes a "no_data" report instead of skipping every later task.
        return plan["keys"]["predictions"] or [None]

    @task
    def count_predictions(key: str | None, plan: dict, labels: dict) -> dict:
        from humangap.pipeline import count_file

        config = _config()
        return _fail_on_bad_input(count_file, _store(config), config, plan, key, labels)

    # One publish at a time across runs, because latest.json is read, compared
    # and written.
    @task(outlets=[REPORT_ASSET], max_active_tis_per_dag=1)
    def publish_report(plan: dict, labels: dict, per_file: list) -> dict:
        """Add up the per-file counts, write validation.json, then publish the report."""
        from humangap.pipeline import combine_counts, publish

        context = get_current_context()
        config = _config()
        store = _store(config)
        counted = _fail_on_bad_input(combine_counts, store, config, plan, labels, list(per_file))
        interval_start = context.get("data_interval_start")
        interval_end = context.get("data_interval_end")
        run = {
            "dag_id": context["dag"].dag_id,
            "run_id": context["run_id"],
            "run_type": _run_type(context),
            "data_interval_start": interval_start.isoformat() if interval_start else None,
            "data_interval_end": interval_end.isoformat() if interval_end else None,
        }
        return publish(store, plan, counted, run)

    @task
    def notify_slack(published: dict) -> None:
        import json
        import logging

        from airflow.sdk.exceptions import AirflowNotFoundException
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        log = logging.getLogger(__name__)
        context = get_current_context()
        backfill = _run_type(context) == BACKFILL_RUN_TYPE
        if backfill and not context["params"]["post_to_slack_on_backfill"]:
            log.info("Backfill run: not posting to Slack (param post_to_slack_on_backfill is off)")
            return
        message = published["slack_message"]
        hook = SlackWebhookHook(slack_webhook_conn_id=SLACK_CONN_ID)
        try:
            hook.get_conn()
        except AirflowNotFoundException:
            log.info(
                "No Slack connection %r; the message is saved beside the report:\n%s",
                SLACK_CONN_ID,
                json.dumps(message, indent=2),
            )
            return
        from humangap.slack import deliver_once

        # Waits out 429 responses. The run's marker stops a retried task from posting twice.
        # NOTE: a task killed between the post and the marker write posts again on its
        # retry, because a Slack webhook has no idempotency key.
        if deliver_once(published, hook.get_conn().send_dict, _store(_config())):
            log.info("Posted the summary of %s to Slack", published["report_url"])
        else:
            log.info("Run %s already posted its summary; not posting again", context["run_id"])

    prediction_files = plan_inputs()
    plan = prediction_files["plan"]
    labels = prediction_files["labels"]
    per_file = count_predictions.partial(plan=plan, labels=labels).expand(key=prediction_files)
    notify_slack(publish_report(plan, labels, per_file))


humangap_report()
