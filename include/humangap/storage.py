"""Object storage behind one small interface: S3 (through a hook or a client) or a folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class StorageError(RuntimeError):
    """Raised when the object store cannot list, read or write a key."""


class ObjectStore(Protocol):
    """The operations humangap needs from a bucket."""

    def list_keys(self, prefix: str) -> list[str]:
        """Return every key under ``prefix``, sorted."""

    def read_bytes(self, key: str) -> bytes:
        """Return the body of ``key``."""

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Create or replace ``key``."""

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
        return sorted(self.hook.list_keys(bucket_name=self.bucket, prefix=prefix) or [])

    def read_bytes(self, key: str) -> bytes:
        return self.hook.get_key(key, bucket_name=self.bucket).get()["Body"].read()

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        # load_bytes takes no content type, so the client is used directly with
        # the hook's session and endpoint.
        self.hook.get_conn().put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
        )
        log.info("Wrote s3://%s/%s (%d bytes)", self.bucket, key, len(data))

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
    """Store backed by a boto3 S3 client, for use outside Airflow."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def read_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        log.info("Wrote s3://%s/%s (%d bytes)", self.bucket, key, len(data))

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

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".partial")
        temporary.write_bytes(data)
        temporary.replace(path)

    def url(self, key: str) -> str:
        return self._path(key).as_uri()
