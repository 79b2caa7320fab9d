"""S3 faults against the package's own client store: pagination, refusals, retries.

Faults come from a real HTTP proxy on loopback in front of the moto server
(tests/faultproxy.py), or from a second moto server that checks credentials.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

import localenv
from faultproxy import FaultProxy
from helpers import keys_under, read_json
from humangap.config import HumangapConfig
from humangap.pipeline import plan_inputs, run_report
from humangap.storage import CredentialsRejected, S3ClientStore, StorageError, s3_client
from humangap.window import resolve_window

DAY = "2026-11-01"
WINDOW = resolve_window(DAY, None, None, None)
RUN = {"dag_id": None, "run_id": "s3-faults"}


def client_for(endpoint, max_attempts=5, secret=localenv.TEST_SECRET, key_id=localenv.TEST_KEY_ID):
    return s3_client(
        endpoint_url=endpoint,
        region_name="us-east-1",
        max_attempts=max_attempts,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def put_small_case(s3, bucket):
    s3.put_object(Bucket=bucket, Key=f"gold/dt={DAY}/gold.csv", Body=b"item_id,label\n1,cat\n2,dog\n3,dog\n")
    s3.put_object(Bucket=bucket, Key=f"annotations/dt={DAY}/a.csv", Body=b"item_id,annotator_id,label\n1,w,cat\n2,w,dog\n3,w,dog\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/dt={DAY}/p.csv", Body=b"item_id,predicted_label\n1,cat\n2,cat\n3,dog\n")


def test_partition_of_2500_objects_read_whole(s3, bucket):
    s3.put_object(Bucket=bucket, Key=f"gold/dt={DAY}/gold.csv", Body=b"item_id,label\n" + b"".join(b"%d,cat\n" % i for i in range(2500)))
    s3.put_object(Bucket=bucket, Key=f"annotations/dt={DAY}/a.csv", Body=b"item_id,annotator_id,label\n0,w,cat\n")
    def put(i):
        s3.put_object(Bucket=bucket, Key=f"predictions/dt={DAY}/part-{i:05d}.csv", Body=b"item_id,predicted_label\n%d,cat\n" % i)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(2500)))
    # One ListObjectsV2 page contains at most 1,000 keys, so this needs three pages.
    first_page = s3.list_objects_v2(Bucket=bucket, Prefix=f"predictions/dt={DAY}/")
    assert first_page["KeyCount"] == 1000
    assert first_page["IsTruncated"] is True
    store = S3ClientStore(client_for(s3.meta.endpoint_url), bucket)
    published = run_report(store, HumangapConfig(bucket=bucket), WINDOW, RUN)
    report = read_json(s3, bucket, published["report_key"])
    assert len(report["inputs"]["predictions"]["keys"]) == 2500
    assert report["inputs"]["predictions"]["rows"] == 2500
    assert report["models"][0]["classes"][0]["support"] == 2500


def test_missing_prefix_differs_from_no_data(s3, bucket):
    put_small_case(s3, bucket)
    store = S3ClientStore(s3, bucket)
    with pytest.raises(StorageError) as caught:
        plan_inputs(store, HumangapConfig(bucket=bucket, prefix="no-such-team"), WINDOW)
    message = str(caught.value)
    assert f"s3://{bucket}/no-such-team/predictions/" in message
    assert f"bucket {bucket!r} with prefix 'no-such-team' has no such folder" in message
    # The right prefix on a day without partitions is "no data", not an error.
    quiet_day = resolve_window("2026-12-25", None, None, None)
    plan = plan_inputs(store, HumangapConfig(bucket=bucket, lookback_days=0), quiet_day)
    assert plan["keys"] == {"predictions": [], "gold": [], "annotations": []}


def test_missing_bucket_named(s3):
    store = S3ClientStore(s3, "no-such-bucket")
    with pytest.raises(StorageError, match="bucket 'no-such-bucket' does not exist"):
        plan_inputs(store, HumangapConfig(bucket="no-such-bucket"), WINDOW)


@pytest.fixture(scope="module")
def checking_s3(tmp_path_factory):
    """A second moto server that rejects unknown access keys after its first request."""
    previous = os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT")
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "1"
    try:
        with localenv.moto_server(tmp_path_factory.mktemp("moto-auth") / "moto.log") as endpoint:
            os.environ.pop("INITIAL_NO_AUTH_ACTION_COUNT")
            yield endpoint
    finally:
        if previous is not None:
            os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = previous


def test_rejected_credentials_named(checking_s3):
    # The one request allowed without checking creates the bucket.
    client_for(checking_s3).create_bucket(Bucket="locked")
    secret = "rejected-secret-0b7c1e"
    store = S3ClientStore(client_for(checking_s3, key_id="AKIAUNKNOWN000000000", secret=secret), "locked")
    with pytest.raises(CredentialsRejected) as caught:
        plan_inputs(store, HumangapConfig(bucket="locked", prefix="team"), WINDOW)
    message = str(caught.value)
    assert "S3 rejected the credentials (InvalidAccessKeyId" in message
    assert "s3://locked/team/predictions/dt=2026-11-01/" in message
    assert secret not in message


READ_FAULTS = {"list": ["500", "drop"], "get": ["503", "truncate", "drop", "500"]}
WRITE_FAULTS = {"put": ["503", "drop", "500"]}


@pytest.fixture
def proxy(s3_endpoint):
    server = FaultProxy(s3_endpoint)
    yield server
    server.close()


def test_reads_and_writes_recover_from_faults(s3, bucket, proxy):
    put_small_case(s3, bucket)
    proxy.faults = {kind: list(queue) for kind, queue in (READ_FAULTS | WRITE_FAULTS).items()}
    store = S3ClientStore(client_for(proxy.url), bucket)
    published = run_report(store, HumangapConfig(bucket=bucket), WINDOW, RUN)
    assert proxy.pending() == {}
    assert sorted(fault for _, fault, _ in proxy.injected) == sorted(
        fault for queue in (READ_FAULTS | WRITE_FAULTS).values() for fault in queue
    )
    report = read_json(s3, bucket, published["report_key"])
    rows = {row["class"]: row for row in report["models"][0]["classes"]}
    assert (rows["cat"]["model_correct"], rows["cat"]["support"]) == (1, 1)
    assert (rows["dog"]["model_correct"], rows["dog"]["support"]) == (1, 2)
    assert keys_under(s3, bucket, "reports/") == [
        f"reports/dt={DAY}/{name}"
        for name in (
            "annotators.csv",
            "per_class.csv",
            "report.html",
            "report.json",
            "slack_message.json",
            "validation.json",
        )
    ] + ["reports/latest.json"]


def test_faults_fail_without_retries(s3, bucket, proxy):
    put_small_case(s3, bucket)
    proxy.faults = {"list": ["500"]}
    store = S3ClientStore(client_for(proxy.url, max_attempts=1), bucket)
    with pytest.raises(StorageError, match=f"S3 failed to list s3://{bucket}/predictions/dt={DAY}/: InternalError"):
        run_report(store, HumangapConfig(bucket=bucket), WINDOW, RUN)


def test_write_fails_without_retries(s3, bucket, proxy):
    put_small_case(s3, bucket)
    proxy.faults = {"put": ["drop"]}
    store = S3ClientStore(client_for(proxy.url, max_attempts=1), bucket)
    with pytest.raises(StorageError, match=f"could not write s3://{bucket}/reports/dt={DAY}/validation.json after retries"):
        run_report(store, HumangapConfig(bucket=bucket), WINDOW, RUN)
    assert keys_under(s3, bucket, "reports/") == []
