"""Object storage behind one small interface: S3 (through a hook or a client) or a folder."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any, Iterator, Protocol

from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

# botocore retries a request this many times in all (first try included) on
# 500, 502, 503, 504, throttling and dropped connections, with exponential backoff.
DEFAULT_MAX_ATTEMPTS = 5
# A connection dropped while the body of an object streams in is outside
# botocore's retries, so reads try the whole GET again this many times in all.
BODY_READ_ATTEMPTS = 3
BODY_RETRY_DELAY_SECONDS = 0.5
# Error codes S3 returns when it rejects the credentials or their permissions.
REFUSED_CODES = {
    "AccessDenied",
    "AllAccessDisabled",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "InvalidToken",
    "SignatureDoesNotMatch",
    "403",
}


class StorageError(RuntimeError):
    """Raised when the object store cannot list, read or write a key."""


class CredentialsRejected(StorageError):
    """Raised when S3 rejects the credentials or they lack a permission."""


def s3_client(
    endpoint_url: str | None = None,
    region_name: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    **credentials: Any,
) -> Any:
    """Return a boto3 S3 client that retries transient failures with backoff.

    ``max_attempts`` counts every attempt, the first included, so 1 turns retries off.

    ``credentials`` are passed to ``boto3.client`` (``aws_access_key_id``,
    ``aws_secret_access_key``); without them boto3 finds its own.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.client(
        "s3", endpoint_url=endpoint_url, region_name=region_name, config=config, **credentials
    )


@contextlib.contextmanager
def s3_errors(action: str, bucket: str, key: str) -> Iterator[None]:
    """Turn botocore errors into ``StorageError`` naming the action, bucket and key.

    Only the error code and message S3 returned are quoted, never the request,
    so no credential reaches the message.
    """
    location = f"s3://{bucket}/{key}"
    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        code = str(details.get("Code", "unknown"))
        message = details.get("Message") or ""
        if code in REFUSED_CODES:
            raise CredentialsRejected(
                f"S3 rejected the credentials ({code}: {message}) while trying to {action} "
                f"{location}. Check the access key, secret and permissions of the AWS "
                "connection for this bucket."
            ) from None
        if code == "NoSuchBucket":
            raise StorageError(
                f"bucket {bucket!r} does not exist (while trying to {action} {location}). "
                "Check HUMANGAP_BUCKET and the endpoint of the AWS connection."
            ) from None
        if code in ("NoSuchKey", "404"):
            raise StorageError(f"{location} not found while trying to {action} it") from None
        raise StorageError(
            f"S3 failed to {action} {location}: {code}: {message}"
        ) from None
    except BotoCoreError as error:
        raise StorageError(
            f"could not {action} {location} after retries: {error}. Check that the S3 "
            "endpoint is reachable, or raise the retries of the AWS connection."
        ) from None


def _read_with_retries(read: Any, bucket: str, key: str) -> bytes:
    """Call ``read`` until it returns, retrying a body that broke off mid-stream."""
    from botocore.exceptions import (
        ConnectionClosedError,
        IncompleteReadError,
        ReadTimeoutError,
        ResponseStreamingError,
    )

    broken = (ConnectionClosedError, IncompleteReadError, ReadTimeoutError, ResponseStreamingError)
    attempt = 1
    while True:
        with s3_errors("read", bucket, key):
            try:
                return read()
            except broken:
                if attempt == BODY_READ_ATTEMPTS:
                    raise
        log.warning(
            "Reading s3://%s/%s broke off (attempt %d of %d); retrying",
            bucket, key, attempt, BODY_READ_ATTEMPTS,
        )
        time.sleep(BODY_RETRY_DELAY_SECONDS * 2 ** (attempt - 1))
        attempt += 1


