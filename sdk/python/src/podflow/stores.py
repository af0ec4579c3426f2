"""Read-only access to a datastore's keys (docs/datastore.md): a local directory or an S3 bucket
(through boto3, when installed). Keys are the layout's: `_runs/15.json`, `fanout/15/end/end/0/...`."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Protocol


class DatastoreError(RuntimeError):
    """The datastore cannot be read: it does not exist, S3 refused, boto3 is missing."""


class Store(Protocol):
    url: str

    def get(self, key: str) -> Optional[bytes]:
        """The object's bytes; None when there is none."""

    def children(self, prefix: str) -> List[str]:
        """Names directly under PREFIX (which ends with '/' or is empty), files and folders."""


class LocalStore:
    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.url = self.root
        if not os.path.isdir(self.root):
            raise DatastoreError(
                f"no datastore at {self.root}: it is not a directory; podflow run writes to "
                "./.podflow unless given --datastore or PODFLOW_DATASTORE")

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *[part for part in key.split("/") if part])

    def get(self, key: str) -> Optional[bytes]:
        try:
            with open(self._path(key), "rb") as file:
                return file.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def children(self, prefix: str) -> List[str]:
        try:
            return sorted(name for name in os.listdir(self._path(prefix)) if not name.startswith(".podflow-tmp."))
        except (FileNotFoundError, NotADirectoryError):
            return []


def _credentials_from_dir() -> Dict[str, str]:
    """PODFLOW_S3_CREDENTIALS_DIR (a mounted Secret), as podflow's own S3 client reads it."""
    directory = os.environ.get("PODFLOW_S3_CREDENTIALS_DIR")
    if not directory:
        return {}
    values = {}
    for name, argument in (("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
                           ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
                           ("AWS_SESSION_TOKEN", "aws_session_token")):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with open(path) as file:
                values[argument] = file.read().strip()
        elif name != "AWS_SESSION_TOKEN":
            raise DatastoreError(f"PODFLOW_S3_CREDENTIALS_DIR={directory} has no file {name}")
    return values


class S3Store:
    """s3://bucket/prefix with the settings podflow's S3 client reads (docs/datastore.md, "S3")."""

    def __init__(self, url: str) -> None:
        try:
            import boto3  # type: ignore[import-untyped]  # optional dependency
            import botocore.config  # type: ignore[import-untyped]
            import botocore.exceptions  # type: ignore[import-untyped]
        except ImportError:
            raise DatastoreError(f"reading {url} needs boto3: pip install boto3 (or podflow[s3])") from None
        self._errors: Any = botocore.exceptions
        self.url = url.rstrip("/")
        bucket_and_prefix = url[len("s3://"):]
        self.bucket, _, prefix = bucket_and_prefix.partition("/")
        if not self.bucket:
            raise DatastoreError(f"{url} names no bucket: use s3://bucket/prefix")
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        endpoint = (os.environ.get("PODFLOW_S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL_S3")
                    or os.environ.get("AWS_ENDPOINT_URL"))
        addressing = os.environ.get("PODFLOW_S3_ADDRESSING", "auto")
        if addressing == "auto":
            addressing = "path" if endpoint or "." in self.bucket else "virtual"
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        self.endpoint = endpoint or "AWS S3"
        # a session of its own: boto3's default one keeps the first credentials it found
        self._client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint, region_name=region or None,
            config=botocore.config.Config(s3={"addressing_style": addressing},
                                          retries={"max_attempts": 5, "mode": "standard"}),
            **_credentials_from_dir())

    def _fail(self, what: str, key: str, error: Exception) -> DatastoreError:
        return DatastoreError(f"cannot {what} s3://{self.bucket}/{self.prefix}{key} at {self.endpoint}: {error}; "
                              "check the bucket, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and PODFLOW_S3_ENDPOINT")

    def get(self, key: str) -> Optional[bytes]:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            body: bytes = answer["Body"].read()
            return body
        except self._errors.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._fail("read", key, error) from None
        except self._errors.BotoCoreError as error:
            raise self._fail("read", key, error) from None

    def children(self, prefix: str) -> List[str]:
        names = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix, Delimiter="/")
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    names.append(common["Prefix"][len(self.prefix + prefix):].rstrip("/"))
                for item in page.get("Contents", []):
                    names.append(item["Key"][len(self.prefix + prefix):])
        except (self._errors.ClientError, self._errors.BotoCoreError) as error:
            raise self._fail("list", prefix, error) from None
        return sorted(name for name in names if name)


def open_store(root: str) -> Store:
    if root.startswith("s3://"):
        return S3Store(root)
    return LocalStore(root)
