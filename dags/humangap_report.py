"""
### humangap report

Reads a classifier's predictions, gold labels and human annotations from S3,
validates them with Great Expectations, computes per class the model's accuracy,
the human baseline's accuracy and the gap, and publishes `report.json`,
`per_class.csv` and `report.html` under `reports/dt=<interval start>/`, then posts
a summary to Slack.

**Params** (manual runs): `first_date` and `last_date` (`YYYY-MM-DD`, inclusive)
replace the data interval as the prediction window. One of them alone means one
day. The outputs then go to `reports/dt=<date>/` for one day, else to
`reports/window=<first>_<last>/`.

Settings come from the environment of the Airflow processes: `HUMANGAP_BUCKET`,
`HUMANGAP_PREFIX`, `HUMANGAP_CONFIG` and the others in docs/configuration.md.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

AWS_CONN_ID = os.environ.get("HUMANGAP_AWS_CONN_ID", "aws_default")
SLACK_CONN_ID = os.environ.get("HUMANGAP_SLACK_CONN_ID", "slack_default")
SCHEDULE = os.environ.get("HUMANGAP_SCHEDULE", "0 0 * * *")


def _config():
    from humangap.config import load_config

    return load_config()


def _store(config):
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from humangap.storage import S3HookStore

    return S3HookStore(S3Hook(aws_conn_id=AWS_CONN_ID), config.bucket)


@dag(
    dag_id="humangap_report",
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=4,
    default_args={"retries": 2, "retry_delay": dt.timedelta(seconds=30)},
    params={
        "first_date": Param(None, type=["null", "string"], description="First prediction date, YYYY-MM-DD"),
        "last_date": Param(None, type=["null", "string"], description="Last prediction date, YYYY-MM-DD"),
    },
    doc_md=__doc__,
    tags=["humangap"],
)
def humangap_report():
    @task
    def plan_inputs() -> dict:
        from humangap.pipeline import plan_inputs
        from humangap.window import resolve_window

        context = get_current_context()
        params = context["params"]
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        if start is None and not (params.get("first_date") or params.get("last_date")):
            # A run triggered without a logical date has no data interval. It reads the
            # last complete interval of the schedule, like the scheduled run of it.
            # NOTE: tests check the timetable's intervals, not a run triggered this way.
            inferred = context["dag"].timetable.infer_manual_data_interval(
                run_after=context["dag_run"].run_after
            )
            start, end = inferred.start, inferred.end
        window = resolve_window(params.get("first_date"), params.get("last_date"), start, end)
        config = _config()
        return plan_inputs(_store(config), config, window)

    @task
    def validate_and_count(plan: dict) -> dict:
        from airflow.exceptions import AirflowFailException

        from humangap.pipeline import validate_and_count
        from humangap.readers import InputFormatError
        from humangap.validation import ValidationFailed

        config = _config()
        try:
            return validate_and_count(_store(config), config, plan)
        except (ValidationFailed, InputFormatError) as error:
            # Bad input does not get better with a retry.
            raise AirflowFailException(str(error)) from None

    @task
    def publish_report(plan: dict, counted: dict) -> dict:
        from humangap.pipeline import publish

        context = get_current_context()
        interval_start = context.get("data_interval_start")
        interval_end = context.get("data_interval_end")
        run = {
            "dag_id": context["dag"].dag_id,
            "run_id": context["run_id"],
            "run_type": str(context["dag_run"].run_type),
            "data_interval_start": interval_start.isoformat() if interval_start else None,
            "data_interval_end": interval_end.isoformat() if interval_end else None,
        }
        return publish(_store(_config()), plan, counted, run)

    @task
    def notify_slack(published: dict) -> None:
        import json
        import logging

        from airflow.exceptions import AirflowNotFoundException
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        log = logging.getLogger(__name__)
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

        # Waits out 429 answers; a marker stops a retried task from posting twice.
        if deliver_once(published, hook.get_conn().send_dict, _store(_config())):
            log.info("Posted the summary of %s to Slack", published["report_url"])

    plan = plan_inputs()
    counted = validate_and_count(plan)
    notify_slack(publish_report(plan, counted))


humangap_report()