class ObjectStore(Protocol):
    """The operations humangap needs from a bucket."""

    def list_keys(self, prefix: str) -> list[str]:
        """Return every key under ``prefix``, sorted."""

    def has_keys(self, prefix: str) -> bool:
        """Return True when at least one key starts with ``prefix``."""

    def read_bytes(self, key: str) -> bytes:
        """Return the body of ``key``."""

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Create or replace ``key``."""

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    def url(self, key: str) -> str:
        """Return a URL that names ``key`` for a person, such as ``s3://bucket/key``."""


class S3HookStore:
    """Store backed by the Amazon provider's ``S3Hook``.

    The hook is passed in so that this module needs no Airflow import; the
    hook's connection supplies credentials, region and ``endpoint_url``.
    """

    def __init__(self, hook: Any, bucket: str) -> None:
        self.hook = hook
        self.bucket = bucket

    def list_keys(self, prefix: str) -> list[str]:
        # S3Hook.list_keys pages through ListObjectsV2, so partitions of more
        # than 1,000 objects are listed whole.
        with s3_errors("list", self.bucket, prefix):
            return sorted(self.hook.list_keys(bucket_name=self.bucket, prefix=prefix) or [])

    def has_keys(self, prefix: str) -> bool:
        with s3_errors("list", self.bucket, prefix):
            found = self.hook.list_keys(
                bucket_name=self.bucket, prefix=prefix, page_size=1, max_items=1
            )
        return bool(found)

    def read_bytes(self, key: str) -> bytes:
        client = self.hook.get_conn()
        return _read_with_retries(
            lambda: client.get_object(Bucket=self.bucket, Key=key)["Body"].read(),
            self.bucket,
            key,
        )

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        # load_bytes takes no content type, so the client is used directly with
        # the hook's session and endpoint.
        with s3_errors("write", self.bucket, key):
            self.hook.get_conn().put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
            )
        log.info("Wrote s3://%s/%s (%d bytes)", self.bucket, key, len(data))

    def delete(self, key: str) -> None:
        with s3_errors("write", self.bucket, key):
            self.hook.get_conn().delete_object(Bucket=self.bucket, Key=key)
        log.info("Deleted s3://%s/%s", self.bucket, key)

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def presigned_url(self, key: str, expires: int) -> str:
        """Return an HTTPS GET URL of ``key`` that is valid for ``expires`` seconds."""
        return self.hook.generate_presigned_url(
            client_method="get_object",
            params={"Bucket": self.bucket, "Key": key},
            expires_in=expires,
        )


class S3ClientStore:
    """Store backed by a boto3 S3 client, for use outside Airflow.

    Make the client with ``s3_client`` so that transient failures are retried.
    """

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        with s3_errors("list", self.bucket, prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def has_keys(self, prefix: str) -> bool:
        with s3_errors("list", self.bucket, prefix):
            page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        return bool(page.get("Contents"))

    def read_bytes(self, key: str) -> bytes:
        return _read_with_retries(
            lambda: self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read(),
            self.bucket,
            key,
        )

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        with s3_errors("write", self.bucket, key):
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
            )
        log.info("Wrote s3://%s/%s (%d bytes)", self.bucket, key, len(data))

    def delete(self, key: str) -> None:
        with s3_errors("write", self.bucket, key):
            self.client.delete_object(Bucket=self.bucket, Key=key)
        log.info("Deleted s3://%s/%s", self.bucket, key)

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def presigned_url(self, key: str, expires: int) -> str:
        """Return an HTTPS GET URL of ``key`` that is valid for ``expires`` seconds."""
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
        )


class LocalStore:
    """Store backed by a local folder: keys are paths relative to ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise StorageError(f"key {key!r} points outside the folder {self.root}")
        return path

    def list_keys(self, prefix: str) -> list[str]:
        if not self.root.is_dir():
            raise StorageError(f"folder {self.root} does not exist")
        keys = (
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file()
        )
        return sorted(key for key in keys if key.startswith(prefix))

    def has_keys(self, prefix: str) -> bool:
        return bool(self.list_keys(prefix))

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".partial")
        temporary.write_bytes(data)
        temporary.replace(path)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return self._path(key).as_uri()
