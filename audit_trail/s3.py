"""`--from-s3`: copy the objects under S3 prefixes to a local directory, keys kept as paths.

The evidence reads the copies exactly as it reads local directories, so the export's and the
trail's key layouts (project, cluster, host; CloudTrail-Digest/) work the same. boto3 takes
credentials, region and endpoint from the environment (`AWS_ENDPOINT_URL` included); reading
needs `s3:ListBucket` on the prefixes and `s3:GetObject` (and `kms:Decrypt` for SSE-KMS).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

SCHEME = "s3://"


class S3Error(RuntimeError):
    """An S3 prefix cannot be read; the message names it and the service's error."""


@dataclass(frozen=True, kw_only=True)
class Location:
    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}"


def is_s3_uri(text: str) -> bool:
    return text.startswith(SCHEME)


def parse_uri(uri: str) -> Location:
    bucket, _, prefix = uri.removeprefix(SCHEME).partition("/")
    if not is_s3_uri(uri) or not bucket:
        raise S3Error(f"{uri}: not an s3://bucket/prefix URI")
    return Location(bucket=bucket, prefix=prefix)


def client() -> Any:
    import boto3  # imported only with --from-s3: it costs a noticeable part of a second

    return boto3.client("s3")


def download(s3: Any, uri: str, destination: Path) -> Path:
    """Every object under `uri` into `destination/<key>`; the local root of the prefix."""
    from botocore.exceptions import BotoCoreError, ClientError

    where = parse_uri(uri)
    count = 0
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=where.bucket, Prefix=where.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                key = str(item["Key"])
                if key.endswith("/"):
                    continue
                target = destination.joinpath(*PurePosixPath(key).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(where.bucket, key, str(target))
                count += 1
    except (ClientError, BotoCoreError) as error:
        raise S3Error(f"{uri}: {error}") from None
    if count == 0:
        raise S3Error(f"{uri}: no object under this prefix")
    return destination.joinpath(*PurePosixPath(where.prefix).parts)


def single_file(root: Path, uri: str) -> Path:
    """The one downloaded object of `uri` when it names an object, not a prefix."""
    if root.is_file():
        return root
    files = [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []
    if len(files) != 1:
        raise S3Error(f"{uri}: expected one object (a Vault audit log), found {len(files)}")
    return files[0]
