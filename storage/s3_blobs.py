"""Image bytes in an S3-compatible bucket, shared by every machine: ``DRAFTBOT_BLOB_URL=s3://bucket/prefix``.

The keys are :mod:`storage.blobs`'s content-addressed keys under the prefix (``prefix/sha256/ab/ab…``).
Endpoint, region and credentials come from the usual AWS variables, which botocore reads itself
(``AWS_ENDPOINT_URL``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, profiles and instance roles too). aiobotocore is the ``s3`` extra: it is imported
only when a store is made, so local files work without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

from storage.blobs import BlobNotFound, BlobStoreUnavailable, blob_key, check_key

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3BlobStore:
    """Blobs as objects in ``bucket`` under ``prefix``; one client, made at first use, closed by aclose."""

    def __init__(self, bucket: str, prefix: str = "") -> None:
        try:
            import aiobotocore.session  # noqa: F401
        except ImportError:
            raise BlobStoreUnavailable("images in S3 need aiobotocore: pip install 'draftbot[s3]'") from None
        if not bucket:
            raise BlobStoreUnavailable("an s3:// URL needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client: Any = None
        self._exit = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str) -> S3BlobStore:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return cls(bucket, prefix)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _name(self, key: str) -> str:
        key = check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _s3(self) -> Any:
        async with self._lock:
            if self._client is None:
                from aiobotocore.config import AioConfig
                from aiobotocore.session import get_session

                config = AioConfig(
                    connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}
                )
                # botocore reads AWS_ENDPOINT_URL itself (1.31+); passing it too keeps older ones working.
                endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
                self._client = await self._exit.enter_async_context(
                    get_session().create_client("s3", endpoint_url=endpoint, config=config)
                )
            return self._client

    async def put(self, data: bytes, *, content_type: str) -> str:
        key = blob_key(data)
        if not await self.exists(key):  # content-addressed: the bytes there are these bytes
            s3 = await self._s3()
            await s3.put_object(Bucket=self.bucket, Key=self._name(key), Body=data, ContentType=content_type)
        return key

    async def get(self, key: str) -> bytes:
        name = self._name(key)
        s3 = await self._s3()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=name)
        except Exception as err:
            if _code(err) in _MISSING:
                raise BlobNotFound(key) from None
            raise
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def exists(self, key: str) -> bool:
        name = self._name(key)
        s3 = await self._s3()
        try:
            await s3.head_object(Bucket=self.bucket, Key=name)
        except Exception as err:
            if _code(err) in _MISSING:
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        name = self._name(key)
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=name)  # S3 says yes for a key that is not there

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None  # in the bucket, not on this machine's disk

    async def check(self) -> None:
        """Write and delete a small probe object under the prefix."""
        probe = f"{self.prefix}/.probe-{uuid.uuid4().hex}" if self.prefix else f".probe-{uuid.uuid4().hex}"
        try:
            s3 = await self._s3()
            await s3.put_object(Bucket=self.bucket, Key=probe, Body=b"ok", ContentType="text/plain")
            await s3.delete_object(Bucket=self.bucket, Key=probe)
        except Exception as err:
            raise BlobStoreUnavailable(f"cannot write to {self.url}: {_explain(err)}") from err

    async def aclose(self) -> None:
        async with self._lock:
            self._client = None
            await self._exit.aclose()


def _code(err: Exception) -> str:
    """The S3 error code of a botocore ClientError ("" for anything else)."""
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def _explain(err: Exception) -> str:
    from botocore import exceptions

    code = _code(err)
    if code == "NoSuchBucket":
        return "the bucket does not exist (NoSuchBucket)"
    if code in {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"}:
        return f"access denied ({code}): the credentials may not write to this bucket"
    if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch"}:
        return f"the credentials were refused ({code}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if code:
        return f"{code}: {err}"
    if isinstance(err, exceptions.NoCredentialsError):
        return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile or role)"
    if isinstance(err, exceptions.EndpointConnectionError | exceptions.ConnectTimeoutError):
        return f"the endpoint is unreachable ({err})"
    if isinstance(err, exceptions.NoRegionError):
        return "no region: set AWS_REGION"
    return f"{type(err).__name__}: {err}"
