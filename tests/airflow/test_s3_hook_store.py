"""The Airflow S3Hook store lists a partition of more than one ListObjectsV2 page."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import localenv

SCRIPT = """
import json, sys
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from humangap.storage import S3HookStore
store = S3HookStore(S3Hook(aws_conn_id="aws_default"), sys.argv[1])
keys = store.list_keys(sys.argv[2])
print(json.dumps({"count": len(keys), "first": keys[0], "last": keys[-1],
                  "has_keys": store.has_keys(sys.argv[2]), "body": store.read_bytes(keys[-1]).decode()}))
"""


@pytest.mark.airflow
def test_hook_store_lists_2500_objects(s3, bucket, s3_endpoint, tmp_path):
    prefix = "predictions/dt=2026-11-01/"

    def put(i):
        s3.put_object(Bucket=bucket, Key=f"{prefix}part-{i:05d}.csv", Body=f"item_id,predicted_label\n{i},cat\n".encode())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(2500)))
    env = localenv.airflow_env(tmp_path, s3_endpoint, bucket)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, bucket, prefix], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["count"] == 2500
    assert found["first"] == prefix + "part-00000.csv"
    assert found["last"] == prefix + "part-02499.csv"
    assert found["has_keys"] is True
    assert found["body"] == "item_id,predicted_label\n2499,cat\n"
